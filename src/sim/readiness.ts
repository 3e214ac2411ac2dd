// Readiness of a plan: a seeded Monte Carlo estimate of how likely its apply is to succeed and
// how long it takes, from what the ledger recorded about each step kind. Pure: no I/O, no clock,
// no Math.random; identical inputs give identical output (see rng.ts for why across machines).
//
// The model, per iteration:
//  1. For each step kind in the plan (sorted by name) draw one success probability from the
//     kind's Beta posterior. One draw per kind, not per step: steps of a kind share their fate
//     (a broken image registry fails every image step), which is what the history measures.
//  2. For each step (plan order) draw three uniforms: success (u < p), and a Box–Muller pair
//     whose cosine normal gives the step's log-normal duration and whose sine normal its
//     rollback duration. They are drawn even for steps that never start, so every iteration
//     consumes exactly kinds + 3 × steps uniforms: common random numbers. With the stream
//     aligned, a history with more failures lowers every p draw (the Beta quantile at a fixed u
//     falls as beta grows) and therefore never turns a failed iteration into a success.
//  3. Schedule as the executor does (src/engine/executor.ts): `parallelism` workers; whenever
//     one is free, the first step in plan order whose dependencies all succeeded starts. After
//     a failure nothing new starts, running steps finish, dependents are skipped. Each failed
//     step counts one rollback and adds its rollback duration to the makespan (rollbacks run
//     one after another once the run has stopped).
import {createHash} from 'node:crypto';
import {
  betaParams,
  betaQuantile,
  boxMullerCos,
  boxMullerRadius,
  boxMullerSin,
  RNG_ALGORITHM,
  RNG_VERSION,
  uniformSource,
  type BetaParams,
} from './rng.js';

export interface SimStep {
  id: string;
  kind: string;
  action: string;
  depends_on: string[];
  /** a human must approve it (policy require_approval, or autonomy) */
  needs_human: boolean;
}
export interface KindHistory {
  successes: number;
  failures: number;
  /** wall time of finished steps */
  durations_ms: number[];
  /** wall time of rollback work after failures (may be empty) */
  rollback_durations_ms: number[];
}
/** key: step kind ("agent", "network", "cluster", "dr", ...) */
export type History = Record<string, KindHistory>;
export interface SimOptions {
  seed: string;
  iterations: number;
  /** how many steps run at once (the apply's --parallelism, default 10) */
  parallelism?: number;
}
export interface Readiness {
  /** share of iterations in which every step succeeded, 4 decimals */
  readinessScore: number;
  /** 0..100, 2 decimals: share of steps with needs_human false; 100 for an empty plan */
  policyPassPct: number;
  p50_ms: number;
  p95_ms: number;
  /** mean rollbacks per apply, 4 decimals */
  expectedRollbacks: number;
  /**
   * 90% credible interval of the chance the apply is clean, 4 decimals: the 5th and 95th
   * percentiles over the iterations of the product of each kind's drawn success probability
   * to the power of its step count (how sure the history lets the estimate be)
   */
  interval90: [number, number];
  seed: string;
  iterations: number;
  rng: {library: 'seedrandom'; version: string; algorithm: string};
  model: {version: string; prior: {alpha: number; beta: number}; default_duration_ms: Record<string, number>; default_sigma: number};
  /** what the model used, for review: posterior mean and median duration per kind in the plan */
  per_kind: Record<string, {p_success: number; median_ms: number}>;
}

export const DEFAULT_ITERATIONS = 1000;

export const DEFAULT_PARALLELISM = 10;

/**
 * Everything that shapes the numbers besides the inputs. `version` changes whenever the same
 * inputs would give different output (any constant here, the draw order, the scheduler).
 */
