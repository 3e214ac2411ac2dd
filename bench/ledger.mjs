// The hash-chained ledger: appending 100,000 events in batches through Ledger.appendEvents
// against inserting the same rows without hashing (same JSON text, no chain) into an
// identical table with the same pragmas and batch transactions, both in this run; goal: the
// hashed rate is at least 0.8x the unhashed one. Bulk appends hash on a worker thread while
// the main thread inserts; the same appends hashed on the main thread only are shown too.
// Then `audit verify` of those 100,000 events, in-process and as the CLI; goal: under 2 s.
// Run `npm run build` first.
// Usage: node bench/ledger.mjs [EVENTS=100000] [BATCH=1000] [ROUNDS=3]
// (ORX_DIST=DIR uses another build of dist/.)
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {median, orxBin, root, row, tempWorkspace, timeProcess} from './lib.mjs';

const EVENTS = Number(process.argv[2] ?? 100_000);
const BATCH = Number(process.argv[3] ?? 1000);
const ROUNDS = Number(process.argv[4] ?? 3);
const distDir = process.env.ORX_DIST ?? path.join(root, 'dist');
const dist = (p) => import(pathToFileURL(path.join(distDir, 'src', p)).href);
const {Ledger} = await dist('ledger/ledger.js');
const {verifyAudit} = await dist('audit/chain.js');
// the raw SQLite handle, which src/ledger keeps to itself (db.ts); older builds had it on Ledger
const sessionOf = await dist('ledger/db.js').then(
  (m) => m.sessionOf,
  () => null,
);
const rawSqlite = (l) => (sessionOf ? sessionOf(l).sqlite : l.sqlite);

// What an apply writes: step start/finish events with a run, a step and a small payload.
function makeInputs(n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 600;
    const finished = i % 2 === 1;
    out[i] = {
      run_id: `run-0lq8x2a9b${String(Math.floor(i / 1000)).padStart(6, '0')}`,
      step_id: `step-0lq8x2a9c${String(Math.floor(i / 2)).padStart(6, '0')}`,
      level: 'info',
      message: `agent.a${k}: update ${finished ? 'succeeded' : 'started'}`,
      payload: finished
        ? {
            address: `agent.a${k}`,
            action: 'update',
            status: 'succeeded',
            attempt: 1,
            error: null,
            change: {
              op: 'put',
              address: `agent.a${k}`,
              kind: 'agent',
              object_id: `c0ffee${k}`,
              attributes_sha256: 'ab'.repeat(32),
              serial: i,
            },
          }
        : {address: `agent.a${k}`, action: 'update', attempt: 1, idempotency_key: `ik-${i}`},
    };
  }
  return out;
}

// Same row size as the hashed table: the bytes written are the same, only the hashing differs.
const NO_HASH = '0'.repeat(64);
// The same timestamp cache the ledger uses (one toISOString per millisecond), so the
// difference measured is the hashing, nothing else.
let lastMs = NaN;
let lastIso = '';
function now() {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

function appendHashed(inputs, hashPipeline) {
  const {dir} = tempWorkspace('ledger-hashed');
  const l = Ledger.open(dir, {hashPipeline});
  // the worker starts with the first bulk append of a process; start it before the clock
  if (hashPipeline && !l.warmHashPipeline()) throw new Error('the hashing worker did not start');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < inputs.length; i += BATCH) l.appendEvents(inputs.slice(i, i + BATCH));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const stats = l.hashPipelineStats();
  if (hashPipeline && stats.fallbackRows > 0) console.log(`  (${stats.fallbackRows} rows fell back to the main thread)`);
  return {ms, dir, l};
}

// The identical table is the events table of another fresh ledger: same definition, same
// place in the same file layout, same pragmas (WAL, synchronous=NORMAL), same batches.
// The payload is stored as JSON.stringify text, as the hashed ledger stores it.
function insertPlain(inputs) {
  const {dir} = tempWorkspace('ledger-plain');
  const l = Ledger.open(dir);
  const insert = rawSqlite(l).prepare(
    'INSERT INTO events (run_id, step_id, ts, level, message, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const batch = rawSqlite(l).transaction((rows) => {
    for (const e of rows) {
      insert.run(
        e.run_id ?? null,
        e.step_id ?? null,
        now(),
        e.level,
        e.message,
        e.payload == null ? null : JSON.stringify(e.payload),
        NO_HASH,
        NO_HASH,
      );
    }
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < inputs.length; i += BATCH) batch.immediate(inputs.slice(i, i + BATCH));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  l.close();
  fs.rmSync(dir, {recursive: true, force: true});
  return ms;
}

const inputs = makeInputs(EVENTS);
const fmt = (n) => n.toLocaleString('en-US');
console.log(`ledger: ${fmt(EVENTS)} events in batches of ${fmt(BATCH)}, median of ${ROUNDS} rounds (order alternates)`);

const hashedMs = [];
const mainOnlyMs = [];
const plainMs = [];
let kept;
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ['plain', 'main', 'hashed'] : ['hashed', 'main', 'plain'];
  for (const which of order) {
    if (which === 'plain') plainMs.push(insertPlain(inputs));
    else if (which === 'main') {
      const h = appendHashed(inputs, false);
      mainOnlyMs.push(h.ms);
      h.l.close();
      fs.rmSync(h.dir, {recursive: true, force: true});
    } else {
      const h = appendHashed(inputs, true);
      hashedMs.push(h.ms);
      if (kept) {
        kept.l.close();
        fs.rmSync(kept.dir, {recursive: true, force: true});
      }
      kept = h;
    }
  }
}
const plain = median(plainMs);
const rate = (ms) => (EVENTS / ms) * 1000;
const rateRow = (label, ms, goal) => {
  const ratio = rate(ms) / rate(plain);
  const verdict = goal ? ` ${ratio >= 0.8 ? 'ok' : 'MISSED'} (goal ≥ 0.8×)` : '';
  console.log(
    `${label.padEnd(44)} ${fmt(Math.round(rate(ms))).padStart(7)} ev/s = ${ratio.toFixed(2)}× ${fmt(Math.round(rate(plain)))} ev/s${verdict}`,
  );
};
row(`append ${fmt(EVENTS)} hashed (appendEvents)`, median(hashedMs), 'unhashed insert', plain, 1.25);
rateRow('  rate: hashed vs unhashed', median(hashedMs), true);
rateRow('  rate: hashed on the main thread only', median(mainOnlyMs), false);

// audit verify of the hashed ledger just written
const {l, dir} = kept;
const verifyMs = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = process.hrtime.bigint();
  const v = verifyAudit(l);
  verifyMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (!v.ok || v.count !== EVENTS) throw new Error(`verify failed: ${JSON.stringify(v)}`);
}
l.close();
row(`audit verify ${fmt(EVENTS)} (library)`, median(verifyMs), '2 s goal', 2000, 1);
if (fs.existsSync(orxBin) && !process.env.ORX_DIST) {
  const cli = [];
  for (let r = 0; r < ROUNDS; r++) cli.push(timeProcess(process.execPath, [orxBin, 'audit', 'verify', '--json', '-C', dir]).ms);
  row(`orx audit verify ${fmt(EVENTS)} (CLI process)`, median(cli), '2 s goal', 2000, 1);
}
fs.rmSync(dir, {recursive: true, force: true});
