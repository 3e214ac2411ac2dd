// (1) no-op plan of 50 applied agents vs `node -e 0`; (2) a 1,000-resource plan with
// --refresh=false: time and peak RSS; (3) `orx --version` vs `node -e 0`.
// Usage: node bench/plan.mjs [ROUNDS=5]
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {AGENT_CMD, median, orxBin, removeWorkspaceObjects, root, row, tempWorkspace, timeProcess} from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 5);
const nodeFloor = () => median(Array.from({length: ROUNDS * 2}, () => timeProcess(process.execPath, ['-e', '0']).ms));

const ctx = path.join(root, 'templates/images/agent-base');
if (!fs.existsSync(path.join(ctx, 'busybox'))) spawnSync('bash', [path.join(root, 'scripts/prepare-images.sh')], {stdio: 'inherit'});

// (1) no-op plan of 50 agents
const ws = tempWorkspace('bplan');
fs.cpSync(ctx, path.join(ws.dir, 'images/agent-base'), {recursive: true});
let y = `workspace: ${ws.name}\nautonomy: 3\nnetworks:\n  backplane: {internal: true}\nimages:\n  base: {build: {context: images/agent-base}}\nagents:\n`;
for (let k = 0; k < 50; k++)
  y += `  a${k}:\n    image: base\n    command: ${JSON.stringify(AGENT_CMD)}\n    resources: {cpus: 0.1, memory: 32m}\n    networks: [backplane]\n`;
fs.writeFileSync(path.join(ws.dir, 'orchestration.yml'), y);
try {
  timeProcess(process.execPath, [orxBin, 'apply', '--auto-approve', '--parallelism', '10'], {cwd: ws.dir});
  const floor = nodeFloor();
  const plans = Array.from(
    {length: ROUNDS},
    () => timeProcess(process.execPath, [orxBin, 'plan', '--detailed-exitcode'], {cwd: ws.dir}).ms,
  );
  console.log(`no-op plan, 50 applied agents (median of ${ROUNDS}):`);
  console.log(`${'floor: node -e 0'.padEnd(44)} ${floor.toFixed(0).padStart(7)} ms`);
  row('orx plan (refresh on)', median(plans), 'node -e 0', floor, 6);
} finally {
  await removeWorkspaceObjects(ws.name);
  fs.rmSync(ws.dir, {recursive: true, force: true});
}

// (2) 1,000 resources, refresh off: 250 networks, 250 volumes, 1 image, 499 agents
const big = tempWorkspace('bbig');
fs.cpSync(ctx, path.join(big.dir, 'images/agent-base'), {recursive: true});
// the built-in quotas (8 CPUs, 100 agents) would deny this plan: waived, as an operator would
const waive = (rule) => `  - {rule: ${rule}, address: plan, reason: "plan benchmark", expires: 2099-01-01}\n`;
let b = `workspace: ${big.name}\nautonomy: 3\nwaivers:\n${waive('quota-cpus')}${waive('quota-agents')}networks:\n`;
for (let k = 0; k < 250; k++) b += `  n${k}: {internal: true}\n`;
b += 'volumes:\n';
for (let k = 0; k < 250; k++) b += `  v${k}: {}\n`;
b += 'images:\n  base: {build: {context: images/agent-base}}\nagents:\n';
for (let k = 0; k < 499; k++)
  b += `  a${k}:\n    image: base\n    resources: {cpus: 0.1, memory: 32m}\n    networks: [n${k % 250}]\n    volumes: ["v${k % 250}:/data"]\n`;
fs.writeFileSync(path.join(big.dir, 'orchestration.yml'), b);
const rssWrapper = path.join(root, 'bench/rss.mjs');
const bigRuns = Array.from({length: ROUNDS}, () => {
  const r = timeProcess(process.execPath, [rssWrapper, orxBin, 'plan', '--refresh=false', '--json'], {
    cwd: big.dir,
    maxBuffer: 256 * 1024 * 1024,
  });
  const doc = JSON.parse(r.stdout);
  if (doc.steps.length !== 1000) throw new Error(`expected 1000 steps, got ${doc.steps.length}`);
  return {ms: r.ms, rss: Number(/maxrss=(\d+)/.exec(r.stderr)[1])};
});
fs.rmSync(big.dir, {recursive: true, force: true});
await removeWorkspaceObjects(big.name);
const bigMs = median(bigRuns.map((r) => r.ms));
const bigRss = Math.max(...bigRuns.map((r) => r.rss)) / 1024;
console.log(`1,000 resources, --refresh=false (median of ${ROUNDS}):`);
console.log(
  `${'orx plan'.padEnd(44)} ${bigMs.toFixed(0).padStart(7)} ms  = ${(bigMs / 1000).toFixed(2)}× the 1 s budget${bigMs < 1000 ? '  ok' : '  MISSED'}`,
);
console.log(
  `${'peak RSS'.padEnd(44)} ${bigRss.toFixed(0).padStart(7)} MB  = ${(bigRss / 200).toFixed(2)}× the 200 MB budget${bigRss < 200 ? '  ok' : '  MISSED'}`,
);

// (3) --version
const floor = nodeFloor();
const versions = Array.from({length: ROUNDS * 2}, () => timeProcess(process.execPath, [orxBin, '--version']).ms);
console.log('orx --version:');
row('orx --version', median(versions), 'node -e 0', floor, 1.25);
