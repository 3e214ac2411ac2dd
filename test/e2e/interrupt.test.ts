import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {orx, startOrx, until} from '../helpers/cli.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('int');
});
afterEach(async () => {
  await ws.cleanup();
});

function yaml(n: number): string {
  let y = 'workspace: __WS__\nautonomy: 3\nimages:\n  base:\n    build: {context: images/agent-base}\nagents:\n';
  for (let i = 0; i < n; i++) y += `  a${i}:\n    image: base\n    command: ${SLEEP_CMD}\n    resources: {cpus: 0.1, memory: 32m}\n`;
  return y;
}

function recordedAgents(dir: string): number {
  if (!Ledger.exists(dir)) return 0;
  const l = Ledger.open(dir);
  try {
    return l.listResources().filter((r) => r.kind === 'agent').length;
  } finally {
    l.close();
  }
}

describe('interrupts and followers', () => {
  it('SIGINT stops new steps, lets running ones finish, records it all, exits 130, releases the lock', async () => {
    ws.write(yaml(12));
    const run = startOrx(['apply', '--auto-approve', '--parallelism', '1'], {cwd: ws.dir});
    await until('the first agent to be recorded', () => recordedAgents(ws.dir) >= 1);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/Interrupt received/);
    expect(r.stdout).toMatch(/Apply interrupted/);
    const l = Ledger.open(ws.dir);
    try {
      expect(l.currentLock()).toBeUndefined();
      const runRow = l.listRuns({limit: 1})[0];
      expect(runRow.status).toBe('interrupted');
      const steps = l.listSteps(runRow.id);
      expect(steps.some((s) => s.status === 'skipped')).toBe(true);
      expect(steps.every((s) => s.status !== 'running')).toBe(true);
      // what the ledger says exists is exactly what the engine has
      const recorded = l
        .listResources()
        .filter((x) => x.kind === 'agent')
        .map((x) => x.object_id)
        .sort();
      const live = (await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}}))
        .map((c) => c.Id)
        .sort();
      expect(live).toEqual(recorded);
      expect(recorded.length).toBeLessThan(12);
    } finally {
      l.close();
    }
    const again = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(again.code, again.stderr).toBe(0);
    expect(recordedAgents(ws.dir)).toBe(12);
  }, 120_000);

  it('events --follow prints new events as they are written', async () => {
    ws.write(yaml(2));
    expect((await orx(['validate'], {cwd: ws.dir})).code).toBe(0);
    Ledger.open(ws.dir).close();
    const follow = startOrx(['events', '--follow', '--json'], {cwd: ws.dir});
    let out = '';
    follow.child.stdout!.on('data', (d) => (out += d));
    const a = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(a.code, a.stderr).toBe(0);
    await until('the follower to print the end of the run', () => out.includes('"message":"run succeeded"'), 10_000);
    follow.child.kill('SIGINT');
    const f = await follow.done;
    const lines = f.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.some((e) => e.message === 'agent.a0: create succeeded')).toBe(true);
    expect(lines.map((e) => e.seq)).toEqual([...lines.map((e) => e.seq)].sort((x, y) => x - y));
  });

  it('read commands outside a workspace say so and create nothing', async () => {
    const empty = path.join(ws.dir, 'empty');
    fs.mkdirSync(empty);
    for (const cmd of [['state', 'list'], ['runs'], ['events'], ['show']]) {
      const r = await orx(cmd, {cwd: empty});
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not an orx workspace/);
    }
    expect(fs.readdirSync(empty)).toEqual([]);
  });
});
