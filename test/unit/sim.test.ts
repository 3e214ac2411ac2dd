import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import fc from 'fast-check';
import {afterEach, describe, expect, it, vi} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {kindOf, stepHistory} from '../../src/sim/history.js';
import {
  DEFAULT_ITERATIONS,
  defaultSeed,
  READINESS_MODEL,
  simulate,
  type History,
  type KindHistory,
  type SimStep,
} from '../../src/sim/readiness.js';
import {betaCdf, betaParams, betaQuantile, RNG_VERSION} from '../../src/sim/rng.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '../fixtures/sim');
const readJson = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')) as T;
const HISTORY = readJson<History>('history.json');
const PLAN = readJson<SimStep[]>('plan.json');

const kh = (successes: number, failures: number, durations_ms: number[] = [], rollback_durations_ms: number[] = []): KindHistory => ({
  successes,
  failures,
  durations_ms,
  rollback_durations_ms,
});
const step = (id: string, depends_on: string[] = [], needs_human = false): SimStep => ({
  id,
  kind: id.split('.')[0],
  action: 'create',
  depends_on,
  needs_human,
});
/** Monte Carlo tolerance: k standard errors of a share q estimated from n iterations */
const mcTol = (q: number, n: number, k = 4): number => k * Math.sqrt((q * (1 - q)) / n);

// certain outcomes: a million recorded runs swamp the Beta(9, 1) prior
const ALWAYS = (ms: number): KindHistory => kh(1e6, 0, [ms, ms]);
const NEVER = (ms: number, rollback: number[] = []): KindHistory => kh(0, 1e6, [ms, ms], rollback);

describe('simulate: determinism', () => {
  it('gives deep-equal output for the same input, also from a fresh module instance', async () => {
    const a = simulate(PLAN, HISTORY, {seed: '42', iterations: 500});
    const b = simulate(structuredClone(PLAN), structuredClone(HISTORY), {seed: '42', iterations: 500});
    expect(b).toEqual(a);
    vi.resetModules();
    const fresh = await import('../../src/sim/readiness.js');
    expect(fresh.simulate(PLAN, HISTORY, {seed: '42', iterations: 500})).toEqual(a);
    expect(JSON.stringify(fresh.simulate(PLAN, HISTORY, {seed: '42', iterations: 500}))).toBe(JSON.stringify(a));
  });

  it('does not depend on the key order of the history', () => {
    const reversed = Object.fromEntries(Object.entries(HISTORY).reverse());
    expect(simulate(PLAN, reversed, {seed: '7', iterations: 300})).toEqual(simulate(PLAN, HISTORY, {seed: '7', iterations: 300}));
  });

  it('gives different numbers for different seeds', () => {
    const a = simulate(PLAN, HISTORY, {seed: '1', iterations: 1000});
    const b = simulate(PLAN, HISTORY, {seed: '2', iterations: 1000});
    expect([a.readinessScore, a.p50_ms, a.p95_ms, a.expectedRollbacks]).not.toEqual([
      b.readinessScore,
      b.p50_ms,
      b.p95_ms,
      b.expectedRollbacks,
    ]);
    expect(a.p50_ms).not.toBe(b.p50_ms);
  });

  it('records the seed, iterations, generator and model', () => {
    const r = simulate(PLAN, HISTORY, {seed: 'abc', iterations: 10});
    const installed = readJsonFile<{version: string}>(path.join(here, '../../node_modules/seedrandom/package.json'));
    expect(r.seed).toBe('abc');
    expect(r.iterations).toBe(10);
    expect(r.rng).toEqual({library: 'seedrandom', version: installed.version, algorithm: 'alea'});
    expect(RNG_VERSION).toBe('3.0.5');
    expect(r.model).toEqual({
      version: READINESS_MODEL.version,
      prior: {alpha: 9.95, beta: 0.05},
      default_duration_ms: READINESS_MODEL.default_duration_ms,
      default_sigma: 0.5,
    });
    // per kind, sorted; manifests has no history: the prior's mean and the default median
    expect(Object.keys(r.per_kind)).toEqual(['agent', 'cluster', 'image', 'manifests', 'network', 'volume']);
    expect(r.per_kind.manifests).toEqual({p_success: 0.995, median_ms: 2000});
    expect(r.per_kind.network.p_success).toBe(0.9988); // (9.95 + 31) / (10 + 31)
    expect(r.per_kind.volume).toEqual({p_success: 0.9543, median_ms: 180}); // one duration: it is the median
  });

  it('derives the default seed from the plan id, as a decimal that --seed can repeat', () => {
    expect(defaultSeed('plan-0lq8x2a9b123456')).toBe(defaultSeed('plan-0lq8x2a9b123456'));
    expect(defaultSeed('plan-a')).not.toBe(defaultSeed('plan-b'));
    expect(defaultSeed('plan-a')).toMatch(/^\d{1,15}$/);
    expect(String(Number(defaultSeed('plan-a')))).toBe(defaultSeed('plan-a'));
    expect(DEFAULT_ITERATIONS).toBe(1000);
  });
});

