// Signed checkpoints through the built CLI (`npm run build` first), on a ledger written by real
// applies of a volume-and-network workspace (Docker), then tampered with in SQLite directly,
// the way someone holding the file but not the key would.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {signedBytes} from '../../src/audit/bundle.js';
import {storedEventHash} from '../../src/ledger/event-hash.js';
import {signBlob} from '../../src/trust/blob.js';
import {loadWorkspaceKey} from '../../src/trust/keys.js';
import {noStack, orx, orxApproved, type CliResult} from '../helpers/cli.js';
import {makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
let pristine: string; // .orx after two applies (checkpoints #1 and #2)
let afterFirst: string; // .orx after the first apply only
const yaml = (extra = '') => `workspace: __WS__\nautonomy: 3\nvolumes:\n  memory: {}\n${extra}`;
const ledgerFile = () => path.join(ws.dir, '.orx/ledger.db');
const json = (r: CliResult) => JSON.parse(r.stdout) as Record<string, any>;

async function cli(args: string[], code = 0): Promise<CliResult> {
  const r = await orx(args, {cwd: ws.dir});
  expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  expect(noStack(r.stderr)).toBe(true);
  return r;
}

/** Opens the ledger with better-sqlite3 itself: no orx code between the test and the file. */
function raw<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(ledgerFile());
  try {
    return db.transaction(() => fn(db))();
  } finally {
    db.close();
  }
}

interface Row {
  seq: number;
  run_id: string | null;
  step_id: string | null;
  ts: string;
  level: string;
  message: string;
  payload: string | null;
  prev_hash: string;
  hash: string;
}