export const READINESS_MODEL = {
  version: 'orx-readiness/2',
  // Beta(9.95, 0.05): with no history a step kind is expected to succeed 99.5% of the time, and
  // the prior weighs as much as 10 runs, so ten real outcomes already count as much as the
  // guess. Calibrated on this machine's own applies (bench/readiness-calibration.mjs: busybox
  // workspaces created, updated, replaced and destroyed, every step succeeded): Beta(9, 1)
  // predicted 90% per step and 60% for a 6-step create that always applied cleanly. The small
  // beta keeps a long left tail: one failure in a few runs still moves the estimate a lot.
  prior: {alpha: 9.95, beta: 0.05},
  // Median duration of a kind with no recorded durations: typical times on a developer machine
  // (an image build is seconds, a kind cluster a minute and a half). Unknown kinds use `other`.
  default_duration_ms: {agent: 2000, cluster: 90_000, dr: 10_000, image: 5000, manifests: 2000, network: 300, other: 1000, volume: 200},
  // log-sd used with fewer than two recorded durations: a step within 0.37x..2.7x of its median 95% of the time
  default_sigma: 0.5,
} as const satisfies Readiness['model'];

// Two identical recorded durations would give sigma 0, i.e. certainty no machine has; also the
// floor for durations themselves (a 0 ms step from a clock's resolution has no logarithm).
const SIGMA_FLOOR = 0.1;
const MIN_DURATION_MS = 1;
// With no recorded rollbacks, undoing a step is taken to cost half of doing it.
const DEFAULT_ROLLBACK_FRACTION = 0.5;

/** Deterministic seed for a plan: the first 48 bits of sha256(plan id), in decimal (so `--seed N` can repeat it). */
export function defaultSeed(planId: string): string {
  return String(parseInt(createHash('sha256').update(planId, 'utf8').digest('hex').slice(0, 12), 16));
}

interface LogNormal {
  mu: number;
  sigma: number;
}

/** Fit ln d ~ N(mu, sigma); null when nothing was recorded. */
function fitLogNormal(durations: readonly number[], defaultSigma: number): LogNormal | null {
  const logs = durations.filter((d) => Number.isFinite(d) && d >= 0).map((d) => Math.log(Math.max(MIN_DURATION_MS, d)));
  if (logs.length === 0) return null;
  // sorted: the float sums below then do not depend on the order the ledger returned rows in
  logs.sort((x, y) => x - y);
  if (logs.length === 1) return {mu: logs[0], sigma: defaultSigma};
  let sum = 0;
  for (const l of logs) sum += l;
  const mu = sum / logs.length;
  let ss = 0;
  for (const l of logs) ss += (l - mu) * (l - mu);
  // sample sd (n - 1): with a handful of runs the population sd understates the spread
  return {mu, sigma: Math.max(SIGMA_FLOOR, Math.sqrt(ss / (logs.length - 1)))};
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

const count = (n: number, what: string): number => {
  if (!(Number.isFinite(n) && n >= 0)) throw new RangeError(`${what} must be a non-negative number (got ${n})`);
  return n;
};

interface KindModel {
  beta: BetaParams;
  duration: LogNormal;
  /** null: half the failed step's duration */
  rollback: LogNormal | null;
}

function kindModel(kind: string, h: KindHistory | undefined): KindModel {
  const {prior, default_duration_ms: defaults, default_sigma: sigma} = READINESS_MODEL;
  const successes = count(h?.successes ?? 0, `history.${kind}.successes`);
  const failures = count(h?.failures ?? 0, `history.${kind}.failures`);
  const median = (defaults as Record<string, number>)[kind] ?? defaults.other;
  return {
    beta: betaParams(prior.alpha + successes, prior.beta + failures),
    duration: fitLogNormal(h?.durations_ms ?? [], sigma) ?? {mu: Math.log(median), sigma},
    rollback: fitLogNormal(h?.rollback_durations_ms ?? [], sigma),
  };
}

/** The plan as arrays: dependents lists and dependency counts, checked for duplicates and cycles. */
function compileGraph(steps: readonly SimStep[]): {ndeps: Int32Array; depStart: Int32Array; depList: Int32Array} {
  const n = steps.length;
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (index.has(s.id)) throw new Error(`simulate: step id "${s.id}" appears twice`);
    index.set(s.id, i);
  });
  const ndeps = new Int32Array(n);
  const dependents: number[][] = steps.map(() => []);
  steps.forEach((s, i) => {
    // A dependency outside the list is a step that does nothing (noop steps are not simulated):
    // it is satisfied from the start. Repeated ids count once.
    for (const d of new Set(s.depends_on)) {
      const j = index.get(d);
      if (j === undefined) continue;
      ndeps[i]++;
      dependents[j].push(i);
    }
  });
  const depStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) depStart[i + 1] = depStart[i] + dependents[i].length;
  const depList = new Int32Array(depStart[n]);
  for (let i = 0; i < n; i++) depList.set(dependents[i], depStart[i]);
  // Kahn's algorithm once, so the loop below can trust every step eventually becomes ready
  const left = ndeps.slice();
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (left[i] === 0) queue.push(i);
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q];
    for (let k = depStart[s]; k < depStart[s + 1]; k++) if (--left[depList[k]] === 0) queue.push(depList[k]);
  }
  if (queue.length < n) {
    const stuck = steps.filter((_, i) => left[i] > 0).map((s) => s.id);
    throw new Error(`simulate: the steps' dependencies form a cycle (${stuck.slice(0, 5).join(', ')}${stuck.length > 5 ? ', ...' : ''})`);
  }
  return {ndeps, depStart, depList};
}