function readJsonFile<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

describe('simulate: regression baseline (fixtures, seed 42, 1000 iterations)', () => {
  // Regenerate deliberately, after a model change, with:
  //   UPDATE_BASELINE=1 npx vitest run test/unit/sim.test.ts
  // and bump READINESS_MODEL.version when the numbers change.
  const file = path.join(fixtures, 'expected.json');
  const r = simulate(PLAN, HISTORY, {seed: '42', iterations: 1000});
  const got = {
    model_version: r.model.version,
    readinessScore: r.readinessScore,
    policyPassPct: r.policyPassPct,
    p50_ms: r.p50_ms,
    p95_ms: r.p95_ms,
    expectedRollbacks: r.expectedRollbacks,
  };

  it.runIf(process.env.UPDATE_BASELINE === '1')('writes expected.json (UPDATE_BASELINE=1)', () => {
    const how =
      'UPDATE_BASELINE=1 npx vitest run test/unit/sim.test.ts: simulate(plan.json, history.json, {seed: "42", iterations: 1000}), parallelism 10';
    fs.writeFileSync(file, JSON.stringify({_how: how, ...got}, null, 2) + '\n');
  });

  it('matches the recorded values within tolerance', () => {
    expect(fs.existsSync(file), `${file} is missing: generate it with UPDATE_BASELINE=1`).toBe(true);
    const want = readJsonFile<typeof got>(file);
    expect(got.model_version, 'the model changed: regenerate the baseline deliberately').toBe(want.model_version);
    expect(Math.abs(got.readinessScore - want.readinessScore)).toBeLessThanOrEqual(0.001);
    expect(Math.abs(got.policyPassPct - want.policyPassPct)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(got.p50_ms - want.p50_ms)).toBeLessThanOrEqual(1);
    expect(Math.abs(got.p95_ms - want.p95_ms)).toBeLessThanOrEqual(1);
    expect(Math.abs(got.expectedRollbacks - want.expectedRollbacks)).toBeLessThanOrEqual(0.001);
    expect(got.policyPassPct).toBe(75); // 9 of the 12 steps need no human
  });
});

