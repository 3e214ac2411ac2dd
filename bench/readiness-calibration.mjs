// Calibration of the readiness prior against this machine: ROUNDS fresh workspaces, each put
// through the life a test workspace has (create AGENTS busybox agents with a network and a
// volume, change their memory in place, change their env (a replace), destroy), every apply a
// real one through the built CLI against the Docker engine. Each workspace starts with an empty
// ledger, so what readiness predicts for it is the prior alone: that is what is compared with
// what happened. Prints, per step kind, the prior's predicted success rate and the observed
// one, and per apply the prior's predicted clean-apply rate (the plan's own simulation) and
// the observed one. Bounded: at most ROUNDS rounds and MAX_SECONDS of wall time.
// Run `npm run build` first.
// Usage: node bench/readiness-calibration.mjs [ROUNDS=8] [AGENTS=3] [MAX_SECONDS=420]
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import Dockerode from 'dockerode';
import {AGENT_CMD, orxBin, removeWorkspaceObjects, root, tempWorkspace, timeProcess} from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 8);
const AGENTS = Number(process.argv[3] ?? 3);
const MAX_SECONDS = Number(process.argv[4] ?? 420);
const docker = new Dockerode();
const {READINESS_MODEL} = await import(pathToFileURL(path.join(root, 'dist/src/sim/readiness.js')).href);

const ctx = path.join(root, 'templates/images/agent-base');
const IMAGE = 'orx-bench-base:latest';
await new Promise((resolve, reject) =>
  docker.buildImage({context: ctx, src: fs.readdirSync(ctx)}, {t: IMAGE}, (err, stream) =>
    err ? reject(err) : docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve())),
  ),
);

function config(ws, memory, version) {
  let y = `workspace: ${ws.name}\nautonomy: 3\nnetworks:\n  mesh: {internal: true}\nvolumes:\n  data: {}\nimages:\n  base: {ref: "${IMAGE}"}\nagents:\n`;
  for (let k = 0; k < AGENTS; k++)
    y += `  a${k}:\n    image: base\n    command: ${JSON.stringify(AGENT_CMD)}\n    env: {VERSION: "${version}"}\n    resources: {cpus: 0.1, memory: ${memory}}\n    networks: [mesh]\n    volumes: ["data:/data"]\n`;
  fs.writeFileSync(path.join(ws.dir, 'orchestration.yml'), y);
}

function orx(ws, args) {
  const r = timeProcess(process.execPath, [orxBin, ...args, '--json'], {cwd: ws.dir, allowFail: true});
  try {
    return JSON.parse(r.stdout);
  } catch {
    return {status: 'failed', steps: [], error: r.stderr.slice(0, 500)};
  }
}

const kinds = {}; // kind -> {ok, failed}
const applies = []; // {phase, steps: {kind: n}, predicted, ok}
const started = Date.now();
const kindOf = (address) => address.slice(0, address.indexOf('.'));

for (let round = 0; round < ROUNDS && (Date.now() - started) / 1000 < MAX_SECONDS; round++) {
  const ws = tempWorkspace('bcal');
  try {
    const phases = [
      ['create', () => config(ws, '32m', 'v1'), ['plan']],
      ['update', () => config(ws, '48m', 'v1'), ['plan']],
      ['replace', () => config(ws, '48m', 'v2'), ['plan']],
      ['destroy', () => {}, ['plan', '-destroy']],
    ];
    for (const [phase, write, planArgs] of phases) {
      write();
      const planFile = path.join(ws.dir, `${phase}.json`);
      const plan = orx(ws, [...planArgs, '-out', planFile]);
      const acting = (plan.steps ?? []).filter((s) => s.action !== 'noop');
      const steps = {};
      for (const s of acting) steps[s.kind] = (steps[s.kind] ?? 0) + 1;
      // the built-in policy asks a human for every delete: recorded here as `orx approve` would
      if (phase === 'destroy') orx(ws, ['approve', planFile, '--all', '--reason', 'readiness calibration']);
      const res = orx(ws, ['apply', planFile]);
      for (const s of res.steps ?? []) {
        if (s.action === 'noop') continue;
        const k = (kinds[kindOf(s.address)] ??= {ok: 0, failed: 0});
        if (s.status === 'succeeded') k.ok++;
        else if (s.status !== 'skipped') k.failed++;
      }
      applies.push({phase, steps, predicted: plan.simulation?.readinessScore ?? NaN, ok: res.status === 'succeeded'});
      if (res.status !== 'succeeded' && process.env.CAL_DEBUG) console.error(phase, JSON.stringify(res).slice(0, 600));
    }
  } finally {
    await removeWorkspaceObjects(ws.name, docker);
    fs.rmSync(ws.dir, {recursive: true, force: true});
  }
}

// E[prod_k p_k^n_k] with p_k ~ Beta(a, b) drawn once per kind, as the simulation draws them
const applyPrediction = ({alpha, beta}, steps) => {
  let p = 1;
  for (const n of Object.values(steps)) for (let i = 0; i < n; i++) p *= (alpha + i) / (alpha + beta + i);
  return p;
};
const pct = (x) => `${(100 * x).toFixed(1)}%`.padStart(7);
const prior = READINESS_MODEL.prior;
const priorMean = prior.alpha / (prior.alpha + prior.beta);

console.log(
  `readiness calibration: ${applies.length} applies in ${Math.round((Date.now() - started) / 1000)}s, ${AGENTS} agents per workspace`,
);
console.log(`prior in dist/: Beta(${prior.alpha}, ${prior.beta}) (model ${READINESS_MODEL.version})\n`);
console.log(`${'step kind'.padEnd(12)} ${'runs'.padStart(5)} ${'predicted'.padStart(9)} ${'observed'.padStart(9)} ${'diff'.padStart(7)}`);
let worst = 0;
for (const k of Object.keys(kinds).sort()) {
  const {ok, failed} = kinds[k];
  const observed = ok / (ok + failed);
  worst = Math.max(worst, Math.abs(priorMean - observed));
  console.log(
    `${k.padEnd(12)} ${String(ok + failed).padStart(5)} ${pct(priorMean).padStart(9)} ${pct(observed).padStart(9)} ${(100 * (priorMean - observed)).toFixed(1).padStart(6)}`,
  );
}
console.log(`\n${'apply'.padEnd(12)} ${'runs'.padStart(5)} ${'predicted'.padStart(9)} ${'observed'.padStart(9)} ${'diff'.padStart(7)}`);
for (const phase of ['create', 'update', 'replace', 'destroy']) {
  const rows = applies.filter((a) => a.phase === phase);
  if (rows.length === 0) continue;
  // the plan's own Monte Carlo estimate, and the closed form of the same model as a check
  const predicted =
    rows.reduce((s, a) => s + (Number.isFinite(a.predicted) ? a.predicted : applyPrediction(prior, a.steps)), 0) / rows.length;
  const observed = rows.filter((a) => a.ok).length / rows.length;
  worst = Math.max(worst, Math.abs(predicted - observed));
  console.log(
    `${phase.padEnd(12)} ${String(rows.length).padStart(5)} ${pct(predicted).padStart(9)} ${pct(observed).padStart(9)} ${(100 * (predicted - observed)).toFixed(1).padStart(6)}`,
  );
}
console.log(
  `\nlargest difference: ${(100 * worst).toFixed(1)} points ${worst <= 0.05 ? '(within 5: calibrated)' : '(MISSED: more than 5)'}`,
);
