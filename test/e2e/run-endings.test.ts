// Runs end recorded, however they end: a closed output pipe, SIGHUP, SIGTERM and a second
// Ctrl-C, each at a moment a fixed seed picks (after the k-th agent of a 10-agent apply is
// recorded), leave no run "running" and no lock; the next plain apply succeeds without
// force-unlock and converges. A forced stop in the middle of a blue-green or recreate update
// leaves a half-made container that the next plan names and the next apply removes.
import {spawn} from 'node:child_process';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {uniformSource} from '../../src/sim/rng.js';
import {orx, orxBin, startOrx, until, type CliResult} from '../helpers/cli.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('end');
});
afterEach(async () => {
  await ws.cleanup();
});

const AGENTS = 10;
const yaml = `workspace: __WS__\nautonomy: 3\nimages:\n  base:\n    build: {context: images/agent-base}\nagents:\n${Array.from({length: AGENTS}, (_, i) => `  a${i}:\n    image: base\n    command: ${SLEEP_CMD}\n    resources: {cpus: 0.1, memory: 32m}\n`).join('')}`;

/** The moment, by name: after the k-th agent is recorded, k in 1..8, the same on every run. */
const moment = (name: string): number => 1 + Math.floor(uniformSource(`run-endings:${name}`)() * 8);

function ledgerRead<T>(fn: (l: Ledger) => T): T {
  const l = Ledger.open(ws.dir);
  try {
    return fn(l);
  } finally {
    l.close();
  }
}

const recordedAgents = (): number =>
  Ledger.exists(ws.dir) ? ledgerRead((l) => l.listResources().filter((r) => r.kind === 'agent').length) : 0;

/** A saved plan of the 10 agents (built and recorded first, so that the apply is only agents). */
async function savedPlan(): Promise<string> {
  ws.write(yaml);
  const file = 'plans/ten.json';
  const r = await orx(['plan', '-out', file], {cwd: ws.dir});
  expect(r.code, r.stderr).toBe(0);
  return file;
}

/** Nothing left running or locked; a plain apply then succeeds without force-unlock, and converges. */
async function expectRecordedAndResumable(): Promise<void> {
  ledgerRead((l) => {
    expect(l.currentLock()).toBeUndefined();
    for (const run of l.listRuns({limit: 20})) {
      expect(run.status, run.id).not.toBe('running');
      expect(l.listSteps(run.id).filter((s) => s.status === 'running')).toEqual([]);
    }
  });
  const again = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
  expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
  const plan = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
  expect(plan.code, plan.stdout).toBe(0);
  const live = await docker.listContainers({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});
  expect(live).toHaveLength(AGENTS);
  expect(recordedAgents()).toBe(AGENTS);
}