describe('simulate: analytic checks', () => {
  it('a step with a huge history of successes is ready', () => {
    const r = simulate([step('agent.a')], {agent: kh(1e6, 0)}, {seed: 's', iterations: 1000});
    expect(r.readinessScore).toBeGreaterThanOrEqual(0.999);
    expect(r.expectedRollbacks).toBeLessThanOrEqual(0.001);
  });

  it('one step of a kind with 900 successes and 100 failures: readiness ≈ 0.9', () => {
    // posterior Beta(909, 101) has mean exactly 0.9, and each iteration draws p afresh
    const r = simulate([step('agent.a')], {agent: kh(900, 100)}, {seed: 'one', iterations: 20_000});
    expect(Math.abs(r.readinessScore - 0.9)).toBeLessThanOrEqual(mcTol(0.9, 20_000));
    expect(Math.abs(r.expectedRollbacks - 0.1)).toBeLessThanOrEqual(mcTol(0.1, 20_000));
  });

  it('two independent steps of different kinds: readiness ≈ the product', () => {
    const r = simulate([step('agent.a'), step('image.b')], {agent: kh(900, 100), image: kh(800, 200)}, {seed: 'two', iterations: 20_000});
    // 0.9 × 808/1010
    expect(Math.abs(r.readinessScore - 0.72)).toBeLessThanOrEqual(mcTol(0.72, 20_000));
  });

  it('a kind with no history gets the prior: readiness ≈ 0.995', () => {
    const r = simulate([step('cluster.dev')], {}, {seed: 'prior', iterations: 20_000});
    expect(Math.abs(r.readinessScore - 0.995)).toBeLessThanOrEqual(mcTol(0.995, 20_000));
    expect(r.per_kind.cluster).toEqual({p_success: 0.995, median_ms: 90_000});
  });

  it('a failing first step skips its dependents: one rollback, the makespan is the step plus half of it', () => {
    const plan = [step('image.base'), step('agent.a', ['image.base']), step('agent.b', ['image.base'])];
    const r = simulate(plan, {image: NEVER(100), agent: NEVER(5000)}, {seed: 'x', iterations: 2000});
    expect(r.readinessScore).toBe(0);
    expect(r.expectedRollbacks).toBe(1);
    // 100 ms (sigma floor 0.1) + the default rollback, half of it; the agents never ran
    expect(r.p50_ms).toBeGreaterThanOrEqual(120);
    expect(r.p95_ms).toBeLessThanOrEqual(200);
  });

  it('after a failure running steps finish and nothing new starts', () => {
    const plan = [step('image.fails'), step('volume.slow'), step('agent.never')];
    const history = {image: NEVER(100), volume: ALWAYS(10_000), agent: NEVER(100)};
    const two = simulate(plan, history, {seed: 'p', iterations: 1000, parallelism: 2});
    // the agent step would fail too if it started: one rollback means it never did
    expect(two.expectedRollbacks).toBe(1);
    expect(two.p50_ms).toBeGreaterThanOrEqual(9000); // the volume step ran to its end
    const three = simulate(plan, history, {seed: 'p', iterations: 1000, parallelism: 3});
    expect(three.expectedRollbacks).toBe(2);
  });

  it('uses the recorded rollback durations when there are some', () => {
    const r = simulate([step('agent.a')], {agent: NEVER(100, [5000, 5200, 4800])}, {seed: 'rb', iterations: 1000});
    expect(r.p50_ms).toBeGreaterThanOrEqual(4500);
    expect(r.p50_ms).toBeLessThanOrEqual(5800);
  });

  it('schedules on `parallelism` workers', () => {
    const plan = Array.from({length: 10}, (_, i) => step(`agent.a${i}`));
    const history = {agent: ALWAYS(1000)};
    const serial = simulate(plan, history, {seed: 'w', iterations: 500, parallelism: 1});
    const wide = simulate(plan, history, {seed: 'w', iterations: 500});
    expect(serial.p50_ms).toBeGreaterThan(9000);
    expect(serial.p50_ms).toBeLessThan(11_000);
    expect(wide.p50_ms).toBeGreaterThan(1000);
    expect(wide.p50_ms).toBeLessThan(1500);
    // a chain is serial whatever the parallelism
    const chain = plan.map((s, i) => ({...s, depends_on: i ? [plan[i - 1].id] : []}));
    expect(simulate(chain, history, {seed: 'w', iterations: 500}).p50_ms).toBeGreaterThan(9000);
  });

  it('takes the plan order as given, dependencies may point forward, and unknown ones are already met', () => {
    const plan = [step('agent.a', ['network.n']), step('network.n'), step('volume.v', ['volume.noop-was-filtered'])];
    const r = simulate(plan, {agent: ALWAYS(1000), network: ALWAYS(300), volume: ALWAYS(200)}, {seed: 'o', iterations: 200});
    expect(r.readinessScore).toBe(1);
    expect(r.p50_ms).toBeGreaterThan(1100); // network then agent
  });

  it('an empty plan is ready and takes no time', () => {
    const r = simulate([], HISTORY, {seed: 'e', iterations: 10});
    expect(r).toMatchObject({readinessScore: 1, policyPassPct: 100, p50_ms: 0, p95_ms: 0, expectedRollbacks: 0, per_kind: {}});
  });

  it('refuses cycles, duplicate ids and bad options', () => {
    expect(() => simulate([step('agent.a', ['agent.b']), step('agent.b', ['agent.a'])], {}, {seed: 'c', iterations: 1})).toThrow(/cycle/);
    expect(() => simulate([step('agent.a'), step('agent.a')], {}, {seed: 'c', iterations: 1})).toThrow(/twice/);
    expect(() => simulate(PLAN, HISTORY, {seed: 'c', iterations: 0})).toThrow(RangeError);
    expect(() => simulate(PLAN, HISTORY, {seed: 'c', iterations: 1.5})).toThrow(RangeError);
    expect(() => simulate(PLAN, HISTORY, {seed: 'c', iterations: 1, parallelism: 0})).toThrow(RangeError);
    expect(() => simulate(PLAN, {agent: kh(-1, 0)}, {seed: 'c', iterations: 1})).toThrow(RangeError);
  });
});