/** Edits one event and recomputes every later hash with the project's own hash function: the links all hold again. */
function editAndRecompute(db: Database.Database, seq: number, message: string): void {
  db.prepare('UPDATE events SET message = ? WHERE seq = ?').run(message, seq);
  let prev = (db.prepare('SELECT hash FROM events WHERE seq = ?').get(seq - 1) as {hash: string}).hash;
  for (const r of db.prepare('SELECT * FROM events WHERE seq >= ? ORDER BY seq').all(seq) as Row[]) {
    const hash = storedEventHash({...r, prev_hash: prev});
    db.prepare('UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
    prev = hash;
  }
}

const checkpoints = () =>
  raw(
    (db) =>
      db.prepare('SELECT id, seq, hash, reason FROM checkpoints ORDER BY id').all() as Array<{
        id: number;
        seq: number;
        hash: string;
        reason: string;
      }>,
  );

beforeAll(async () => {
  ws = makeWorkspace('ckp');
  ws.write(yaml());
  await cli(['apply', '--auto-approve']);
  afterFirst = fs.mkdtempSync(path.join(os.tmpdir(), `${ws.name}-after-first-`));
  fs.cpSync(path.join(ws.dir, '.orx'), afterFirst, {recursive: true});
  ws.write(yaml('networks:\n  backplane: {internal: true}\n'));
  await cli(['apply', '--auto-approve']);
  pristine = fs.mkdtempSync(path.join(os.tmpdir(), `${ws.name}-pristine-`));
  fs.cpSync(path.join(ws.dir, '.orx'), pristine, {recursive: true});
}, 120_000);

beforeEach(() => {
  fs.rmSync(path.join(ws.dir, '.orx'), {recursive: true, force: true});
  fs.cpSync(pristine, path.join(ws.dir, '.orx'), {recursive: true});
});

afterAll(async () => {
  await ws?.cleanup();
  if (pristine) fs.rmSync(pristine, {recursive: true, force: true});
  if (afterFirst) fs.rmSync(afterFirst, {recursive: true, force: true});
});

describe('signed checkpoints of the chain head', () => {
  it('every apply ends with one; an untouched ledger verifies against the newest', async () => {
    const cps = checkpoints();
    expect(cps.map((c) => [c.id, c.reason])).toEqual([
      [1, 'apply'],
      [2, 'apply'],
    ]);
    const head = json(await cli(['audit', 'head', '--json'])).head;
    expect(cps[1]).toMatchObject({seq: head.seq, hash: head.hash});
    const v = await cli(['audit', 'verify']);
    expect(v.stdout).toMatch(new RegExp(`Chain intact: ${head.seq} events verified from the genesis hash to head seq ${head.seq}`));
    expect(v.stdout).toMatch(
      /Checkpoint #2 \(seq \d+, \S+, after apply run-\S+\) signed by sha256:[0-9a-f]{64}; 2 of 2 checkpoint signatures verified\./,
    );
    expect(json(await cli(['audit', 'verify', '--json']))).toMatchObject({
      ok: true,
      chain_ok: true,
      checkpoints: {count: 2, verified: 2, newest: {id: 2, seq: head.seq}, tail: null, problems: []},
    });
  });

  it('an event edited with every later hash recomputed: the links hold, the checkpoints name the rewrite (exit 1)', async () => {
    raw((db) => editAndRecompute(db, 3, 'nothing was created'));
    const r = await cli(['audit', 'verify'], 1);
    expect(r.stdout).toMatch(/^Hash links intact: /);
    expect(r.stdout).toMatch(
      /✗ rewritten: event seq \d+ hashes to [0-9a-f]{12}…, but checkpoint #1 \(\S+\) signed [0-9a-f]{12}…: the chain was edited and its hashes recomputed at or before seq \d+ \(1 later checkpoint disagrees too\)/,
    );
    expect(r.stdout).toMatch(/Ledger FAILED verification\./);
    const j = json(await cli(['audit', 'verify', '--json'], 1));
    expect(j).toMatchObject({ok: false, chain_ok: true, break: null, checkpoints: {problems: [{kind: 'rewritten', checkpoint: 1}]}});
    // and no signed bundle of that history, nor a checkpoint vouching for it
    const e = await cli(['audit', 'export', '-o', 'a.json'], 1);
    expect(e.stderr).toMatch(/no longer holds the head its newest checkpoint #2 signed/);
  });

  it("the newest rows deleted (SQLite's high-water mark put back too): rows missing after the checkpoint (exit 1)", async () => {
    const cp = checkpoints()[1];
    raw((db) => {
      db.prepare('DELETE FROM events WHERE seq > ?').run(cp.seq - 3);
      db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'").run(cp.seq - 3);
    });
    const r = await cli(['audit', 'verify'], 1);
    expect(r.stdout).toContain(`✗ rows missing: checkpoint #2 (`);
    expect(r.stdout).toContain(
      `signed seq ${cp.seq}, but the ledger ends at seq ${cp.seq - 3}: events ${cp.seq - 2}..${cp.seq} were deleted`,
    );
    expect(json(await cli(['audit', 'verify', '--json'], 1)).checkpoints.problems).toEqual([
      expect.objectContaining({kind: 'rows_missing', checkpoint: 2, seq: cp.seq}),
    ]);
  });

  it('--head FILE: the kept head is found; a rollback to an older copy of ledger.db verifies on its own but not against the head', async () => {
    const kept = await cli(['audit', 'head', '--signed']);
    const file = path.join(ws.dir, 'kept-head.json');
    fs.writeFileSync(file, kept.stdout);
    expect(JSON.parse(kept.stdout)).toMatchObject({
      format: 'orx.chain-checkpoint',
      version: 1,
      id: 2,
      signature: {mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json'},
    });
    expect((await cli(['audit', 'verify', '--head', 'kept-head.json'])).stdout).toMatch(
      /Kept head found: kept-head\.json \(checkpoint #2, seq \d+, \S+\) is in this ledger, signed by sha256:/,
    );
    // the --json form of `audit head --signed` is accepted too
    fs.writeFileSync(path.join(ws.dir, 'kept.json'), (await cli(['audit', 'head', '--signed', '--json'])).stdout);
    await cli(['audit', 'verify', '--head', 'kept.json']);

    // the rollback: the ledger files as they were after the first apply
    for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm']) {
      fs.rmSync(path.join(ws.dir, '.orx', f), {force: true});
      if (fs.existsSync(path.join(afterFirst, f))) fs.copyFileSync(path.join(afterFirst, f), path.join(ws.dir, '.orx', f));
    }
    await cli(['audit', 'verify']); // the old copy is consistent with itself
    const r = await cli(['audit', 'verify', '--head', 'kept-head.json'], 1);
    expect(r.stdout).toMatch(
      /Kept head FAILED: kept-head\.json \(seq \d+, \S+\): the ledger ends at seq \d+, before the kept head seq \d+ \(signed \S+\): it was rolled back to an older copy or truncated/,
    );
    expect(json(await cli(['audit', 'verify', '--head', 'kept-head.json', '--json'], 1)).head_file).toMatchObject({
      ok: false,
      checkpoint: 2,
    });

    // a kept head edited to match a rewritten ledger no longer carries a valid signature
    const forged = JSON.parse(kept.stdout);
    forged.seq = 1;
    fs.writeFileSync(file, JSON.stringify(forged));
    expect((await cli(['audit', 'verify', '--head', 'kept-head.json'], 1)).stdout).toMatch(
      /Kept head FAILED: .*its signature does not verify with the workspace key/,
    );
    fs.writeFileSync(file, '{"format": "something else"}');
    expect((await cli(['audit', 'verify', '--head', 'kept-head.json'], 1)).stderr).toMatch(
      /kept-head\.json is not a signed chain head \(no "format": "orx\.chain-checkpoint"\)/,
    );
  });

  it('a checkpoint whose signature was tampered with is reported (exit 1)', async () => {
    raw((db) => {
      const b = JSON.parse((db.prepare('SELECT bundle FROM checkpoints WHERE id = 1').get() as {bundle: string}).bundle);
      const sig = Buffer.from(b.messageSignature.signature, 'base64');
      sig[sig.length - 3] ^= 0x40;
      b.messageSignature.signature = sig.toString('base64');
      db.prepare('UPDATE checkpoints SET bundle = ? WHERE id = 1').run(JSON.stringify(b));
    });
    const r = await cli(['audit', 'verify'], 1);
    expect(r.stdout).toMatch(/✗ signature: checkpoint #1 \(seq \d+, \S+\): its signature does not verify: /);
    expect(r.stdout).toMatch(/1 of 2 checkpoint signatures verified/);
    // a checkpoint row moved to another head (to cover a rewrite) fails the same way
    raw((db) => db.prepare('UPDATE checkpoints SET seq = seq - 1 WHERE id = 2').run());
    expect(
      json(await cli(['audit', 'verify', '--json'], 1)).checkpoints.problems.map((p: {kind: string; checkpoint: number}) => [
        p.kind,
        p.checkpoint,
      ]),
    ).toEqual([
      ['signature', 1],
      ['signature', 2],
    ]);
  });

  it('events after the newest checkpoint with no run in progress: an unsigned tail (exit 1); approve, halt and resume each sign one', async () => {
    raw((db) => {
      const last = db.prepare('SELECT * FROM events ORDER BY seq DESC LIMIT 1').get() as Row;
      const row = {
        seq: last.seq + 1,
        run_id: null,
        step_id: null,
        ts: new Date().toISOString(),
        level: 'info',
        message: 'appended later',
        payload: null,
        prev_hash: last.hash,
      };
      db.prepare(
        'INSERT INTO events (seq, run_id, step_id, ts, level, message, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(row.seq, null, null, row.ts, 'info', row.message, null, row.prev_hash, storedEventHash(row));
    });
    const r = await cli(['audit', 'verify'], 1);
    expect(r.stdout).toMatch(
      /✗ unsigned tail: event \d+ was written after checkpoint #2 \(seq \d+\) and no checkpoint signs the head seq \d+/,
    );

    // a saved plan's PLAN run signs one too
    await cli(['plan', '-out', 'plans/next.json']);
    expect(checkpoints().at(-1)).toMatchObject({id: 3, reason: 'plan'});
    await cli(['approve', 'plans/next.json', '--all', '--reason', 'checkpoint test']);
    expect(checkpoints().at(-1)).toMatchObject({id: 4, reason: 'approve'});
    await cli(['audit', 'verify']);
    await cli(['halt', '--reason', 'checkpoint test', '--wait', '0']);
    expect(checkpoints().at(-1)).toMatchObject({id: 5, reason: 'halt'});
    await cli(['resume', '--reason', 'checkpoint test over', '--auto-approve']);
    expect(checkpoints().at(-1)).toMatchObject({id: 6, reason: 'resume'});
    expect(json(await cli(['audit', 'verify', '--json']))).toMatchObject({ok: true, checkpoints: {count: 6, verified: 6, tail: null}});
  });

  it('a key that cannot be loaded does not fail the apply: a warning, and verify then reports the unsigned tail', async () => {
    const keyFile = path.join(ws.dir, '.orx/keys/signing.key');
    fs.chmodSync(keyFile, 0o644);
    ws.write(yaml('networks:\n  backplane: {internal: true}\n  side: {internal: true}\n'));
    try {
      const r = await cli(['apply', '--auto-approve']);
      expect(r.stdout).toMatch(/Apply complete! Resources: 1 added/);
      expect(r.stderr).toMatch(/no checkpoint of the ledger's chain head was signed: .*signing\.key is readable by group or others/);
    } finally {
      fs.chmodSync(keyFile, 0o600);
      ws.write(yaml('networks:\n  backplane: {internal: true}\n'));
    }
    expect(checkpoints()).toHaveLength(2);
    const v = json(await cli(['audit', 'verify', '--json'], 1));
    expect(v.checkpoints.problems).toEqual([expect.objectContaining({kind: 'unsigned_tail', checkpoint: 2})]);
    // the next run signs the head again (removing network.side, which a human approves)
    const next = await orxApproved('apply', {cwd: ws.dir});
    expect(next.code, next.stderr).toBe(0);
    await cli(['audit', 'verify']);
  });

  it('audit bundles carry the newest checkpoint, and verify-bundle checks it', async () => {
    const exp = json(await cli(['audit', 'export', '-o', 'audit.json', '--json']));
    const file = path.join(ws.dir, 'audit.json');
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(bundle).toMatchObject({format_version: 3, checkpoint: {id: 2, seq: exp.chain_head.seq, hash: exp.chain_head.hash}});
    const ok = await cli(['audit', 'verify-bundle', 'audit.json']);
    expect(ok.stdout).toMatch(/checkpoint {2}ok {2}#2 signed seq \d+ [0-9a-f]{64}/);
    // someone with the workspace key re-signs a bundle whose checkpoint was moved: the checkpoint's own signature fails
    bundle.checkpoint.hash = 'b'.repeat(64);
    const {signature: _s, ...body} = bundle;
    bundle.signature = await signBlob(signedBytes(body), loadWorkspaceKey(ws.dir));
    fs.writeFileSync(path.join(ws.dir, 'forged.json'), JSON.stringify(bundle));
    const bad = await cli(['audit', 'verify-bundle', 'forged.json', '--json'], 1);
    expect(json(bad).problems.map((p: {part: string}) => p.part)).toContain('checkpoint');
    expect(json(bad).problems.find((p: {part: string}) => p.part === 'checkpoint').reason).toMatch(
      /checkpoint #2: its signature does not verify/,
    );
  });
});
