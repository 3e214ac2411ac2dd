// Volumes work for the agents that mount them, and Docker's own networks are never adopted:
// the built CLI against the real engine.
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx} from '../helpers/cli.js';
import {execIn} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

let ws: TestWorkspace;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  ws = makeWorkspace('vol');
});
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f().catch(() => undefined);
  await ws.cleanup();
});

/** An agent of the workspace's busybox image (USER 1000:1000, /data pre-owned by 1000). */
function agent(name: string, volumes: string[], user?: string): string {
  return `  ${name}:\n    image: base\n    command: ${SLEEP_CMD}\n    resources: {cpus: 0.25, memory: 64m}\n${user ? `    user: "${user}"\n` : ''}    volumes: ${JSON.stringify(volumes)}\n`;
}

function yaml(volumes: string, agents: string): string {
  return `workspace: __WS__\nautonomy: 3\nvolumes:\n${volumes}images:\n  base:\n    build: {context: images/agent-base}\nagents:\n${agents}`;
}

async function containerOf(address: string): Promise<string> {
  const list = await docker.listContainers({filters: {label: [`io.orchestrix.workspace=${ws.name}`, `io.orchestrix.address=${address}`]}});
  expect(list, address).toHaveLength(1);
  return list[0].Id;
}

async function apply(): Promise<void> {
  const r = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
  expect(r.code, r.stderr + r.stdout).toBe(0);
}