describe('Beta quantiles (rng.ts)', () => {
  it('invert the CDF, including far tails and large histories', () => {
    for (const [a, b] of [
      [9, 1],
      [909, 101],
      [1e6 + 9, 1],
      [10, 1e6 + 1],
      [0.5, 0.5],
      [2, 3],
    ] as const) {
      const p = betaParams(a, b);
      let last = 0;
      for (const u of [1e-9, 1e-6, 0.001, 0.05, 0.5, 0.95, 0.999, 1 - 1e-6, 1 - 1e-9]) {
        const x = betaQuantile(u, p);
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThanOrEqual(1);
        expect(x).toBeGreaterThanOrEqual(last);
        last = x;
        // relative 1e-8, or a few ulps of x: near x = 1 with a million successes one ulp of x
        // moves the CDF by ~1e-10, which is all double precision allows there
        const slack = 4 * Number.EPSILON * x * Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - p.lnB);
        expect(Math.abs(betaCdf(x, p) - u)).toBeLessThanOrEqual(Math.max(1e-8 * Math.min(u, 1 - u), slack));
      }
    }
  });

  it('average to the Beta mean over a uniform grid', () => {
    const p = betaParams(909, 101);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += betaQuantile((i + 0.5) / 10_000, p);
    expect(sum / 10_000).toBeCloseTo(0.9, 6);
  });

  it('fall as failures (beta) grow, at every u', () => {
    fc.assert(
      fc.property(
        fc.double({min: 1e-6, max: 1 - 1e-6, noNaN: true}),
        fc.integer({min: 0, max: 500}),
        fc.integer({min: 0, max: 100}),
        fc.integer({min: 1, max: 50}),
        (u, s, f, more) => {
          expect(betaQuantile(u, betaParams(9 + s, 1 + f + more))).toBeLessThanOrEqual(betaQuantile(u, betaParams(9 + s, 1 + f)));
        },
      ),
    );
  });
});

// ---- properties ---------------------------------------------------------------------------

const KINDS = ['agent', 'dr', 'image', 'network', 'volume'] as const;

const planArb = fc
  .array(fc.record({kind: fc.constantFrom(...KINDS), needs_human: fc.boolean(), deps: fc.array(fc.nat(), {maxLength: 3})}), {maxLength: 14})
  .map((rows) =>
    rows.map((r, i): SimStep => ({
      id: `${r.kind}.s${i}`,
      kind: r.kind,
      action: 'create',
      needs_human: r.needs_human,
      // only on earlier steps: a DAG
      depends_on: i === 0 ? [] : r.deps.map((d) => `${rows[d % i].kind}.s${d % i}`),
    })),
  );

const kindHistoryArb = fc.record({
  successes: fc.integer({min: 0, max: 300}),
  failures: fc.integer({min: 0, max: 60}),
  durations_ms: fc.array(fc.integer({min: 0, max: 200_000}), {maxLength: 8}),
  rollback_durations_ms: fc.array(fc.integer({min: 0, max: 50_000}), {maxLength: 3}),
});
const historyArb = fc.dictionary(fc.constantFrom(...KINDS), kindHistoryArb) as fc.Arbitrary<History>;
const seedArb = fc.string({maxLength: 12});

