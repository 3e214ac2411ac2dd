// What the signed checkpoint at the end of every run costs; goal: at most 15 ms added to an apply.
//  1. The run-ending path in one process (finishRun of a run with STEPS step events, then
//     checkpointChain: key load, tail check, sign, store) against the same path without the
//     checkpoint, interleaved, ROUNDS times; medians and their difference.
//  2. The same path in a fresh process each time: (a) the signer preloaded while the run works
//     (150 ms of waiting stands for the apply's Docker calls), as `orx apply` does; (b) not
//     preloaded, what a command pays that signs right away (approve, halt, state rm: no goal).
//  3. Whole `orx apply` processes (one network created each time, Docker) where the
//     checkpoint is signed, against the same applies where it is skipped before signing
//     (the workspace key is made unreadable, so the apply warns and signs nothing).
// Run `npm run build` first. Usage: node bench/checkpoint.mjs [ROUNDS=15] [APPLY_ROUNDS=7] [STEPS=20]
// (APPLY_ROUNDS=0 skips part 3, which needs Docker.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {median, orxBin, root, tempWorkspace, timeProcess} from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 15);
const APPLY_ROUNDS = Number(process.argv[3] ?? 7);
const STEPS = Number(process.argv[4] ?? 20);
const GOAL_MS = 15;
const dist = (p) => pathToFileURL(path.join(root, 'dist/src', p)).href;

const log = {
  debug() {},
  info() {},
  warn(m) {
    throw new Error(`unexpected warning: ${m}`);
  },
  error() {},
  withRun() {
    return log;
  },
};

// A run as an apply records it: started, STEPS steps each started and finished, finished.
function runEvents(l) {
  const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 'bench'});
  for (let i = 0; i < STEPS; i++) {
    const s = l.startStep({
      run_id: run.id,
      address: `network.n${i}`,
      action: 'create',
      idempotency_key: `${run.id}-${i}`,
      category: 'WRITE',
    });
    l.finishStep({step_id: s.id, status: 'succeeded', outcome: {id: `n${i}`}});
  }
  return run;
}

const childScript = `
const [ledgerUrl, checkpointUrl, dir, steps, withCheckpoint, preload] = process.argv.slice(1);
const {Ledger} = await import(ledgerUrl);
const {checkpointChain, preloadCheckpointSigner} = await import(checkpointUrl);
if (preload === '1') preloadCheckpointSigner(dir);
await new Promise((r) => setTimeout(r, preload === '1' ? 150 : 0));
const log = {debug() {}, info() {}, warn(m) { throw new Error(m); }, error() {}, withRun() { return log; }};
const l = Ledger.open(dir);
const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 'bench'});
for (let i = 0; i < Number(steps); i++) {
  const s = l.startStep({run_id: run.id, address: 'network.n' + i, action: 'create', idempotency_key: run.id + '-' + i, category: 'WRITE'});
  l.finishStep({step_id: s.id, status: 'succeeded', outcome: {id: 'n' + i}});
}
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
l.finishRun(run.id, 'succeeded', {succeeded: Number(steps)});
if (withCheckpoint === '1') {
  const out = await checkpointChain({dir, version: 'bench', log}, l, {signing_key: null, signing_key_ref: null, secrets: {}}, {reason: 'apply', run_id: run.id});
  if (out.status !== 'signed') throw new Error(JSON.stringify(out));
}
const c = process.cpuUsage(c0);
console.log(Number(process.hrtime.bigint() - t0) / 1e6, (c.user + c.system) / 1e3);
l.close();
`;

const {Ledger} = await import(dist('ledger/ledger.js'));
const {checkpointChain} = await import(dist('engine/checkpoint.js'));
const {initWorkspaceKey} = await import(dist('trust/keys.js'));

const fmtMs = (n) => `${n.toFixed(2).padStart(8)} ms`;
// Wall time is the goal; CPU time (this process's, from process.cpuUsage) is shown beside it
// because on a busy machine the wall time also counts the wait for a core.
function verdict(label, withMs, withoutMs, cpu) {
  const diff = withMs - withoutMs;
  const cpuCol = (a) => (cpu ? `   cpu ${fmtMs(a)}` : '');
  console.log(`${'  without the checkpoint'.padEnd(52)} ${fmtMs(withoutMs)}${cpuCol(cpu?.without)}`);
  console.log(`${'  with the checkpoint'.padEnd(52)} ${fmtMs(withMs)}${cpuCol(cpu?.with)}`);
  console.log(
    `${`  = added by the checkpoint (${label})`.padEnd(52)} ${fmtMs(diff)}${cpuCol(cpu ? cpu.with - cpu.without : 0)}  ${diff <= GOAL_MS ? 'ok' : 'MISSED'} (goal ≤ ${GOAL_MS} ms)`,
  );
}
console.log(
  `load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${os.cpus().length} cores (wall times grow with it)`,
);

// ---- 1. in process ----------------------------------------------------------------------
{
  const ws = tempWorkspace('ckp');
  fs.writeFileSync(path.join(ws.dir, 'orchestration.yml'), `workspace: ${ws.name}\n`);
  initWorkspaceKey(ws.dir);
  const l = Ledger.open(ws.dir);
  const config = {signing_key: null, signing_key_ref: null, secrets: {}};
  // one signed checkpoint first: every later one checks only the rows since it, as in use
  runEvents(l);
  await checkpointChain({dir: ws.dir, version: 'bench', log}, l, config, {reason: 'apply'});
  const withMs = [];
  const withoutMs = [];
  const cpu = {with: [], without: []};
  for (let r = 0; r < ROUNDS; r++) {
    for (const which of r % 2 === 0 ? ['without', 'with'] : ['with', 'without']) {
      const run = runEvents(l);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      l.finishRun(run.id, 'succeeded', {succeeded: STEPS});
      if (which === 'with') {
        const out = await checkpointChain({dir: ws.dir, version: 'bench', log}, l, config, {reason: 'apply', run_id: run.id});
        if (out.status !== 'signed') throw new Error(JSON.stringify(out));
      }
      (which === 'with' ? withMs : withoutMs).push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu[which].push((c.user + c.system) / 1e3);
    }
  }
  l.close();
  fs.rmSync(ws.dir, {recursive: true, force: true});
  console.log(`1. run-ending path in one process (${STEPS} steps a run, median of ${ROUNDS}, order alternates):`);
  verdict('in process', median(withMs), median(withoutMs), {with: median(cpu.with), without: median(cpu.without)});
}