describe('volumes work for the agents that mount them', () => {
  it('a non-root agent writes to its fresh volume, which stays 0755 and is handed to its uid:gid', async () => {
    // /state is not in the image (nothing to copy from); /data is, owned by 1000, while this agent runs as 2000
    ws.write(yaml('  state:\n  scratch:\n', agent('a', ['state:/state']) + agent('b', ['scratch:/data'], '2000:2000')));
    await apply();
    const a = await containerOf('agent.a');
    expect(await execIn(a, ['/bin/sh', '-c', 'echo hello > /state/f && cat /state/f && stat -c "%u:%g %a" /state'])).toEqual({
      code: 0,
      out: 'hello\n1000:1000 755\n',
    });
    const b = await containerOf('agent.b');
    expect(await execIn(b, ['/bin/sh', '-c', 'touch /data/f && stat -c "%u:%g %a" /data /data/f'])).toEqual({
      code: 0,
      out: '2000:2000 755\n2000:2000 644\n',
    });
    // recorded, so the next plan reads nothing and changes nothing
    const show = JSON.parse((await orx(['state', 'show', 'volume.scratch', '--json'], {cwd: ws.dir})).stdout);
    expect(show.resource.attributes.owner).toBe('2000:2000');
    const plan = JSON.parse((await orx(['plan', '--json'], {cwd: ws.dir})).stdout);
    expect(plan.steps.filter((s: {action: string}) => s.action !== 'noop')).toEqual([]);
    expect(plan.notes).toEqual([]);
  });

  it('two agents with the same uid share one volume; a read-only mount does not count', async () => {
    ws.write(
      yaml(
        '  shared:\n',
        agent('a', ['shared:/shared']) + agent('b', ['shared:/shared']) + agent('reader', ['shared:/shared:ro'], '3000:3000'),
      ),
    );
    await apply();
    const [a, b, reader] = [await containerOf('agent.a'), await containerOf('agent.b'), await containerOf('agent.reader')];
    expect((await execIn(a, ['/bin/sh', '-c', 'echo from-a > /shared/a'])).code).toBe(0);
    expect(await execIn(b, ['/bin/sh', '-c', 'cat /shared/a && echo from-b > /shared/b && cat /shared/b'])).toEqual({
      code: 0,
      out: 'from-a\nfrom-b\n',
    });
    expect((await execIn(reader, ['/bin/sh', '-c', 'cat /shared/b'])).out).toBe('from-b\n');
  });

  it('two agents with different uids and no owner are refused at validate; volumes.X.owner settles it', async () => {
    ws.write(yaml('  shared:\n', agent('a', ['shared:/shared']) + agent('b', ['shared:/work'], '2000:2000')));
    const v = await orx(['validate'], {cwd: ws.dir});
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(
      /orchestration\.yml:\d+:\d+: agents\.b\.volumes\[0\]: volume "shared" is mounted read-write by agents\.a \(running as 1000:1000\) and agents\.b \(running as 2000:2000\).*set volumes\.shared\.owner/,
    );
    expect(noStack(v.stderr)).toBe(true);
    const plan = await orx(['plan'], {cwd: ws.dir});
    expect(plan.code).toBe(1);
    expect(await docker.listVolumes({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}}).then((l) => l.Volumes ?? [])).toEqual([]);

    ws.write(yaml('  shared: {owner: "2000:2000"}\n', agent('a', ['shared:/shared']) + agent('b', ['shared:/work'], '2000:2000')));
    await apply();
    const b = await containerOf('agent.b');
    expect(await execIn(b, ['/bin/sh', '-c', 'touch /work/f && stat -c "%u:%g" /work'])).toEqual({code: 0, out: '2000:2000\n'});
    // the other one reads, but cannot write
    expect((await execIn(await containerOf('agent.a'), ['/bin/sh', '-c', 'touch /shared/g'])).code).not.toBe(0);
  });

  it("an agent's uid known only at apply (a ref image) decides the owner at apply", async () => {
    // a ref image present on the engine: the workspace's own build, tagged under another name (kept: deletes need a human)
    ws.write(yaml('  state:\n', agent('builder', ['state:/state'])));
    await apply();
    const built = (await docker.listImages({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}}))[0];
    await docker.getImage(built.Id).tag({repo: `orxref-${ws.name}`, tag: '1'});
    cleanups.push(() => docker.getImage(`orxref-${ws.name}:1`).remove());
    ws.write(
      `workspace: __WS__\nautonomy: 3\nvolumes:\n  state:\n  late:\nimages:\n  base:\n    build: {context: images/agent-base}\n  tool: {ref: "orxref-${ws.name}:1"}\nagents:\n` +
        agent('builder', ['state:/state']) +
        agent('a', ['late:/late']).replace('image: base', 'image: tool'),
    );
    const plan = JSON.parse((await orx(['plan', '--json'], {cwd: ws.dir})).stdout);
    const step = plan.steps.find((s: {address: string}) => s.address === 'volume.late');
    expect(step).toMatchObject({action: 'create', after: {owner_from: [{agent: 'agent.a', user: null}]}, depends_on: ['image.tool']});
    expect(step.reasons).toEqual(['owner decided at apply: the uid agent.a runs as (not known before the image is on the engine)']);
    await apply();
    expect(JSON.parse((await orx(['state', 'show', 'volume.late', '--json'], {cwd: ws.dir})).stdout).resource.attributes).toMatchObject({
      owner: '1000:1000',
    });
    expect((await execIn(await containerOf('agent.a'), ['/bin/sh', '-c', 'touch /late/f'])).code).toBe(0);
  });

  it('a restored volume is handed to its recorded owner before the archive is put back', async () => {
    ws.write(yaml('  scratch: {backup: true}\n', agent('b', ['scratch:/data'], '2000:2000')));
    await apply();
    expect((await execIn(await containerOf('agent.b'), ['/bin/sh', '-c', 'echo kept > /data/f'])).code).toBe(0);
    expect((await orx(['dr', 'backup', '--auto-approve'], {cwd: ws.dir})).code).toBe(0);
    const id = JSON.parse((await orx(['dr', 'list', '--json'], {cwd: ws.dir})).stdout).backups[0].id as string;
    expect((await orx(['dr', 'restore', id, '-out', 'plans/restore.json'], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['approve', 'plans/restore.json', '--all', '--reason', 'volume owner test'], {cwd: ws.dir})).code).toBe(0);
    const r = await orx(['apply', 'plans/restore.json'], {cwd: ws.dir});
    expect(r.code, r.stderr).toBe(0);
    expect(
      await execIn(await containerOf('agent.b'), ['/bin/sh', '-c', 'cat /data/f && touch /data/g && stat -c "%u:%g %a" /data']),
    ).toEqual({code: 0, out: 'kept\n2000:2000 755\n'});
  });

  it('an existing volume owned by someone else is reported in the plan with the fix, and left alone', async () => {
    const name = `${ws.name}-legacy`;
    await docker.createVolume({Name: name});
    cleanups.push(() => docker.getVolume(name).remove());
    ws.write(yaml('  legacy:\n', agent('a', ['legacy:/state'])));
    const imp = await orx(['import', 'volume.legacy', name], {cwd: ws.dir});
    expect(imp.code, imp.stderr).toBe(0);
    const plan = JSON.parse((await orx(['plan', '--json'], {cwd: ws.dir})).stdout);
    expect(plan.steps.find((s: {address: string}) => s.address === 'volume.legacy')).toMatchObject({action: 'noop', after: {owner: '0:0'}});
    expect(plan.notes).toEqual([
      `volume.legacy: volume ${name} is owned by 0:0, but agents.a runs as 1000:1000 and mounts it read-write: they cannot write to it. orx hands over only the volumes it creates; fix it with \`docker run --rm --network none -v ${name}:/v busybox chown -R 1000:1000 /v\` (any image with chown), or set volumes.legacy.owner: "0:0" if that owner is meant`,
    ]);
    const human = await orx(['plan'], {cwd: ws.dir});
    expect(human.stdout + human.stderr).toContain(`chown -R 1000:1000 /v`);
  });
});

