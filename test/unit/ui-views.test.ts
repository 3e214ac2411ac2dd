// The terminal renderings of plans and apply outcomes (src/ui/plan-view.ts, apply-view.ts,
// progress.ts): every kind of step, drift, policy and readiness line, and every way an apply ends.
import {describe, expect, it} from 'vitest';
import type {ApplyOutcome, ApplyResult} from '../../src/app/apply.js';
import type {PlanOutcome} from '../../src/app/plan.js';
import type {ExecutorEvents, StepResult} from '../../src/engine/executor.js';
import type {PlanSimulation} from '../../src/engine/plan-sim.js';
import type {PlanDocument} from '../../src/engine/planfile.js';
import {summarize} from '../../src/engine/planner.js';
import type {PlannedStep} from '../../src/resources/types.js';
import {renderApplyOutcome} from '../../src/ui/apply-view.js';
import {c, setColor} from '../../src/ui/color.js';
import {createLogger} from '../../src/ui/logger.js';
import {fmtValue, hardeningSummary, planFooter, readinessLine, renderPlan, renderStep, summaryLine} from '../../src/ui/plan-view.js';
import {jsonProgressReporter, progressReporter} from '../../src/ui/progress.js';
import {REDACTED} from '../../src/util/redact.js';
import {planDocument, plannedStep} from '../helpers/plan-fixtures.js';

setColor(false);

let n = 0;
const step = (over: Partial<PlannedStep> & Pick<PlannedStep, 'address'>): PlannedStep => {
  n++;
  return plannedStep({id: `s${n}`, category: 'DEPLOY', after: null, idempotency_key: `k${n}`, ...over});
};

const doc = (steps: PlannedStep[], over: Partial<PlanDocument> = {}): PlanDocument =>
  planDocument(steps, {plan_id: 'plan-9', autonomy: 3, summary: summarize(steps), ...over});

const sim = (score: number, over: Partial<PlanSimulation> = {}): PlanSimulation =>
  ({
    readinessScore: score,
    policyPassPct: 50,
    p50_ms: 1500,
    p95_ms: 12_400,
    expectedRollbacks: 0.25,
    seed: 'seed-1',
    iterations: 1000,
    rng: {library: 'seedrandom', version: '3.0.5', algorithm: 'alea'},
    model: {version: '1', prior: {alpha: 1, beta: 1}, default_duration_ms: {}, default_sigma: 1},
    per_kind: {},
    parallelism: 10,
    interval90: [score - 0.05, Math.min(1, score + 0.02)],
    // enough recorded outcomes of the kind for the estimate to be knowledge
    inputs: {
      steps: [{id: 's1', kind: 'agent'}],
      history: {agent: {successes: 30, failures: 0, durations_ms: [], rollback_durations_ms: []}},
    },
    ...over,
  }) as unknown as PlanSimulation;

