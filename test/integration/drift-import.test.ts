import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {importObject, forgetResource} from '../../src/app/state-ops.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {LABEL} from '../../src/util/labels.js';
import {actions, apply, context, converge, plan, withLedger} from '../helpers/engine.js';
import {BASE_YAML, docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
const extra: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  ws = makeWorkspace('drift');
});
afterEach(async () => {
  for (const f of extra.splice(0)) await f().catch(() => undefined);
  await ws.cleanup();
});

const alpha = async () =>
  (await docker.listContainers({all: true, filters: {label: [`${LABEL.workspace}=${ws.name}`, `${LABEL.address}=agent.alpha`]}}))[0];

describe('drift', () => {
  it("a container removed behind orx's back shows as drift and is recreated", async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    await docker.getContainer((await alpha()).Id).remove({force: true});
    const doc = await plan(ws.dir);
    expect(doc.drift).toEqual([{address: 'agent.alpha', kind: 'agent', status: 'deleted', changes: []}]);
    expect(actions(doc)).toEqual(['create agent.alpha']);
    await apply(ws.dir, doc);
    expect((await alpha()).State).toBe('running');
    expect(actions(await plan(ws.dir))).toEqual([]);
  });

  it('a stopped container is drift repaired in place by starting it', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    const id = (await alpha()).Id;
    await docker.getContainer(id).stop({t: 1});
    const doc = await plan(ws.dir);
    expect(doc.drift[0]).toMatchObject({
      address: 'agent.alpha',
      status: 'changed',
      changes: [{path: 'running', before: true, after: false}],
    });
    expect(actions(doc)).toEqual(['update agent.alpha']);
    await apply(ws.dir, doc);
    const now = await alpha();
    expect(now.Id).toBe(id);
    expect(now.State).toBe('running');
  });

  it("a network disconnected behind orx's back forces a replacement", async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    const id = (await alpha()).Id;
    await docker.getNetwork(`orx-${ws.name}-backplane`).disconnect({Container: id, Force: true});
    const doc = await plan(ws.dir);
    expect(doc.drift[0]).toMatchObject({address: 'agent.alpha', status: 'changed', changes: [{path: 'networks', after: []}]});
    expect(actions(doc)).toEqual(['replace agent.alpha']);
    await apply(ws.dir, doc);
    const info = await docker.getContainer((await alpha()).Id).inspect();
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`orx-${ws.name}-backplane`]);
  });

  it('with --refresh=false the ledger stands in and no drift is seen', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    await docker.getContainer((await alpha()).Id).remove({force: true});
    const doc = await plan(ws.dir, {refresh: false});
    expect(doc.drift).toEqual([]);
    expect(actions(doc)).toEqual([]);
  });
});

describe('import and state rm', () => {
  it('imports an existing volume and keeps its data and name', async () => {
    const name = `${ws.name}-legacy`;
    await docker.createVolume({Name: name});
    extra.push(() => docker.getVolume(name).remove());
    ws.write(BASE_YAML.replace(/agents:[\s\S]*$/, 'agents: {}\n'));
    const ledger = Ledger.open(ws.dir);
    try {
      const rec = await importObject(context(ws.dir), ledger, 'volume.memory', name);
      expect(rec).toMatchObject({address: 'volume.memory', object_id: name, attributes: {name, labels: {}, backup: true}});
      await expect(importObject(context(ws.dir), ledger, 'volume.memory', name)).rejects.toThrow(/already in the state/);
      await expect(importObject(context(ws.dir), ledger, 'volume.nope', name)).rejects.toThrow(/not declared/);
      await expect(importObject(context(ws.dir), ledger, 'network.backplane', 'no-such-network-xyz')).rejects.toThrow(/no network/);
    } finally {
      ledger.close();
    }
    const doc = await plan(ws.dir);
    expect(actions(doc)).toEqual(['create network.backplane', 'create image.base']);
    expect(doc.steps.find((s) => s.address === 'volume.memory')!.action).toBe('noop');
  });

  it('imports a container made by hand and plans to bring it under hardening', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir, {targets: ['image.base']});
    const tag = withLedger(ws.dir, (l) => String(l.getResource('image.base')!.attributes.tag));
    const c = await docker.createContainer({name: `${ws.name}-hand`, Image: tag, Cmd: ['sleep', '60']});
    extra.push(() => c.remove({force: true}));
    const ledger = Ledger.open(ws.dir);
    try {
      await importObject(context(ws.dir), ledger, 'agent.alpha', c.id);
    } finally {
      ledger.close();
    }
    const doc = await plan(ws.dir);
    const step = doc.steps.find((s) => s.address === 'agent.alpha')!;
    expect(step.action).toBe('replace');
    expect(step.changes.map((ch) => ch.path)).toEqual(
      expect.arrayContaining(['hardening.read_only_rootfs', 'hardening.cap_drop', 'env.LOG_LEVEL']),
    );
    const out = await apply(ws.dir, doc);
    expect(
      out.results.filter((r) => r.status !== 'succeeded'),
      JSON.stringify(out.results.map((r) => [r.step.address, r.status, r.error])),
    ).toEqual([]);
    await expect(docker.getContainer(c.id).inspect()).rejects.toThrow();
    expect(actions(await plan(ws.dir))).toEqual([]);
  });

  it('state rm forgets without deleting; the object is left alone once out of the config', async () => {
    ws.write(BASE_YAML);
    await converge(ws.dir);
    const id = (await alpha()).Id;
    const ledger = Ledger.open(ws.dir);
    try {
      await forgetResource(context(ws.dir), ledger, 'agent.alpha');
      expect(ledger.getResource('agent.alpha')).toBeUndefined();
      await expect(forgetResource(context(ws.dir), ledger, 'agent.alpha')).rejects.toThrow(/not in the state/);
    } finally {
      ledger.close();
    }
    expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
    ws.write(BASE_YAML.replace(/agents:[\s\S]*$/, 'agents: {}\n'));
    const doc = await plan(ws.dir);
    expect(actions(doc)).toEqual([]);
    expect(doc.notes.join('\n')).toContain(`orx-${ws.name}-alpha`);
  });
});