// ---- 2. a fresh process each time -----------------------------------------------------------
{
  const ws = tempWorkspace('ckp-cold');
  fs.writeFileSync(path.join(ws.dir, 'orchestration.yml'), `workspace: ${ws.name}\n`);
  initWorkspaceKey(ws.dir);
  const child = (flag, preload) =>
    timeProcess(process.execPath, [
      '--input-type=module',
      '-e',
      childScript,
      dist('ledger/ledger.js'),
      dist('engine/checkpoint.js'),
      ws.dir,
      String(STEPS),
      flag,
      preload,
    ])
      .stdout.trim()
      .split(' ')
      .map(Number);
  child('1', '0'); // the first checkpoint checks the whole chain once; measure the steady state
  for (const [preload, title, label] of [
    ['1', 'signer preloaded while the run works, as orx apply does', 'fresh process, preloaded'],
    ['0', 'signer NOT preloaded (approve, halt, state rm: no goal)', 'fresh process, cold'],
  ]) {
    const withMs = [];
    const withoutMs = [];
    const cpu = {with: [], without: []};
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ['0', '1'] : ['1', '0'];
      for (const flag of order) {
        const [wall, cpuMs] = child(flag, preload);
        (flag === '1' ? withMs : withoutMs).push(wall);
        cpu[flag === '1' ? 'with' : 'without'].push(cpuMs);
      }
    }
    console.log(`2${preload === '1' ? 'a' : 'b'}. run-ending path in a fresh process, ${title} (median of ${ROUNDS}):`);
    if (preload === '1') verdict(label, median(withMs), median(withoutMs), {with: median(cpu.with), without: median(cpu.without)});
    else {
      console.log(`${'  without the checkpoint'.padEnd(52)} ${fmtMs(median(withoutMs))}`);
      console.log(`${'  with the checkpoint'.padEnd(52)} ${fmtMs(median(withMs))}`);
      console.log(`${'  = added, including loading the signing code'.padEnd(52)} ${fmtMs(median(withMs) - median(withoutMs))}`);
    }
  }
  fs.rmSync(ws.dir, {recursive: true, force: true});
}

// ---- 3. whole applies ------------------------------------------------------------------------
if (APPLY_ROUNDS > 0 && fs.existsSync(orxBin)) {
  const {default: Dockerode} = await import('dockerode');
  const docker = new Dockerode();
  const make = (tag) => {
    const ws = tempWorkspace(tag);
    // each round adds one network: a create, which at autonomy 3 needs no human (a delete always would)
    return {
      ...ws,
      yaml: (n) =>
        fs.writeFileSync(
          path.join(ws.dir, 'orchestration.yml'),
          `workspace: ${ws.name}\nautonomy: 3\nnetworks:\n  keep: {internal: true}\n${Array.from({length: n}, (_, i) => `  n${i}: {internal: true}\n`).join('')}`,
        ),
    };
  };
  const signing = make('ckp-sign');
  const skipping = make('ckp-skip');
  const apply = (ws) => timeProcess(process.execPath, [orxBin, 'apply', '--auto-approve'], {cwd: ws.dir});
  for (const ws of [signing, skipping]) {
    ws.yaml(0);
    apply(ws); // creates the key (first checkpoint) and network.keep
  }
  fs.chmodSync(path.join(skipping.dir, '.orx/keys/signing.key'), 0o644);
  const withMs = [];
  const withoutMs = [];
  try {
    for (let r = 0; r < APPLY_ROUNDS; r++) {
      for (const ws of [signing, skipping]) ws.yaml(r + 1);
      const pair = r % 2 === 0 ? [signing, skipping] : [skipping, signing];
      for (const ws of pair) {
        const res = apply(ws);
        if (ws === skipping && !/no checkpoint of the ledger's chain head was signed/.test(res.stderr))
          throw new Error('the skipping workspace signed a checkpoint');
        (ws === signing ? withMs : withoutMs).push(res.ms);
      }
    }
  } finally {
    for (const ws of [signing, skipping]) {
      const nets = await docker.listNetworks({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});
      await Promise.all(
        nets.map((n) =>
          docker
            .getNetwork(n.Id)
            .remove()
            .catch(() => undefined),
        ),
      );
      fs.rmSync(ws.dir, {recursive: true, force: true});
    }
  }
  // a whole apply varies by more than the checkpoint costs: shown, not judged
  console.log(`3. orx apply --auto-approve, one network created (CLI process, median of ${APPLY_ROUNDS}, order alternates):`);
  console.log(`${'  checkpoint skipped (key unreadable)'.padEnd(52)} ${fmtMs(median(withoutMs))}`);
  console.log(`${'  checkpoint signed'.padEnd(52)} ${fmtMs(median(withMs))}`);
  console.log(`${'  = difference (Docker noise is larger than the goal)'.padEnd(52)} ${fmtMs(median(withMs) - median(withoutMs))}`);
}