describe('renderStep', () => {
  it('shows blue-green replacements beside or stop-first, with their changes', () => {
    const bg = {strategy: 'blue-green'};
    const beside = renderStep(
      step({
        address: 'agent.web',
        action: 'replace',
        before: {ports: []},
        after: {update: bg, ports: []},
        changes: [
          {path: 'image_ref', before: 'a', after: 'b', forces_replacement: true},
          {path: 'env.X', before: null, after: 'x'.repeat(250), forces_replacement: false},
        ],
      }),
    );
    expect(beside).toContain('+/- agent.web');
    expect(beside).toContain('# blue-green: the new container starts beside the old one and takes over once healthy');
    expect(beside).toMatch(/~ image_ref = "a" -> "b" # forces replacement/);
    expect(beside).toContain(`~ env.X     = null -> "${'x'.repeat(200)}…"`);
    const stopFirst = renderStep(
      step({address: 'agent.api', action: 'replace', before: {ports: [{host: 80}]}, after: {update: bg, ports: [{host: 80}]}}),
    );
    expect(stopFirst).toContain('-/+ agent.api');
    expect(stopFirst).toContain('blue-green, stop-first (host ports)');
  });

  it('says only that a rotated secret changed, and shows DR steps as operations', () => {
    const rotated = renderStep(
      step({
        address: 'agent.a',
        action: 'update',
        changes: [{path: 'secrets.API_KEY', before: REDACTED, after: REDACTED, forces_replacement: true}],
      }),
    );
    expect(rotated).toContain(`~ secret API_KEY ${REDACTED} (rotated)`);
    expect(renderStep(step({address: 'backup.memory', kind: 'dr', category: 'WRITE', reasons: ['volume memory']}))).toContain(
      '# backup.memory will run (volume memory)',
    );
    const destroy = renderStep(step({address: 'prune.b1', kind: 'dr', action: 'delete', category: 'DESTROY', after: {op: 'prune'}}));
    expect(destroy.split('\n')).toEqual(['  # prune.b1 will run (DESTROY)', '  - prune.b1']);
  });

  it('shows Kubernetes objects one per line, and a cluster with its config', () => {
    const manifests = renderStep(
      step({
        address: 'manifests.app',
        kind: 'manifests',
        changes: [
          {path: 'objects.apps/v1/Deployment/lab/web', before: null, after: {}, forces_replacement: false},
          {path: 'objects.v1/ConfigMap//cfg', before: {}, after: null, forces_replacement: false},
        ],
      }),
    );
    expect(manifests).toContain('+ Deployment lab/web (apps/v1)');
    expect(manifests).toContain('- ConfigMap cfg (v1)');
    const updated = renderStep(
      step({
        address: 'agent.k',
        action: 'update',
        changes: [{path: 'objects.apps/v1/Deployment/lab/k', before: {a: 1}, after: {a: 2}, forces_replacement: false}],
      }),
    );
    expect(updated).toContain('~ Deployment lab/k (apps/v1) will be updated');

    // an agent's networks and volumes by the names orchestration.yml uses, not Docker's
    const renamed = renderStep(
      step({
        address: 'agent.web',
        kind: 'agent',
        action: 'replace',
        after: {name: 'orx-lab-web'},
        changes: [
          {path: 'networks', before: ['orx-lab-a'], after: ['orx-lab-a', 'orx-lab-b', 'bridge'], forces_replacement: true},
          {path: 'mounts', before: [], after: [{source: 'orx-lab-memory', target: '/data', read_only: false}], forces_replacement: true},
        ],
      }),
    );
    expect(renamed).toContain('~ networks = ["a"] -> ["a", "b", "bridge"] # forces replacement');
    expect(renamed).toMatch(/after:\n +- source: memory\n/);
    expect(renamed).not.toContain('orx-lab-');

    const kube = renderStep(
      step({
        address: 'agent.k',
        after: {target: 'kubernetes', name: 'k', objects: {d: {kind: 'Deployment', metadata: {name: 'k'}}}, config_hash: 'h'},
      }),
    );
    expect(kube).toContain('+ name   = "k"');
    expect(kube).not.toContain('config_hash');
    expect(kube).toContain('---');
    expect(kube).toContain('kind: Deployment');

    const cluster = renderStep(step({address: 'cluster.lab', after: {name: 'lab', config: {nodes: [{role: 'control-plane'}]}}}));
    expect(cluster).toContain('+ name = "lab"');
    expect(cluster).toContain('+ config =');
    expect(cluster).toContain('- role: control-plane');
  });

  it('marks every policy effect, and a waived deny', () => {
    const text = renderStep(step({address: 'agent.a', after: {name: 'a'}}), [
      {rule: 'r1', effect: 'deny', message: 'no', step: 's'},
      {rule: 'r2', effect: 'require_approval', message: 'ask', step: 's'},
      {rule: 'r3', effect: 'warn', message: 'careful', step: 's'},
      {rule: 'r4', effect: 'allow', message: 'fine', step: 's'},
      {rule: 'r5', effect: 'deny', message: 'waived one', step: 's', waiver: {reason: 'x'}},
      {rule: 'r6', effect: 'other', message: 'plain', step: 's'},
    ]);
    expect(text).toContain('✗ denied: no (rule r1)');
    expect(text).toContain('? needs approval: ask (rule r2)');
    expect(text).toContain('⚠ warning: careful (rule r3)');
    expect(text).toContain('✓ allowed: fine (rule r4)');
    expect(text).toContain('? waived, needs approval: waived one (rule r5)');
    expect(text.split('\n').at(-1)).toBe('    plain');
  });
});

describe('renderPlan', () => {
  it('shows drift, plan-level policy, waivers, notes and the readiness line', () => {
    const s = step({address: 'network.n', kind: 'network', category: 'WRITE', after: {name: 'n', internal: true}});
    const text = renderPlan(
      doc([s, step({address: 'volume.v', action: 'noop', record: false})], {
        drift: [
          {address: 'volume.gone', kind: 'volume', status: 'deleted', changes: []},
          {
            address: 'agent.a',
            kind: 'agent',
            status: 'changed',
            changes: [{path: 'memory_bytes', before: 1, after: 2, forces_replacement: true}],
          },
        ],
        policy: {
          decisions: [
            {rule: 'quota', effect: 'warn', message: 'near the quota', step: null, address: null},
            {rule: 'own', effect: 'require_approval', message: 'look', step: s.id, address: s.address},
          ],
          waivers: [
            {rule: 'deny-root-user', address: 'agent.a', reason: 'legacy', expires: '2031-01-01', status: 'applied'},
            {rule: 'deny-host-mounts', address: 'agent.b', reason: 'old', expires: '2020-01-01', status: 'expired'},
            {rule: 'x', address: 'agent.c', reason: 'spare', expires: '2031-01-01', status: 'unused'},
          ],
        },
        notes: ['volume.v: owned by 0:0'],
        simulation: sim(0.95),
      }),
    );
    expect(text).toContain('Drift: objects changed outside orx since the last apply');
    expect(text).toContain('  - volume.gone: deleted outside orx');
    expect(text).toContain('  ~ agent.a: changed outside orx');
    // drift shows what changed, never that it forces anything
    expect(text).toContain('      ~ memory = "1b" -> "2b"\n');
    expect(text).toContain('orx will perform the following actions (apply plan plan-9):');
    expect(text).not.toContain('volume.v will');
    expect(text).toContain('? needs approval: look (rule own)');
    expect(text).toContain('Policy on the whole plan:\n  ⚠ warning: near the quota (rule quota)');
    expect(text).toContain('Waivers in orchestration.yml:');
    expect(text).toContain(
      '  deny-root-user at agent.a through 2031-01-01 (legacy): passes a deny in this plan, as a step a human approves',
    );
    expect(text).toContain('expired: the rule applies again');
    expect(text).toContain('nothing in this plan needs it');
    expect(text).toContain('note: volume.v: owned by 0:0');
    expect(text).toContain('Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy.');
    expect(text).toMatch(
      /Readiness: 95\.0% likely to apply cleanly \(90% interval 90\.0%–97\.0%\) · p50 1\.5s · p95 12s · expected rollbacks 0\.25 · 50% of steps pass policy/,
    );
    expect(text).toContain('seed seed-1, seedrandom 3.0.5 alea; orx simulate FILE --seed N repeats it');
  });

  it('grades readiness and leaves it out for an empty simulation', () => {
    setColor(true);
    try {
      expect(readinessLine(sim(0.95))).toContain(c.green('95.0%'));
      expect(readinessLine(sim(0.6))).toContain(c.yellow('60.0%'));
      expect(readinessLine(sim(0.1))).toContain(c.red('10.0%'));
    } finally {
      setColor(false);
    }
    const empty = sim(1, {inputs: {steps: [], history: {}}});
    expect(renderPlan(doc([], {simulation: empty}))).not.toContain('Readiness');
  });

  it('says "not enough history" below 20 outcomes of a kind, unless the estimate is forced', () => {
    const h = (n: number) => ({successes: n, failures: 0, durations_ms: [], rollback_durations_ms: []});
    const thin = sim(0.9, {
      inputs: {
        steps: [
          {id: 'a', kind: 'agent'},
          {id: 'n', kind: 'network'},
        ],
        history: {agent: h(3), network: h(25)},
      },
    } as unknown as Partial<PlanSimulation>);
    expect(readinessLine(thin)).toBe(
      'Readiness: not enough history (agent: 3 runs; an estimate needs 20 recorded outcomes per step kind; --readiness shows one anyway)',
    );
    expect(renderPlan(doc([step({address: 'agent.a'})], {simulation: thin}))).not.toContain('likely');
    const forced = readinessLine(thin, {force: true});
    expect(forced).toMatch(/^Readiness: 90\.0% likely to apply cleanly \(90% interval 85\.0%–92\.0%\) · /);
    expect(forced).toContain('· mostly the prior: agent 3 runs');
    expect(renderPlan(doc([step({address: 'agent.a'})], {simulation: thin}), {readiness: true})).toContain('90.0% likely to apply cleanly');
    expect(
      readinessLine(sim(0.9, {inputs: {steps: [{id: 'a', kind: 'dr'}], history: {dr: h(1)}}} as unknown as Partial<PlanSimulation>)),
    ).toContain('(dr: 1 run;');
  });
});

describe('summaryLine and planFooter', () => {
  it('counts DR plans in steps', () => {
    const one = [step({address: 'backup.v', kind: 'dr'})];
    expect(summaryLine({...doc(one), kind: 'backup'})).toBe('Plan: backup, 1 step.');
    expect(summaryLine({...doc([...one, ...one]), kind: 'restore'})).toBe('Plan: restore, 2 steps.');
    expect(summaryLine({...doc([]), kind: 'prune'})).toBe('Nothing to prune.');
  });

  it('says whether a plan was saved, and that a denied one cannot be applied', () => {
    const base = {doc: doc([]), has_changes: true as const, approvals_needed: []};
    const saved: PlanOutcome = {...base, denied: false, saved_to: '/ws/plans/p.json'};
    expect(planFooter(saved, {dir: '/ws', asked: true})).toBe(
      '\nSaved the plan to plans/p.json. Apply exactly it with: orx apply plans/p.json\n',
    );
    const denied: PlanOutcome = {...base, denied: true};
    expect(planFooter(denied, {dir: '/ws', asked: true})).toBe(
      '\nPolicy denies this plan: it cannot be applied. Not saved (--allow-denied saves it for review).\n',
    );
    expect(planFooter(denied, {dir: '/ws', asked: false})).toBe('\nPolicy denies this plan: it cannot be applied.\n');
    expect(planFooter({...denied, saved_to: '/elsewhere/p.json'}, {dir: '/ws', asked: true})).toBe(
      '\nPolicy denies this plan: it cannot be applied.\n\nSaved the plan to ../elsewhere/p.json.\n',
    );
    expect(planFooter({...base, denied: false}, {dir: '/ws', asked: false})).toBe('');
  });

  it('formats values compactly', () => {
    expect(fmtValue(undefined)).toBe('null');
    expect(fmtValue({a: 'x'.repeat(300)})).toMatch(/^\{"a":"x+…$/);
    expect(fmtValue({a: 'x'.repeat(300)}).length).toBe(201);
  });
});

describe('renderApplyOutcome', () => {
  const steps = [step({address: 'network.n', kind: 'network'}), step({address: 'agent.a', action: 'update'})];
  const d = doc(steps);
  const outcome = (r: Partial<ApplyResult>, kept = steps): ApplyOutcome => ({
    result: {plan_id: d.plan_id, kind: 'apply', summary: d.summary, status: 'succeeded', steps: [], run_id: 'run-1', serial: 7, ...r},
    counts: summarize(kept),
  });
  const done = [
    {address: 'network.n', action: 'create', status: 'succeeded'},
    {address: 'agent.a', action: 'update', status: 'failed', error: 'boom'},
  ];

  it('closes every kind of successful run', () => {
    expect(renderApplyOutcome(d, outcome({}))).toBe(
      'Apply complete! Resources: 1 added, 1 changed, 0 replaced, 0 destroyed. (run run-1, serial 7)',
    );
    expect(renderApplyOutcome(d, outcome({dropped: ['agent.a']}, [steps[0]]))).toBe(
      'Apply complete! Resources: 1 added, 0 changed, 0 replaced, 0 destroyed (1 rejected step(s) left out). (run run-1, serial 7)',
    );
    const ok = [{address: 'backup.v', action: 'create', status: 'succeeded'}];
    expect(renderApplyOutcome(d, outcome({kind: 'backup', steps: ok}))).toBe('Backup complete: 1 step(s). (run run-1)');
    expect(renderApplyOutcome(d, outcome({kind: 'restore', steps: ok, rto_ms: 2345}))).toBe(
      'Restore complete: 1 step(s), RTO 2.3 s (apply start to healthy). (run run-1)',
    );
    expect(renderApplyOutcome(d, outcome({kind: 'restore', steps: ok}))).toContain('RTO 0.0 s');
    expect(renderApplyOutcome(d, outcome({kind: 'prune'}, [step({address: 'prune.b', action: 'delete'})]))).toBe(
      'Prune complete: 1 backup(s) deleted. (run run-1)',
    );
  });

  it('says what did not happen, and why it stopped', () => {
    expect(renderApplyOutcome(doc([]), outcome({status: 'no-changes'}))).toBe('No changes. The workspace matches the configuration.');
    expect(renderApplyOutcome(d, outcome({status: 'nothing-approved'}))).toBe('Nothing left to apply: every change was rejected.');
    const failed = renderApplyOutcome(d, outcome({status: 'failed', steps: done}));
    expect(failed.split('\n')[0]).toBe('Apply failed partway (run run-1).');
    expect(failed).toContain('agent.a update failed (boom)');
    expect(renderApplyOutcome(d, outcome({status: 'interrupted', steps: done})).split('\n')[0]).toBe('Apply interrupted (run run-1).');
    expect(renderApplyOutcome(d, outcome({status: 'halted', halted: 'workspace halted by ann', steps: done})).split('\n')[0]).toBe(
      'Apply stopped: workspace halted by ann (run run-1).',
    );
    expect(renderApplyOutcome(d, outcome({status: 'failed', steps: done, run_id: undefined})).split('\n')[0]).toBe(
      'Apply failed partway (run ).',
    );
  });
});

/** The reporters implement every event: called directly here, as the executor would. */
const every = (e: ExecutorEvents & {close(): void}) => e as Required<ExecutorEvents> & {close(): void};

describe('progress', () => {
  const result = (over: Partial<StepResult>): StepResult => ({
    step: step({address: 'agent.a'}),
    status: 'succeeded',
    elapsed_ms: 1234,
    run_id: 'run-7',
    ...over,
  });

  it('logs one structured line per step under --log-format json, at the level its outcome deserves', () => {
    const lines: string[] = [];
    const events = every(jsonProgressReporter(createLogger({format: 'json', level: 'info', write: (s) => lines.push(s)})));
    events.onStart(step({address: 'agent.a'}));
    events.onFinish(result({}));
    events.onFinish(result({status: 'failed', error: 'boom'}));
    events.onFinish(result({status: 'rolled_back', error: 'unhealthy'}));
    events.onFinish(result({status: 'succeeded', adopted: true}));
    events.close();
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => [p.level, p.msg, p.run_id])).toEqual([
      ['info', 'create succeeded', 'run-7'],
      ['error', 'create failed', 'run-7'],
      ['warn', 'create rolled back', 'run-7'],
      ['info', 'create succeeded', 'run-7'],
    ]);
    expect(parsed[1]).toMatchObject({address: 'agent.a', status: 'failed', elapsed_ms: 1234, error: 'boom'});
    expect(parsed[3].adopted).toBe(true);
  });

  it('without a terminal, prints what a long step waits for now and then, and every finished step', () => {
    let now = 0;
    const out: string[] = [];
    const events = every(
      progressReporter(
        (s) => out.push(s),
        false,
        () => now,
      ),
    );
    const s = step({address: 'agent.slow'});
    events.onStart(s);
    events.onDetail('agent.slow', 'waiting for health (1/3)');
    now = 500;
    events.onDetail('agent.slow', 'waiting for health (2/3)');
    now = 2500;
    events.onDetail('agent.slow', 'waiting for health (3/3)');
    events.onFinish(result({step: s, status: 'rolled_back', error: 'never healthy'}));
    events.onFinish(result({step: step({address: 'agent.b'}), status: 'skipped'}));
    events.onFinish(result({step: step({address: 'agent.c'}), status: 'succeeded', adopted: true}));
    events.close();
    expect(out).toEqual([
      '  agent.slow: waiting for health (1/3)\n',
      '  agent.slow: waiting for health (3/3)\n',
      '↺ agent.slow: create rolled back (1.2s): never healthy\n',
      '· agent.b: create skipped (1.2s) (not started)\n',
      '✓ agent.c: create succeeded (1.2s) (adopted existing object)\n',
    ]);
  });

  it('on a terminal, keeps a status line naming what runs and what it waits for', () => {
    const out: string[] = [];
    const events = every(
      progressReporter(
        (s) => out.push(s),
        true,
        () => 0,
      ),
    );
    for (const a of ['agent.a', 'agent.b', 'agent.c', 'agent.d']) events.onStart(step({address: a}));
    events.onDetail('agent.a', 'pulling');
    events.onFinish(result({step: step({address: 'agent.d'}), status: 'failed', error: 'x'}));
    events.close();
    const status = out.filter((l) => l.includes('running')).at(-1)!;
    expect(status).toContain('running 3 [agent.a pulling, agent.b, agent.c] · done 0 · failed 1');
    expect(out.some((l) => l.includes('running 4 [') && l.includes(', …]'))).toBe(true);
    expect(out.at(-1)).toBe('\r\x1b[2K');
  });
});

describe('a Docker agent create in the plan', () => {
  const agent = {
    name: 'orx-ws-web',
    image: 'base',
    image_ref: 'orx-ws-base:abc',
    command: ['sleep', '1'],
    env: {A: '1'},
    user: null,
    image_user: '1000:1000',
    allow_root: null,
    egress: false,
    cpus: 0.5,
    memory_bytes: 1536 * 1024 * 1024,
    pids_limit: 256,
    networks: [],
    mounts: [],
    ports: [],
    health: {test: ['CMD', 'true'], interval_ms: 90_000, timeout_ms: 5000, retries: 3, start_period_ms: 0},
    labels: {},
    hardening: {
      read_only_rootfs: true,
      cap_drop: ['ALL'],
      no_new_privileges: true,
      seccomp: 'default',
      privileged: false,
      init: true,
      tmpfs: '/tmp',
    },
    secrets: {},
    token: {ttl_ms: 3_600_000, scopes: [], audience: 'orchestrix'},
    secrets_mount: '/run/secrets',
    running: true,
    config_hash: 'h',
  };

  it('lists what the user set in their units, and the hardening as one line', () => {
    const text = renderStep(step({address: 'agent.web', kind: 'agent', after: agent}));
    expect(text.split('\n').slice(2)).toEqual([
      '      + command = ["sleep", "1"]',
      '      + cpus    = 0.5',
      '      + env:',
      '          A: "1"',
      '      + health:',
      '          test:',
      '            - CMD',
      '            - "true"',
      '          interval: 90s',
      '          timeout: 5s',
      '          retries: 3',
      '          start_period: 0s',
      '      + image   = "base"',
      '      + memory  = "1536m"',
      '        hardening: defaults',
    ]);
  });

  it('says how the hardening differs from the defaults', () => {
    expect(hardeningSummary(agent)).toBe('defaults');
    expect(
      hardeningSummary({...agent, pids_limit: 64, allow_root: {reason: 'legacy'}, hardening: {...agent.hardening, privileged: true}}),
    ).toBe('privileged true, pids 64, root allowed (legacy)');
  });

  it('shows a token or a stopped agent only when not the default', () => {
    const text = renderStep(
      step({address: 'agent.web', kind: 'agent', after: {...agent, running: false, token: {...agent.token, ttl_ms: 60_000}}}),
    );
    expect(text).toContain('      + running = false');
    expect(text).toContain('      + token:\n          ttl: 1m\n          scopes: []\n          audience: orchestrix');
  });
});
