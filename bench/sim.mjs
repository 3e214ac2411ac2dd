// The readiness simulation: simulate() of a synthetic 200-step plan (networks, volumes, images,
// a cluster and its manifests, agents depending on them and on each other) with a realistic
// ledger history, 1000 iterations; goal: under 300 ms. The floor, measured in the same run, is
// a plain loop drawing the same number of uniforms from the same generator (seedrandom alea):
// what any simulation with this many random draws costs before it does anything with them.
// Run `npm run build` first.
// Usage: node bench/sim.mjs [STEPS=200] [ITERATIONS=1000] [ROUNDS=5]
// (ORX_DIST=DIR uses another build of dist/.)
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import seedrandom from 'seedrandom';
import {median, root} from './lib.mjs';

const STEPS = Number(process.argv[2] ?? 200);
const ITERATIONS = Number(process.argv[3] ?? 1000);
const ROUNDS = Number(process.argv[4] ?? 5);
const BUDGET_MS = 300;
const distDir = process.env.ORX_DIST ?? path.join(root, 'dist');
const {simulate} = await import(pathToFileURL(path.join(distDir, 'src/sim/readiness.js')).href);

function makePlan(n) {
  const steps = [];
  const add = (id, kind, depends_on = [], needs_human = false) => steps.push({id, kind, action: 'create', depends_on, needs_human});
  const nets = Math.max(1, Math.round(n * 0.04));
  const vols = Math.max(1, Math.round(n * 0.04));
  const imgs = Math.max(1, Math.round(n * 0.02));
  for (let i = 0; i < nets; i++) add(`network.n${i}`, 'network');
  for (let i = 0; i < vols; i++) add(`volume.v${i}`, 'volume');
  for (let i = 0; i < imgs; i++) add(`image.i${i}`, 'image');
  add('cluster.dev', 'cluster', [], true);
  add('manifests.base', 'manifests', ['cluster.dev'], true);
  for (let i = 0; steps.length < n; i++) {
    const deps = [`network.n${i % nets}`, `volume.v${i % vols}`, `image.i${i % imgs}`];
    if (i >= 10 && i % 5 === 0) deps.push(`agent.a${i - 10}`); // some agents wait for others
    add(`agent.a${i}`, 'agent', deps, i % 4 === 0);
  }
  return steps;
}

// A workspace applied many times and rarely failing: most iterations then run all the steps,
// the costly case (a failure stops the schedule early). Durations are scattered around a median
// by a fixed generator, so every run times the same history.
function makeHistory() {
  const rnd = seedrandom.alea('bench-history');
  const around = (median, k) => Array.from({length: k}, () => Math.round(median * Math.exp(0.4 * (rnd() + rnd() + rnd() - 1.5))));
  const kind = (successes, failures, median, k, rollbackMedian = 0) => ({
    successes,
    failures,
    durations_ms: around(median, k),
    rollback_durations_ms: rollbackMedian ? around(rollbackMedian, 5) : [],
  });
  return {
    agent: kind(2400, 3, 1800, 60, 900),
    cluster: kind(40, 0, 85_000, 10),
    image: kind(300, 1, 4500, 40, 200),
    manifests: kind(120, 0, 2500, 20),
    network: kind(900, 0, 280, 60),
    volume: kind(700, 0, 190, 60),
  };
}

const steps = makePlan(STEPS);
const history = makeHistory();
const kinds = new Set(steps.map((s) => s.kind)).size;
const draws = ITERATIONS * (kinds + 3 * STEPS);

// the floor: the same number of uniforms, summed so the loop cannot be optimised away
function floorLoop() {
  const next = seedrandom.alea('floor');
  let sum = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < draws; i++) sum += next();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!(sum > 0)) throw new Error('floor loop drew nothing');
  return ms;
}

function run(seed) {
  const t0 = process.hrtime.bigint();
  const r = simulate(steps, history, {seed, iterations: ITERATIONS, parallelism: 10});
  return {ms: Number(process.hrtime.bigint() - t0) / 1e6, r};
}

// warm-up: JIT both loops before the clock counts
floorLoop();
const warm = run('warm-up');
const floors = [];
const sims = [];
for (let k = 0; k < ROUNDS; k++) {
  floors.push(floorLoop());
  sims.push(run(`bench-${k}`).ms);
}
const floor = median(floors);
const ms = median(sims);
const fmt = (x) => x.toLocaleString('en-US');
console.log(`readiness simulation: ${STEPS} steps (${kinds} kinds), ${fmt(ITERATIONS)} iterations, median of ${ROUNDS} after a warm-up`);
console.log(
  `  (readiness ${warm.r.readinessScore}, p50 ${fmt(warm.r.p50_ms)} ms, p95 ${fmt(warm.r.p95_ms)} ms, ${warm.r.expectedRollbacks} rollbacks/apply)`,
);
console.log(`${`floor: ${fmt(draws)} alea draws`.padEnd(44)} ${floor.toFixed(1).padStart(7)} ms`);
console.log(
  `${`simulate ${STEPS} steps x ${ITERATIONS} iterations`.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms  = ${(ms / BUDGET_MS).toFixed(2)}× the ${BUDGET_MS} ms budget${ms < BUDGET_MS ? '  ok' : '  MISSED'} (${(ms / floor).toFixed(1)}× the floor)`,
);