export function simulate(steps: SimStep[], history: History, opts: SimOptions): Readiness {
  const {seed, iterations} = opts;
  const parallelism = opts.parallelism ?? DEFAULT_PARALLELISM;
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new RangeError(`simulate: iterations must be a positive integer (got ${iterations})`);
  if (!Number.isInteger(parallelism) || parallelism < 1)
    throw new RangeError(`simulate: parallelism must be a positive integer (got ${parallelism})`);
  if (typeof seed !== 'string') throw new TypeError('simulate: seed must be a string');

  const n = steps.length;
  const kinds = [...new Set(steps.map((s) => s.kind))].sort();
  const kindIndex = new Map(kinds.map((k, i) => [k, i]));
  const models = kinds.map((k) => kindModel(k, Object.hasOwn(history, k) ? history[k] : undefined));
  const stepKind = Int32Array.from(steps, (s) => kindIndex.get(s.kind)!);
  const {ndeps, depStart, depList} = compileGraph(steps);
  const mu = Float64Array.from(steps, (s) => models[kindIndex.get(s.kind)!].duration.mu);
  const sigma = Float64Array.from(steps, (s) => models[kindIndex.get(s.kind)!].duration.sigma);

  const next = uniformSource(seed);
  const p = new Float64Array(kinds.length);
  const uOk = new Float64Array(n);
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  const dur = new Float64Array(n);
  const pending = new Int32Array(n);
  // ready steps: a min-heap of plan indices (the executor starts the first ready one in plan order)
  const ready = new Int32Array(n);
  // running steps: a min-heap on (finish time, index)
  const runAt = new Float64Array(Math.min(n, parallelism));
  const runIdx = new Int32Array(Math.min(n, parallelism));
  const makespans = new Float64Array(iterations);
  const perKind = new Float64Array(kinds.length);
  for (let i = 0; i < n; i++) perKind[stepKind[i]]++;
  const clean = new Float64Array(iterations);
  let succeeded = 0;
  let rollbacks = 0;

  for (let it = 0; it < iterations; it++) {
    for (let k = 0; k < kinds.length; k++) p[k] = betaQuantile(next(), models[k].beta);
    let c = 1;
    for (let k = 0; k < kinds.length; k++) c *= p[k] ** perKind[k];
    clean[it] = c;
    for (let i = 0; i < n; i++) {
      uOk[i] = next();
      u1[i] = next();
      u2[i] = next();
    }
    pending.set(ndeps);
    let nReady = 0;
    for (let i = 0; i < n; i++) if (ndeps[i] === 0) ready[nReady++] = i; // ascending: already a heap
    let nRun = 0;
    let now = 0;
    let stopped = false;
    let rollbackMs = 0;
    let failedSteps = 0;
    for (;;) {
      while (!stopped && nRun < parallelism && nReady > 0) {
        const s = ready[0];
        ready[0] = ready[--nReady]!;
        siftDownInt(ready, nReady, 0);
        const d = Math.exp(mu[s] + sigma[s] * boxMullerCos(boxMullerRadius(u1[s]), u2[s]));
        dur[s] = d;
        pushRun(runAt, runIdx, nRun++, now + d, s);
      }
      if (nRun === 0) break;
      const s = runIdx[0];
      now = runAt[0]!;
      nRun--;
      if (nRun > 0) {
        runAt[0] = runAt[nRun]!;
        runIdx[0] = runIdx[nRun]!;
        siftDownRun(runAt, runIdx, nRun, 0);
      }
      const k = stepKind[s];
      if (uOk[s] < p[k]) {
        for (let e = depStart[s]; e < depStart[s + 1]; e++) {
          const c = depList[e];
          if (--pending[c] === 0) pushInt(ready, nReady++, c);
        }
      } else {
        stopped = true;
        failedSteps++;
        const rb = models[k].rollback;
        rollbackMs += rb ? Math.exp(rb.mu + rb.sigma * boxMullerSin(boxMullerRadius(u1[s]), u2[s])) : DEFAULT_ROLLBACK_FRACTION * dur[s];
      }
    }
    if (failedSteps === 0) succeeded++;
    rollbacks += failedSteps;
    makespans[it] = now + rollbackMs;
  }

  makespans.sort();
  clean.sort();
  const rank = (q: number): number => Math.max(0, Math.ceil(q * iterations) - 1);
  // nearest rank: the smallest value with at least q of the iterations at or below it
  const quantile = (q: number): number => Math.round(makespans[Math.max(0, Math.ceil(q * iterations) - 1)]);
  const auto = steps.filter((s) => !s.needs_human).length;
  const per_kind: Readiness['per_kind'] = {};
  kinds.forEach((k, i) => {
    const {beta, duration} = models[i];
    per_kind[k] = {p_success: round(beta.a / (beta.a + beta.b), 4), median_ms: Math.round(Math.exp(duration.mu))};
  });
  const {version, prior, default_duration_ms, default_sigma} = READINESS_MODEL;
  return {
    readinessScore: round(succeeded / iterations, 4),
    policyPassPct: n === 0 ? 100 : Math.round((10_000 * auto) / n) / 100,
    p50_ms: quantile(0.5),
    p95_ms: quantile(0.95),
    expectedRollbacks: round(rollbacks / iterations, 4),
    interval90: [round(clean[rank(0.05)], 4), round(clean[rank(0.95)], 4)],
    seed,
    iterations,
    rng: {library: 'seedrandom', version: RNG_VERSION, algorithm: RNG_ALGORITHM},
    model: {version, prior: {...prior}, default_duration_ms: {...default_duration_ms}, default_sigma},
    per_kind,
  };
}