describe('simulate: properties', () => {
  it('more recorded failures of a kind never raise readiness (same seed and iterations)', () => {
    // Exact, not statistical: every iteration draws the same uniforms whatever the history
    // (common random numbers), and p for the kind is the Beta quantile at its uniform, which
    // falls as failures grow; an iteration succeeds iff every step's uniform is below its p.
    fc.assert(
      fc.property(
        planArb,
        historyArb,
        fc.constantFrom(...KINDS),
        fc.integer({min: 1, max: 100}),
        seedArb,
        (plan, history, kind, more, seed) => {
          const base = history[kind] ?? kh(0, 0);
          const worse = {...history, [kind]: {...base, failures: base.failures + more}};
          const opts = {seed, iterations: 300};
          expect(simulate(plan, worse, opts).readinessScore).toBeLessThanOrEqual(simulate(plan, history, opts).readinessScore);
        },
      ),
      {numRuns: 150},
    );
  });

  it('more recorded successes of a kind never lower readiness', () => {
    fc.assert(
      fc.property(
        planArb,
        historyArb,
        fc.constantFrom(...KINDS),
        fc.integer({min: 1, max: 500}),
        seedArb,
        (plan, history, kind, more, seed) => {
          const base = history[kind] ?? kh(0, 0);
          const better = {...history, [kind]: {...base, successes: base.successes + more}};
          const opts = {seed, iterations: 300};
          expect(simulate(plan, better, opts).readinessScore).toBeGreaterThanOrEqual(simulate(plan, history, opts).readinessScore);
        },
      ),
      {numRuns: 100},
    );
  });

  it('more iterations converge', () => {
    // With one seed, n iterations are the first n of the longer run, so the difference to the
    // N-iteration estimate has variance q(1 - q)(1/n - 1/N): bound it by 5 standard errors, and
    // check the error shrinks on average from 250 to 4000 iterations.
    const N = 16_000;
    const err250: number[] = [];
    const err4000: number[] = [];
    fc.assert(
      fc.property(seedArb, (seed) => {
        const ref = simulate(PLAN, HISTORY, {seed, iterations: N}).readinessScore;
        for (const [n, errs] of [
          [250, err250],
          [4000, err4000],
        ] as const) {
          const e = Math.abs(simulate(PLAN, HISTORY, {seed, iterations: n}).readinessScore - ref);
          errs.push(e);
          expect(e).toBeLessThanOrEqual(5 * Math.sqrt(ref * (1 - ref) * (1 / n - 1 / N)) + 1e-4);
        }
      }),
      {numRuns: 25},
    );
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(err4000)).toBeLessThan(mean(err250));
  });

  it('policyPassPct is the share of steps needing no human; p50 ≤ p95', () => {
    fc.assert(
      fc.property(planArb, historyArb, seedArb, fc.integer({min: 1, max: 12}), (plan, history, seed, parallelism) => {
        const r = simulate(plan, history, {seed, iterations: 50, parallelism});
        const auto = plan.filter((s) => !s.needs_human).length;
        expect(r.policyPassPct).toBe(plan.length ? Math.round((10_000 * auto) / plan.length) / 100 : 100);
        expect(Number.isInteger(r.p50_ms) && Number.isInteger(r.p95_ms)).toBe(true);
        expect(r.p50_ms).toBeGreaterThanOrEqual(0);
        expect(r.p50_ms).toBeLessThanOrEqual(r.p95_ms);
        expect(r.readinessScore).toBeGreaterThanOrEqual(0);
        expect(r.readinessScore).toBeLessThanOrEqual(1);
        expect(r.expectedRollbacks).toBeLessThanOrEqual(plan.length);
        if (r.readinessScore === 1) expect(r.expectedRollbacks).toBe(0);
      }),
      {numRuns: 150},
    );
  });
});

// ---- ledger history -------------------------------------------------------------------------

