// Policy evaluation of a 1,000-step plan with the built-in baseline, in a workspace with no
// policies/ of its own, as orx does it twice: at plan time (decidePolicy: load, evaluate,
// waivers) and again when the plan is applied (decideAtApply, on the steps about to run), each
// against the time to make the same plan without policies (buildPlan, refresh off). Goal:
// under 200 ms each. Run `npm run build` first.
// Usage: node bench/policy.mjs [ROUNDS=5]
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {median, root, row, tempWorkspace} from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 5);
const dist = (p) => import(pathToFileURL(path.join(root, 'dist/src', p)).href);
const {buildPlan} = await dist('engine/planner.js');
const {decideAtApply, decidePolicy, loadPolicySet} = await dist('engine/policy-eval.js');
const {Ledger} = await dist('ledger/ledger.js');

const WS = 'bench';
const HARDENING = {
  read_only_rootfs: true,
  cap_drop: ['ALL'],
  no_new_privileges: true,
  seccomp: 'default',
  privileged: false,
  init: true,
  tmpfs: '/tmp',
};

// 950 desired resources (150 networks, 150 volumes, 50 images, 600 agents); 300 of them are
// recorded as they are (noop), 100 agents recorded with other limits (update), plus 50 recorded
// volumes no longer desired (delete): 1,000 steps in all.
const desired = [];
for (let k = 0; k < 150; k++)
  desired.push({
    address: `network.n${k}`,
    kind: 'network',
    name: `n${k}`,
    depends_on: [],
    attributes: {name: `orx-${WS}-n${k}`, internal: k % 10 !== 0, labels: {}},
  });
for (let k = 0; k < 150; k++)
  desired.push({
    address: `volume.v${k}`,
    kind: 'volume',
    name: `v${k}`,
    depends_on: [],
    attributes: {name: `orx-${WS}-v${k}`, labels: {}, backup: k % 2 === 0},
  });
for (let k = 0; k < 50; k++) {
  const attributes =
    k % 2 === 0
      ? {
          source: 'ref',
          ref: k % 4 === 0 ? `ghcr.io/example/tool${k}:1.${k}` : `ghcr.io/example/tool${k}@sha256:${String(k).padStart(64, '0')}`,
          id: null,
        }
      : {
          source: 'build',
          tag: `orx-${WS}-i${k}:abc${k}`,
          context: `images/i${k}`,
          context_digest: `d${k}`.padEnd(64, '0'),
          dockerfile: 'Dockerfile',
          args: {},
          user: '1000:1000',
        };
  desired.push({address: `image.i${k}`, kind: 'image', name: `i${k}`, depends_on: [], attributes});
}
for (let k = 0; k < 600; k++) {
  const net = k % 150;
  const attributes = {
    name: `orx-${WS}-a${k}`,
    image: `i${k % 50}`,
    image_ref: `orx-${WS}-i${k % 50}:abc`,
    command: ['/bin/agent', '--serve', `--id=${k}`],
    env: {LOG_LEVEL: 'info', AGENT_ID: String(k)},
    user: k % 50 === 0 ? 'root' : null,
    image_user: k % 3 === 0 ? null : '1000:1000',
    allow_root: null,
    egress: net % 10 === 0,
    cpus: k % 4 === 0 ? 0.5 : 1,
    memory_bytes: 256 * 1024 * 1024,
    pids_limit: 256,
    networks: [`orx-${WS}-n${net}`],
    mounts: [{source: `orx-${WS}-v${k % 150}`, target: '/data', read_only: false}],
    ports: [],
    health: {
      test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/healthz'],
      interval_ms: 5000,
      timeout_ms: 2000,
      retries: 3,
      start_period_ms: 0,
    },
    labels: {team: `t${k % 7}`},
    hardening: HARDENING,
    running: true,
    config_hash: `h${k}`,
  };
  desired.push({
    address: `agent.a${k}`,
    kind: 'agent',
    name: `a${k}`,
    depends_on: [`network.n${net}`, `volume.v${k % 150}`, `image.i${k % 50}`],
    attributes,
  });
}
const record = (address, kind, attributes) => ({
  address,
  kind,
  attributes,
  object_id: `id-${address}`,
  secret_fingerprints: {},
  serial: 1,
  updated_at: '',
});
const recorded = [];
for (const d of desired.filter((x) => x.kind !== 'agent').slice(0, 300)) recorded.push(record(d.address, d.kind, d.attributes));
for (const d of desired.filter((x) => x.kind === 'agent').slice(0, 100))
  recorded.push(record(d.address, d.kind, {...d.attributes, cpus: 2}));