describe('runs end recorded, however they end', () => {
  it('`orx apply FILE 2>&1 | head -1`: the closed pipe stops the apply like one Ctrl-C', {timeout: 180_000}, async () => {
    const file = await savedPlan();
    const r = await new Promise<CliResult>((resolve) => {
      const sh = spawn('/bin/sh', ['-c', `"${process.execPath}" "${orxBin}" apply "${file}" --parallelism 1 2>&1 | head -1`], {
        cwd: ws.dir,
        env: {...process.env, NO_COLOR: '1'},
      });
      let stdout = '';
      sh.stdout.on('data', (d) => (stdout += d));
      sh.on('close', (code) => resolve({code, stdout, stderr: ''}));
    });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    // head is gone long before: orx ended by itself and recorded how
    await until('the apply to end', () => ledgerRead((l) => l.listRuns({limit: 1})[0]?.status !== 'running' && !l.currentLock()), 60_000);
    await expectRecordedAndResumable();
  });

  it('stdout and stderr closed at a seeded moment: the apply finishes or stops between steps, recorded', {timeout: 180_000}, async () => {
    const file = await savedPlan();
    const k = moment('pipes');
    const child = spawn(process.execPath, [orxBin, 'apply', file, '--parallelism', '1'], {
      cwd: ws.dir,
      env: {...process.env, NO_COLOR: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout.resume();
    child.stderr.resume();
    await until(`agent ${k} to be recorded`, () => recordedAgents() >= k);
    child.stdout.destroy();
    child.stderr.destroy();
    expect([0, 130]).toContain(await exited);
    await expectRecordedAndResumable();
  });

  for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
    it(`${signal} at a seeded moment stops new steps, records the run interrupted, releases the lock`, {timeout: 180_000}, async () => {
      const file = await savedPlan();
      const k = moment(signal);
      const run = startOrx(['apply', file, '--parallelism', '1'], {cwd: ws.dir});
      await until(`agent ${k} to be recorded`, () => recordedAgents() >= k);
      run.child.kill(signal);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(`${signal} received: no new steps will start`);
      expect(ledgerRead((l) => l.listRuns({limit: 1})[0].status)).toBe('interrupted');
      await expectRecordedAndResumable();
    });
  }

  it(
    'a second Ctrl-C at a seeded moment stops at once, with the run recorded interrupted and the lock released',
    {timeout: 180_000},
    async () => {
      const file = await savedPlan();
      const k = moment('double-sigint');
      const run = startOrx(['apply', file, '--parallelism', '2'], {cwd: ws.dir});
      let stderr = '';
      run.child.stderr!.on('data', (d) => (stderr += d));
      await until(`agent ${k} to be recorded`, () => recordedAgents() >= k);
      run.child.kill('SIGINT');
      await until('the first interrupt to be taken', () => stderr.includes('Interrupt received'));
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toMatch(/SIGINT received again: stopping at once/);
      const last = ledgerRead((l) => l.listRuns({limit: 1})[0]);
      expect(last.status).toBe('interrupted');
      expect(last.summary).toMatchObject({forced: true});
      await expectRecordedAndResumable();
    },
  );
});

describe('a forced stop in the middle of an update', () => {
  const bg = (version: string, check: string, strategy: string) => `workspace: __WS__
autonomy: 3
networks:
  back: {internal: true}
images:
  base:
    build: {context: images/agent-base}
agents:
  web:
    image: base
    command: ${SLEEP_CMD}
    env: {VERSION: "${version}"}
    resources: {cpus: 0.1, memory: 32m}
    networks: [back]
    health: {cmd: ["${check}"], interval: 1s, timeout: 1s, retries: 60, start_period: 1s}
    update: {strategy: ${strategy}, health_timeout: 60s}
`;

  for (const strategy of ['blue-green', 'recreate']) {
    it(`${strategy}: leaves a half-made container that the next plan names and the next apply removes`, {timeout: 180_000}, async () => {
      ws.write(bg('v1', 'true', strategy));
      expect((await orx(['apply', '--auto-approve'], {cwd: ws.dir})).code).toBe(0);
      const filters = {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.web']};
      const [old] = await docker.listContainers({all: true, filters});

      ws.write(bg('v2', 'false', strategy));
      const run = startOrx(['apply', '--auto-approve'], {cwd: ws.dir});
      let stderr = '';
      run.child.stderr!.on('data', (d) => (stderr += d));
      await until('the new container to wait for health', () => stderr.includes('agent.web: waiting for health'));
      run.child.kill('SIGINT');
      await until('the first interrupt to be taken', () => stderr.includes('Interrupt received'));
      run.child.kill('SIGINT');
      expect((await run.done).code).toBe(130);
      const left = (await docker.listContainers({all: true, filters})).filter((c) => c.Id !== old.Id);
      expect(left).toHaveLength(1);

      ws.write(bg('v3', 'true', strategy));
      const plan = await orx(['plan'], {cwd: ws.dir});
      expect(plan.stdout + plan.stderr).toContain(
        `container ${left[0].Names[0].slice(1)} was left by an interrupted update of agent.web: its replace removes it first`,
      );
      const apply = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
      expect(apply.code, apply.stderr).toBe(0);
      const now = await docker.listContainers({all: true, filters});
      expect(now).toHaveLength(1);
      expect([old.Id, left[0].Id]).not.toContain(now[0].Id);
      expect((await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir})).code).toBe(0);
      ledgerRead((l) => expect(l.currentLock()).toBeUndefined());
    });
  }
});