describe('stepHistory', () => {
  const dirs: string[] = [];
  const ledgers: Ledger[] = [];
  afterEach(() => {
    for (const l of ledgers.splice(0)) l.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
  });
  function openLedger(): Ledger {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-sim-'));
    dirs.push(dir);
    const l = Ledger.open(dir);
    ledgers.push(l);
    return l;
  }

  const T0 = Date.parse('2025-01-01T00:00:00.000Z');
  let clock = 0;
  /** a step row with the given wall time; the ledger stamps real time, so it is set afterwards */
  function record(
    l: Ledger,
    runId: string,
    address: string,
    action: string,
    status: 'succeeded' | 'failed' | 'skipped' | 'running',
    ms: number,
    category?: string,
  ) {
    const s = l.startStep({run_id: runId, address, action, idempotency_key: `${runId}/${address}/${action}/${clock}`, category});
    if (status !== 'running') l.finishStep({step_id: s.id, status});
    const start = T0 + 1000 * clock++;
    rawSqlite(l)
      .prepare('UPDATE steps SET started_at = ?, finished_at = ? WHERE id = ?')
      .run(new Date(start).toISOString(), status === 'running' ? null : new Date(start + ms).toISOString(), s.id);
  }
  const run = (l: Ledger, kind: string, mode: 'APPLY' | 'PLAN' = 'APPLY') => l.startRun({kind, mode, autonomy: 1, actor: 'test'}).id;

  it('is empty for a fresh ledger', () => {
    expect(stepHistory(openLedger())).toEqual({});
  });

  it('counts outcomes and wall times per kind, and ignores what did not run', () => {
    const l = openLedger();
    const apply = run(l, 'apply');
    record(l, apply, 'network.backplane', 'create', 'succeeded', 300);
    record(l, apply, 'agent.web', 'create', 'succeeded', 2000);
    record(l, apply, 'agent.api', 'update', 'failed', 1500);
    record(l, apply, 'agent.idle', 'noop', 'succeeded', 3);
    record(l, apply, 'agent.late', 'create', 'skipped', 0);
    record(l, apply, 'agent.stuck', 'create', 'running', 0);
    record(l, apply, 'agent.web', 'update', 'succeeded', 700, 'ROLLBACK');
    const again = run(l, 'apply');
    record(l, again, 'agent.api', 'update', 'succeeded', 1800);
    record(l, again, 'manifests.dev-base', 'create', 'failed', 4000);
    const backup = run(l, 'backup');
    record(l, backup, 'backup.memory', 'create', 'succeeded', 9000);
    record(l, backup, 'backup.manifest', 'create', 'succeeded', 150);
    const restore = run(l, 'restore');
    record(l, restore, 'restore.check', 'create', 'failed', 50);
    // a PLAN run executes nothing
    record(l, run(l, 'apply', 'PLAN'), 'volume.memory', 'create', 'succeeded', 10);

    const h = stepHistory(l);
    expect(Object.keys(h)).toEqual(['agent', 'dr', 'manifests', 'network']);
    expect(h.agent).toEqual({successes: 2, failures: 1, durations_ms: [2000, 1500, 1800], rollback_durations_ms: [700]});
    expect(h.dr).toEqual({successes: 2, failures: 1, durations_ms: [9000, 150, 50], rollback_durations_ms: []});
    expect(h.manifests).toEqual({successes: 0, failures: 1, durations_ms: [4000], rollback_durations_ms: []});
    expect(h.network).toEqual({successes: 1, failures: 0, durations_ms: [300], rollback_durations_ms: []});

    // and it feeds the simulation directly
    const r = simulate([step('agent.x'), step('network.n')], h, {seed: 'h', iterations: 100});
    expect(r.per_kind.agent.p_success).toBe(0.9192); // (9.95 + 2) / (10 + 3)
  });

  it('maps DR step addresses to the dr kind', () => {
    expect(kindOf('agent.web', 'apply')).toBe('agent');
    expect(kindOf('manifests.dev-base', 'apply')).toBe('manifests');
    expect(kindOf('backup.ledger', 'backup')).toBe('dr');
    expect(kindOf('restore.memory', 'restore')).toBe('dr');
    expect(kindOf('prune.20250101-000000', 'prune')).toBe('dr');
    expect(kindOf('backup.memory', 'apply')).toBe('dr');
  });
});
