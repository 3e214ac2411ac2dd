import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {noStack, orx, startOrx, until} from '../helpers/cli.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('safe');
});
afterEach(async () => {
  await ws.cleanup();
});

function yaml(n: number, autonomy: number, extra = ''): string {
  let y = `workspace: __WS__\nautonomy: ${autonomy}\nimages:\n  base:\n    build: {context: images/agent-base}\nagents:\n`;
  for (let i = 0; i < n; i++)
    y += `  a${i}:\n    image: base\n    command: ${SLEEP_CMD}\n    resources: {cpus: 0.1, memory: 32m}\n${extra}`;
  return y;
}

const containers = async (running = false) =>
  (await docker.listContainers({all: !running, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}}))
    .map((c) => c.Labels['io.orchestrix.address'])
    .sort();

function recordedAgents(): number {
  if (!Ledger.exists(ws.dir)) return 0;
  const l = Ledger.open(ws.dir);
  try {
    return l.listResources().filter((r) => r.kind === 'agent').length;
  } finally {
    l.close();
  }
}

describe('approvals without a terminal', () => {
  it('a DESTROY in CI exits 3 and deletes nothing; orx approve then orx apply FILE deletes it', async () => {
    ws.write(yaml(2, 2));
    expect((await orx(['apply', '--auto-approve'], {cwd: ws.dir})).code).toBe(0);
    ws.write(yaml(1, 2));
    const refused = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/DESTROY delete agent\.a1: autonomy 2: DESTROY steps need a human/);
    expect(noStack(refused.stderr)).toBe(true);
    expect(await containers()).toEqual(['agent.a0', 'agent.a1']);

    expect((await orx(['plan', '-out', 'plans/del.json'], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['apply', 'plans/del.json'], {cwd: ws.dir})).code).toBe(3);
    const ok = await orx(['approve', 'plans/del.json', '--step', 'agent.a1', '--reason', 'retiring a1', '--as', 'ops-lead'], {cwd: ws.dir});
    expect(ok.code, ok.stderr).toBe(0);
    const applied = await orx(['apply', 'plans/del.json'], {cwd: ws.dir});
    expect(applied.code, applied.stderr).toBe(0);
    expect(await containers()).toEqual(['agent.a0']);
    const runs = JSON.parse((await orx(['runs', '--json'], {cwd: ws.dir})).stdout).runs;
    const shown = await orx(['runs', runs[0].id], {cwd: ws.dir});
    expect(shown.stdout).toMatch(/approved +agent\.a1 +ops-lead +retiring a1/);
  });

  it('an approval counts only for the plan digest it was given for', async () => {
    ws.write(yaml(1, 0));
    expect((await orx(['plan', '-out', 'plans/a.json'], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['plan', '-out', 'plans/b.json'], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['approve', 'plans/a.json', '--all', '--reason', 'reviewed a'], {cwd: ws.dir})).code).toBe(0);
    const b = await orx(['apply', 'plans/b.json', '--json'], {cwd: ws.dir});
    expect(b.code).toBe(3);
    expect(JSON.parse(b.stdout).error.data.needs_approval.map((s: {address: string}) => s.address)).toEqual(['image.base', 'agent.a0']);
    expect(await containers()).toEqual([]);
    const a = await orx(['apply', 'plans/a.json'], {cwd: ws.dir});
    expect(a.code, a.stderr).toBe(0);
    expect(await containers()).toEqual(['agent.a0']);
    const bad = await orx(['approve', 'plans/b.json', '--step', 'agent.nope', '--reason', 'x'], {cwd: ws.dir});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/agent.nope is not a step of plan/);
  });

  it('--autonomy may lower the level, never raise it', async () => {
    ws.write(yaml(1, 2));
    const lowered = await orx(['apply', '--auto-approve', '--autonomy', '0'], {cwd: ws.dir});
    expect(lowered.code).toBe(3);
    const raised = await orx(['plan', '--autonomy', '3'], {cwd: ws.dir, env: {}});
    expect(raised.code).toBe(1);
    expect(raised.stderr).toMatch(/can only be lowered/);
  });
});

describe('kill switch', () => {
  it('halt during a 20-agent apply stops everything and blocks the next apply; resume restores', async () => {
    ws.write(yaml(20, 3));
    const run = startOrx(['apply', '--auto-approve', '--parallelism', '2'], {cwd: ws.dir});
    await until('a few agents to be recorded', () => recordedAgents() >= 3);
    const halt = await orx(['halt', '--reason', 'agents misbehaving', '--json'], {cwd: ws.dir});
    expect(halt.code, halt.stderr).toBe(0);
    const h = JSON.parse(halt.stdout);
    expect(h.interrupted_apply).not.toBeNull();
    const applied = await run.done;
    expect(applied.code).toBe(3);
    expect(applied.stdout).toMatch(/workspace halted at .* because agents misbehaving/);
    const created = await containers();
    expect(created.length).toBeGreaterThanOrEqual(3);
    expect(created.length).toBeLessThan(20);
    expect(await containers(true)).toEqual([]);
    expect(h.halt.stopped.map((s: {address: string}) => s.address).sort()).toEqual(created);

    const refused = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/refused: workspace halted at .* by .* because agents misbehaving/);
    expect(refused.stderr).toMatch(/orx resume --reason/);
    expect((await orx(['plan'], {cwd: ws.dir})).code).toBe(0);

    const resumed = await orx(['resume', '--reason', 'fixed', '--auto-approve'], {cwd: ws.dir});
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await containers(true)).toEqual(created);
    const rest = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(rest.code, rest.stderr).toBe(0);
    expect((await containers(true)).length).toBe(20);
    expect((await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir})).code).toBe(0);
  }, 180_000);

  it('ORX_KILL_SWITCH and kill_switch: true refuse every apply', async () => {
    ws.write(yaml(1, 3));
    const env = await orx(['apply', '--auto-approve'], {cwd: ws.dir, env: {ORX_KILL_SWITCH: '1'}});
    expect(env.code).toBe(3);
    expect(env.stderr).toMatch(/kill switch is on \(ORX_KILL_SWITCH/);
    ws.write(yaml(1, 3).replace('autonomy: 3\n', 'autonomy: 3\nkill_switch: true\n'));
    const cfg = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(cfg.code).toBe(3);
    expect(cfg.stderr).toMatch(/kill_switch: true in orchestration.yml/);
    expect(await containers()).toEqual([]);
  });
});

describe('budgets', () => {
  it('a step past its time budget is cancelled, fails with "budget exceeded", and stops the apply', async () => {
    ws.write(yaml(1, 3, '    budget: {time: 1ms}\n'));
    const r = await orx(['apply', '--auto-approve', '--json'], {cwd: ws.dir});
    expect(r.code).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.steps.find((s: {address: string}) => s.address === 'agent.a0')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/budget exceeded/),
    });
    const plan = JSON.parse((await orx(['plan', '--json'], {cwd: ws.dir})).stdout);
    expect(plan.steps.find((s: {address: string}) => s.address === 'agent.a0').budget_ms).toBe(1);
  });
});