describe("Docker's special networks are not resources", () => {
  it.each(['host', 'none', 'bridge'])('`orx import network.n %s` is refused with what to do instead', async (id) => {
    ws.write(`workspace: __WS__\nnetworks:\n  n: {internal: true}\n`);
    const byName = await orx(['import', 'network.n', id], {cwd: ws.dir});
    expect(byName.code).toBe(1);
    expect(byName.stderr).toContain(`network.n: network "${id}" is Docker's`);
    expect(byName.stderr).toContain("orx creates this workspace's networks itself");
    expect(noStack(byName.stderr)).toBe(true);
    // by its id too
    const netId = (await docker.getNetwork(id).inspect()).Id;
    const byId = await orx(['import', 'network.n', netId], {cwd: ws.dir});
    expect(byId.code).toBe(1);
    expect(byId.stderr).toContain(`network "${id}" is Docker's`);
    const list = await orx(['state', 'list', '--json'], {cwd: ws.dir});
    expect(JSON.stringify(JSON.parse(list.stdout))).not.toContain('network.n');
  });

  it("another workspace's network or volume cannot be imported", async () => {
    const other = `${ws.name}-other`;
    const labels = {'io.orchestrix.workspace': other, 'io.orchestrix.address': 'network.n'};
    const net = await docker.createNetwork({Name: `orx-${other}-n`, Internal: true, Labels: labels});
    cleanups.push(() => net.remove());
    await docker.createVolume({Name: `orx-${other}-v`, Labels: {...labels, 'io.orchestrix.address': 'volume.v'}});
    cleanups.push(() => docker.getVolume(`orx-${other}-v`).remove());
    ws.write(`workspace: __WS__\nnetworks:\n  n: {internal: true}\nvolumes:\n  v:\n`);
    const n = await orx(['import', 'network.n', `orx-${other}-n`], {cwd: ws.dir});
    expect(n.code).toBe(1);
    expect(n.stderr).toContain(`network.n: network "orx-${other}-n" belongs to workspace "${other}"`);
    const v = await orx(['import', 'volume.v', `orx-${other}-v`], {cwd: ws.dir});
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`volume.v: volume "orx-${other}-v" belongs to workspace "${other}"`);
  });

  it('host, none and bridge in orchestration.yml are validate errors at their line and column', async () => {
    ws.write(
      `workspace: __WS__\nnetworks:\n  bridge: {}\nimages:\n  base:\n    build: {context: images/agent-base}\nagents:\n  a:\n    image: base\n    networks: [host]\n`,
    );
    const v = await orx(['validate'], {cwd: ws.dir});
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('orchestration.yml:3:3: networks.bridge: "bridge" is Docker\'s default bridge');
    expect(v.stderr).toContain('orchestration.yml:10:16: agents.a.networks[0]: "host" is Docker\'s host network');
    expect(v.stderr).toContain('declare a network of this workspace under `networks`');
  });

  it("mount targets over orx's own mounts or the kernel's are validate errors at their line and column", async () => {
    ws.write(yaml('  v:\n', agent('a', ['v:/run/secrets', 'v:/tmp', 'v:/proc/x'])));
    const v = await orx(['validate'], {cwd: ws.dir});
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(
      /orchestration\.yml:\d+:\d+: agents\.a\.volumes\[0\] cannot mount a volume at "\/run\/secrets": \/run\/secrets holds orx's secrets and identity token/,
    );
    expect(v.stderr).toMatch(
      /orchestration\.yml:\d+:\d+: agents\.a\.volumes\[1\] cannot mount a volume at "\/tmp": \/tmp holds the agent's tmpfs/,
    );
    expect(v.stderr).toMatch(
      /orchestration\.yml:\d+:\d+: agents\.a\.volumes\[2\] cannot mount a volume at "\/proc\/x": \/proc is the kernel's/,
    );
  });
});