for (let k = 0; k < 50; k++) recorded.push(record(`volume.gone${k}`, 'volume', {name: `orx-${WS}-gone${k}`, labels: {}, backup: false}));

const makePlan = () =>
  buildPlan({
    plan_id: 'plan-bench',
    mode: 'apply',
    desired,
    recorded,
    observation: null,
    knownStepKeys: new Set(),
    targets: [],
    replace: [],
  });

const timeAsync = async (fn) => {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return {ms: Number(process.hrtime.bigint() - t0) / 1e6, out};
};

const ws = tempWorkspace('policy');
fs.writeFileSync(path.join(ws.dir, 'orchestration.yml'), `workspace: ${WS}\n`);
const ledger = Ledger.open(ws.dir);
const waivers = [{rule: 'deny-root-user', address: 'agent.a0', reason: 'bench', expires: '2099-12-31'}];
const loaded = {dir: ws.dir, file: '', file_digest: '', config: {workspace: WS, autonomy: 1, waivers}};

const atPlan = async (steps) =>
  decidePolicy(await loadPolicySet(ws.dir), waivers, {kind: 'apply', steps, workspace: WS, autonomy: 1, ledger});
const atApply = async (steps) => decideAtApply(ws.dir, {kind: 'apply', policy: {decisions: []}}, steps, loaded, ledger, 1);

const {steps} = makePlan();
if (steps.length !== 1000) throw new Error(`expected 1000 steps, got ${steps.length}`);
const byAction = Object.entries(steps.reduce((m, s) => ({...m, [s.action]: (m[s.action] ?? 0) + 1}), {}))
  .map(([a, c]) => `${c} ${a}`)
  .join(', ');

const cold = await timeAsync(() => atPlan(steps)); // first call: loads the CEL stack, compiles the schema validator and every `when`
const planMs = median(
  Array.from({length: ROUNDS}, () => {
    const t0 = process.hrtime.bigint();
    makePlan();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }),
);
const planRuns = [];
const applyRuns = [];
for (let i = 0; i < ROUNDS; i++) {
  planRuns.push(await timeAsync(() => atPlan(steps)));
  applyRuns.push(await timeAsync(() => atApply(steps)));
}
const planPolicyMs = median(planRuns.map((r) => r.ms));
const applyPolicyMs = median(applyRuns.map((r) => r.ms));
const decisions = planRuns[0].out.decisions;
const same = JSON.stringify(decisions) === JSON.stringify(applyRuns[0].out.decisions);
const byEffect = Object.entries(decisions.reduce((m, d) => ({...m, [d.effect]: (m[d.effect] ?? 0) + 1}), {}))
  .map(([e, c]) => `${c} ${e}`)
  .join(', ');
ledger.close();
fs.rmSync(ws.dir, {recursive: true, force: true});

const budget = (label, ms) =>
  console.log(
    `${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms  = ${(ms / 200).toFixed(2)}× the 200 ms budget${ms < 200 ? '  ok' : '  MISSED'}`,
  );
console.log(`policy evaluation, 1,000-step plan (${byAction}), built-in baseline, no policies/ (median of ${ROUNDS}):`);
console.log(`${'buildPlan, no policies (refresh off)'.padEnd(44)} ${planMs.toFixed(0).padStart(7)} ms`);
row('at plan: load + evaluate + waivers', planPolicyMs, 'buildPlan', planMs);
row("at apply: the same again, today's rules", applyPolicyMs, 'buildPlan', planMs);
console.log(`${'  first call in the process'.padEnd(44)} ${cold.ms.toFixed(0).padStart(7)} ms`);
console.log(`${'  decisions'.padEnd(44)} ${String(decisions.length).padStart(7)}     (${byEffect}; apply decides the same: ${same})`);
budget('at plan vs the budget', planPolicyMs);
budget('at apply vs the budget', applyPolicyMs);
budget('first call vs the budget', cold.ms);
