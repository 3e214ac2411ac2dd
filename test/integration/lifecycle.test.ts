import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {LABEL} from '../../src/util/labels.js';
import {actions, apply, converge, plan, withLedger} from '../helpers/engine.js';
import {BASE_YAML, docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {secretsRoot} from '../../src/secrets/delivery.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('life');
});
afterEach(async () => {
  await ws.cleanup();
});

const containerOf = async (workspace: string, agent: string) => {
  const list = await docker.listContainers({
    all: true,
    filters: {label: [`${LABEL.workspace}=${workspace}`, `${LABEL.address}=agent.${agent}`]},
  });
  return list;
};

describe('network, volume, image and agent lifecycle on the real engine', () => {
  it('creates every kind, hardened, and a second plan is empty', async () => {
    ws.write(BASE_YAML);
    const first = await plan(ws.dir);
    expect(actions(first)).toEqual(['create network.backplane', 'create volume.memory', 'create image.base', 'create agent.alpha']);
    const out = await apply(ws.dir, first);
    expect(out.failed).toBe(false);

    const [c] = await containerOf(ws.name, 'alpha');
    expect(c).toBeDefined();
    const info = await docker.getContainer(c.Id).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.User).toBe('1000:1000');
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.PidsLimit).toBe(256);
    expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(0.5e9);
    expect(Object.keys(info.HostConfig.Tmpfs ?? {})).toEqual(['/tmp']);
    expect(info.HostConfig.NetworkMode).toBe(`orx-${ws.name}-backplane`);
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(info.Mounts.filter((m) => m.Type === 'volume').map((m) => [m.Name, m.Destination, m.RW])).toEqual([
      [`orx-${ws.name}-memory`, '/data', true],
    ]);
    // the only bind mount: the agent's secrets directory on the host tmpfs, read-only
    const binds = info.Mounts.filter((m) => m.Type === 'bind');
    expect(binds.map((m) => [m.Destination, m.RW])).toEqual([['/run/secrets', false]]);
    expect(binds[0].Source.startsWith(secretsRoot())).toBe(true);
    expect(info.Config.Env).toContain('LOG_LEVEL=info');
    expect(info.Config.Env).toContain('ORX_SECRETS_DIR=/run/secrets');
    expect(info.HostConfig.Binds ?? []).toEqual([]);
    const net = await docker.getNetwork(`orx-${ws.name}-backplane`).inspect();
    expect(net.Internal).toBe(true);
    expect(net.Labels?.[LABEL.address]).toBe('network.backplane');

    const state = withLedger(ws.dir, (l) => l.listResources().map((r) => [r.address, r.object_id]));
    expect(state).toEqual([
      ['agent.alpha', c.Id],
      ['image.base', expect.stringMatching(/^sha256:/)],
      ['network.backplane', net.Id],
      ['volume.memory', `orx-${ws.name}-memory`],
    ]);
    expect(actions(await plan(ws.dir))).toEqual([]);
  });

  it('updates limits in place, replaces on env change, and deletes what leaves the config', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    const [before] = await containerOf(ws.name, 'alpha');

    ws.write(BASE_YAML.replace('memory: 128m', 'memory: 256m'));
    const upd = await plan(ws.dir);
    expect(actions(upd)).toEqual(['update agent.alpha']);
    expect(upd.steps.find((s) => s.address === 'agent.alpha')!.changes).toEqual([
      {path: 'memory_bytes', before: 134217728, after: 268435456, forces_replacement: false},
    ]);
    await apply(ws.dir, upd);
    const [same] = await containerOf(ws.name, 'alpha');
    expect(same.Id).toBe(before.Id);
    expect((await docker.getContainer(same.Id).inspect()).HostConfig.Memory).toBe(256 * 1024 * 1024);

    ws.write(BASE_YAML.replace('memory: 128m', 'memory: 256m').replace('LOG_LEVEL: info', 'LOG_LEVEL: debug'));
    const rep = await plan(ws.dir);
    expect(actions(rep)).toEqual(['replace agent.alpha']);
    expect(rep.steps.find((s) => s.address === 'agent.alpha')!.changes).toEqual([
      {path: 'env.LOG_LEVEL', before: 'info', after: 'debug', forces_replacement: true},
    ]);
    await apply(ws.dir, rep);
    const after = await containerOf(ws.name, 'alpha');
    expect(after).toHaveLength(1);
    expect(after[0].Id).not.toBe(before.Id);

    ws.write(BASE_YAML.replace(/agents:[\s\S]*$/, 'agents: {}\n'));
    const del = await plan(ws.dir);
    expect(actions(del)).toEqual(['delete agent.alpha']);
    expect(del.steps.find((s) => s.address === 'agent.alpha')!.category).toBe('DESTROY');
    await apply(ws.dir, del);
    expect(await containerOf(ws.name, 'alpha')).toHaveLength(0);
    expect(withLedger(ws.dir, (l) => l.getResource('agent.alpha'))).toBeUndefined();
  });

  it('replaces a network and the agents on it; a volume replacement is a DESTROY', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    const oldNet = await docker.getNetwork(`orx-${ws.name}-backplane`).inspect();

    ws.write(
      BASE_YAML.replace('backplane: {internal: true}', 'backplane: {internal: false}').replace(
        'memory: {backup: true}',
        'memory: {backup: true, labels: {tier: hot}}',
      ),
    );
    const doc = await plan(ws.dir);
    expect(actions(doc)).toEqual(['replace network.backplane', 'replace volume.memory', 'replace agent.alpha']);
    expect(doc.steps.find((s) => s.address === 'volume.memory')!.category).toBe('DESTROY');
    expect(doc.steps.find((s) => s.address === 'network.backplane')!.changes[0]).toMatchObject({
      path: 'internal',
      forces_replacement: true,
    });
    const out = await apply(ws.dir, doc);
    expect(out.failed).toBe(false);
    const newNet = await docker.getNetwork(`orx-${ws.name}-backplane`).inspect();
    expect(newNet.Id).not.toBe(oldNet.Id);
    expect(newNet.Internal).toBe(false);
    const vol = await docker.getVolume(`orx-${ws.name}-memory`).inspect();
    expect(vol.Labels.tier).toBe('hot');
    const [c] = await containerOf(ws.name, 'alpha');
    expect(c.State).toBe('running');
    expect(actions(await plan(ws.dir))).toEqual([]);
  });

  it('rebuilds the image when its context changes and replaces the agents that run it', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    const fs = await import('node:fs');
    fs.appendFileSync(`${ws.dir}/images/agent-base/Dockerfile`, '\nLABEL rebuilt=yes\n');
    const doc = await plan(ws.dir);
    expect(actions(doc)).toEqual(['update image.base', 'replace agent.alpha']);
    await apply(ws.dir, doc);
    const [c] = await containerOf(ws.name, 'alpha');
    const img = await docker.getImage(c.Image).inspect();
    expect(img.Config.Labels?.rebuilt).toBe('yes');
    expect(actions(await plan(ws.dir))).toEqual([]);
  });

  it('destroys everything in reverse dependency order', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    const doc = await plan(ws.dir, {mode: 'destroy'});
    expect(doc.summary).toEqual({create: 0, update: 0, replace: 0, delete: 4});
    const out = await apply(ws.dir, doc);
    expect(out.failed).toBe(false);
    const filters = {label: [`${LABEL.workspace}=${ws.name}`]};
    expect(await docker.listContainers({all: true, filters})).toHaveLength(0);
    expect(await docker.listNetworks({filters})).toHaveLength(0);
    expect((await docker.listVolumes({filters})).Volumes ?? []).toHaveLength(0);
    expect(await docker.listImages({filters})).toHaveLength(0);
    expect(withLedger(ws.dir, (l) => l.listResources())).toEqual([]);
  });

  it('a failing step stops the run, records everything and leaves no half-made container', async () => {
    // a port taken on 127.0.0.1 after the plan (which would have refused it) makes the engine refuse to start the container
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as {port: number}).port;
    await new Promise((resolve) => server.close(resolve));
    try {
      ws.write(
        BASE_YAML.replace('networks:\n', 'networks:\n  frontdoor: {internal: false}\n') +
          `  broken:
    image: base
    command: ["/bin/sh", "-c", "sleep 3600"]
    resources: {cpus: 0.5, memory: 64m}
    networks: [frontdoor]
    ports: [{container: 8080, host: ${port}}]
`,
      );
      const doc = await plan(ws.dir);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      const out = await apply(ws.dir, doc, 1);
      expect(out.failed).toBe(true);
      const broken = out.results.find((r) => r.step.address === 'agent.broken')!;
      expect(broken.status).toBe('failed');
      expect(broken.error).toMatch(/address already in use|port is already allocated/i);
      expect(await containerOf(ws.name, 'broken')).toHaveLength(0);
      const steps = withLedger(ws.dir, (l) => l.listSteps(out.run_id));
      expect(steps.find((s) => s.address === 'agent.broken')!.status).toBe('failed');
      expect(withLedger(ws.dir, (l) => l.getRun(out.run_id)!.status)).toBe('failed');
      // whatever finished is recorded; the broken agent is not, and nothing was left unaccounted for
      expect(withLedger(ws.dir, (l) => l.getResource('agent.broken'))).toBeUndefined();
      for (const r of out.results) {
        const recorded = withLedger(ws.dir, (l) => l.getResource(r.step.address));
        if (r.status === 'succeeded') expect(recorded).toBeDefined();
        else expect(recorded).toBeUndefined();
      }
      expect(out.results.map((r) => r.status)).toContain('failed');
    } finally {
      server.close();
    }
  });
});

describe('volume bookkeeping', () => {
  let w: TestWorkspace;
  beforeEach(() => {
    w = makeWorkspace('vol');
  });
  afterEach(async () => {
    await w.cleanup();
  });

  it('changing backup updates in place: same volume, same data, new record', async () => {
    w.write(BASE_YAML);
    await converge(w.dir);
    const before = await docker.getVolume(`orx-${w.name}-memory`).inspect();
    w.write(BASE_YAML.replace('memory: {backup: true}', 'memory: {backup: false}'));
    const doc = await plan(w.dir);
    expect(actions(doc)).toEqual(['update volume.memory']);
    expect(doc.steps.find((s) => s.address === 'volume.memory')).toMatchObject({
      category: 'WRITE',
      changes: [{path: 'backup', before: true, after: false, forces_replacement: false}],
    });
    await apply(w.dir, doc);
    const after = await docker.getVolume(`orx-${w.name}-memory`).inspect();
    expect((after as unknown as {CreatedAt: string}).CreatedAt).toBe((before as unknown as {CreatedAt: string}).CreatedAt);
    expect(withLedger(w.dir, (l) => l.getResource('volume.memory')!.attributes.backup)).toBe(false);
    expect(actions(await plan(w.dir))).toEqual([]);
  });
});