// ---- heaps on typed arrays (no allocation inside the loop) ---------------------------------

function pushInt(h: Int32Array, size: number, v: number): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (h[parent] <= v) break;
    h[i] = h[parent]!;
    i = parent;
  }
  h[i] = v;
}

function siftDownInt(h: Int32Array, size: number, start: number): void {
  const v = h[start];
  let i = start;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    if (c + 1 < size && h[c + 1] < h[c]) c++;
    if (h[c] >= v) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = v;
}

// ties on finish time go to the lower plan index, so the order of events never depends on the heap's shape
const before = (t1: number, i1: number, t2: number, i2: number): boolean => t1 < t2 || (t1 === t2 && i1 < i2);

function pushRun(at: Float64Array, idx: Int32Array, size: number, t: number, s: number): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(t, s, at[parent], idx[parent])) break;
    at[i] = at[parent]!;
    idx[i] = idx[parent]!;
    i = parent;
  }
  at[i] = t;
  idx[i] = s;
}

function siftDownRun(at: Float64Array, idx: Int32Array, size: number, start: number): void {
  const t = at[start];
  const s = idx[start];
  let i = start;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    if (c + 1 < size && before(at[c + 1], idx[c + 1], at[c], idx[c])) c++;
    if (!before(at[c], idx[c], t, s)) break;
    at[i] = at[c]!;
    idx[i] = idx[c]!;
    i = c;
  }
  at[i] = t;
  idx[i] = s;
}
