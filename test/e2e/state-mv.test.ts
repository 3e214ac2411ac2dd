// Renames that keep their objects, through the built CLI against the real engine and ledger:
// `orx state mv` and `moved:` in orchestration.yml. The container (and network, volume) is
// the same object before and after, by id; the next plan is empty.
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {orx} from '../helpers/cli.js';
import {BASE_YAML, docker, makeWorkspace, SLEEP_CMD, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('mv');
});
afterEach(async () => {
  await ws.cleanup();
});

interface Rec {
  address: string;
  object_id: string | null;
}

async function run(args: string[], code = 0): Promise<{stdout: string; stderr: string}> {
  const r = await orx(args, {cwd: ws.dir});
  expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  return r;
}

async function state(): Promise<Rec[]> {
  return (JSON.parse((await run(['state', 'list', '--json'])).stdout) as {resources: Rec[]}).resources;
}

const idOf = (recs: Rec[], address: string) => recs.find((r) => r.address === address)?.object_id;

describe('orx state mv', () => {
  it('moves agent.alpha to agent.beta: same container, and the renamed configuration plans nothing', {timeout: 180_000}, async () => {
    const yaml = BASE_YAML.replace('  backplane: {internal: true}\n', '  backplane: {internal: true}\n  spare: {internal: true}\n');
    ws.write(yaml);
    await run(['apply', '--auto-approve']);
    const before = await state();
    const id = idOf(before, 'agent.alpha')!;
    const inspected = await docker.getContainer(id).inspect();

    // --dry-run says what it would do and changes nothing
    const dry = JSON.parse((await run(['state', 'mv', 'agent.alpha', 'agent.beta', '--dry-run', '--json'])).stdout);
    expect(dry.moved).toEqual({
      from: 'agent.alpha',
      to: 'agent.beta',
      kind: 'agent',
      object_id: id,
      name: inspected.Name.replace(/^\//, ''),
      dry_run: true,
    });
    expect(await state()).toEqual(before);

    // the workspace lock: a move waits for no one and changes nothing while another command holds it
    const ledger = Ledger.open(ws.dir);
    const lock = ledger.acquireLock({pid: process.pid, host: 'test', command: 'orx apply (stand-in)'});
    try {
      expect((await run(['state', 'mv', 'agent.alpha', 'agent.beta'], 4)).stderr).toMatch(/lock/i);
    } finally {
      ledger.releaseLock(lock.id);
      ledger.close();
    }
    expect(await state()).toEqual(before);

    const moved = await run(['state', 'mv', 'agent.alpha', 'agent.beta']);
    expect(moved.stdout).toContain('Moved agent.alpha to agent.beta');
    const after = await state();
    expect(idOf(after, 'agent.beta')).toBe(id);
    expect(idOf(after, 'agent.alpha')).toBeUndefined();

    // the configuration renamed the same way: nothing to do, the container is untouched
    ws.write(yaml.replace('  alpha:\n', '  beta:\n'));
    const plan = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain('No changes.');
    const now = await docker.getContainer(id).inspect();
    expect(now.Id).toBe(id);
    expect(now.State.StartedAt).toBe(inspected.State.StartedAt);
    expect(now.State.Running).toBe(true);

    // recorded in the hash chain, which still verifies
    const events = JSON.parse((await run(['events', '--json', '--limit', '20'])).stdout) as {events: Array<{message: string}>};
    expect(events.events.map((e) => e.message)).toContain('state mv agent.alpha -> agent.beta: state mv');
    await run(['audit', 'verify']);

    // refused: an address that is taken, one that is not recorded, kinds that differ, a kind that cannot move
    const taken = await run(['state', 'mv', 'network.backplane', 'network.spare'], 1);
    expect(taken.stderr).toContain('network.spare is already in the state');
    expect((await run(['state', 'mv', 'agent.alpha', 'agent.gamma'], 1)).stderr).toContain('agent.alpha is not in the state');
    expect((await run(['state', 'mv', 'agent.beta', 'network.beta'], 1)).stderr).toContain('the kinds differ');
    expect((await run(['state', 'mv', 'image.base', 'image.other'], 1)).stderr).toContain('only agent, network, volume records can move');
    expect((await run(['state', 'mv', 'agent.beta', 'nonsense'], 1)).stderr).toContain('not a resource address');
    expect(await state()).toEqual(after);
  });
});

describe('moved: in orchestration.yml', () => {
  it('moves an agent, a network and a volume as plan steps: same objects, no create or destroy', {timeout: 240_000}, async () => {
    ws.write(BASE_YAML);
    await run(['apply', '--auto-approve']);
    const before = await state();
    const container = idOf(before, 'agent.alpha')!;
    const started = (await docker.getContainer(container).inspect()).State.StartedAt;

    const renamed = `${BASE_YAML.replace('  backplane: {internal: true}', '  bp: {internal: true}')
      .replace('  memory: {backup: true}', '  data: {backup: true}')
      .replace('  alpha:\n', '  beta:\n')
      .replace('networks: [backplane]', 'networks: [bp]')
      .replace('"memory:/data"', '"data:/data"')}moved:
  - {from: agent.alpha, to: agent.beta}
  - {from: network.backplane, to: network.bp}
  - {from: volume.memory, to: volume.data}
`;
    ws.write(renamed);
    const planned = JSON.parse((await run(['plan', '--json'])).stdout) as {
      steps: Array<{address: string; action: string; kind: string; depends_on: string[]}>;
      summary: Record<string, number>;
    };
    const acting = planned.steps.filter((s) => s.action !== 'noop');
    expect(acting.map((s) => [s.action, s.address]).sort()).toEqual([
      ['move', 'agent.alpha'],
      ['move', 'network.backplane'],
      ['move', 'volume.memory'],
    ]);
    expect(planned.summary).toEqual({create: 0, update: 0, replace: 0, delete: 0});
    // the moves come first: the new addresses' steps depend on them
    expect(planned.steps.find((s) => s.address === 'agent.beta')?.depends_on).toContain('agent.alpha');

    const text = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).toContain('# agent.alpha has moved to agent.beta');
    expect(text.stdout).toContain('# volume.memory has moved to volume.data');
    expect(text.stdout).toContain('Plan: 3 to move, 0 to add, 0 to change, 0 to replace, 0 to destroy.');
    expect(text.stdout).not.toMatch(/^\s*[+-] /m);

    const graph = JSON.parse((await run(['graph', '--json'])).stdout) as {nodes: Array<{address: string}>};
    expect(graph.nodes.map((n) => n.address)).toContain('agent.beta');

    await run(['apply', '--auto-approve']);
    const after = await state();
    expect(after.map((r) => r.address).sort()).toEqual(['agent.beta', 'image.base', 'network.bp', 'volume.data']);
    expect(idOf(after, 'agent.beta')).toBe(container);
    expect(idOf(after, 'network.bp')).toBe(idOf(before, 'network.backplane'));
    // the volume is the same Docker volume: its data never left it
    expect(idOf(after, 'volume.data')).toBe(idOf(before, 'volume.memory'));
    const now = await docker.getContainer(container).inspect();
    expect(now.State.StartedAt).toBe(started);

    // the moved: entries stay in the file and do nothing more
    const again = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('No changes.');

    // the old address declared again would get the Docker name the moved container kept: refused at plan
    // (without its moved: entry: a moved: entry's `from` cannot be declared)
    ws.write(
      `${renamed.replace('  - {from: agent.alpha, to: agent.beta}\n', '').replace('agents:\n', `agents:\n  alpha:\n    image: base\n    command: ${SLEEP_CMD}\n    resources: {cpus: 0.2, memory: 32m}\n`)}`,
    );
    const clash = await orx(['plan'], {cwd: ws.dir});
    expect(clash.code, clash.stdout).toBe(1);
    expect(clash.stderr).toMatch(/agent\.alpha would be created as orx-mv-\w+-alpha, the Docker name agent\.beta's object/);
  });

  it('refuses bad entries at file:line:col', {timeout: 120_000}, async () => {
    const nets = (extra: string) => `workspace: __WS__
autonomy: 3
networks:
  one: {internal: true}
  two: {internal: true}
${extra}`;
    const bad = async (extra: string, message: string, line: number): Promise<void> => {
      ws.write(nets(extra));
      const r = await orx(['validate'], {cwd: ws.dir});
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(new RegExp(`orchestration\\.yml:${line}:\\d+: moved\\[`));
    };
    await bad('moved:\n  - {from: network.old, to: volume.one}\n', 'the kinds differ', 7);
    await bad('moved:\n  - {from: network.one, to: network.two}\n', 'network.one is still declared in this file', 7);
    await bad('moved:\n  - {from: network.old, to: network.gone}\n', 'network.gone is not declared in this file', 7);
    await bad(
      'moved:\n  - {from: network.a, to: network.b}\n  - {from: network.b, to: network.one}\n',
      'chained or cyclic moves are refused',
      7,
    );
    await bad('moved:\n  - {from: network.a, to: network.one}\n  - {from: network.b, to: network.one}\n', 'already moves something to', 8);

    // a record at both ends is found when a plan reads the state
    ws.write(nets(''));
    await run(['apply', '--auto-approve']);
    ws.write(nets('moved:\n  - {from: network.one, to: network.two}\n').replace('  one: {internal: true}\n', ''));
    const r = await orx(['plan'], {cwd: ws.dir});
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toMatch(/orchestration\.yml:6:\d+: moved\[0\]: network\.two is already recorded/);

    // an entry whose record is gone does nothing
    ws.write(nets('moved:\n  - {from: network.zero, to: network.two}\n'));
    const ok = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });
});
