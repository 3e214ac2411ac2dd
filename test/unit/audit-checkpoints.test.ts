// Signed checkpoints of the chain head: the repository, signing (engine/checkpoint.ts) and the
// verdicts of `orx audit verify`, on real ledgers in temp directories (no Docker).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {signedHead, verifyLedger} from '../../src/audit/chain.js';
import {signedBytes} from '../../src/audit/bundle.js';
import {buildAuditBundle} from '../../src/audit/export.js';
import {verifyAuditBundle} from '../../src/audit/verify-bundle.js';
import {judgeCheckpoints, type CheckpointEvidence} from '../../src/audit/checkpoint-check.js';
import {checkpointChain} from '../../src/engine/checkpoint.js';
import {storedEventHash} from '../../src/ledger/event-hash.js';
import {
  checkpointBytes,
  checkpointHighWater,
  latestCheckpoint,
  listCheckpoints,
  nextCheckpointId,
  storeCheckpoint,
  type CheckpointRecord,
} from '../../src/ledger/checkpoints.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {verifyBlob} from '../../src/trust/blob.js';
import {initWorkspaceKey, trustedKeyOf, type WorkspaceKey} from '../../src/trust/keys.js';
import {signMessage} from '../../src/trust/sign-message.js';
import {createLogger} from '../../src/ui/logger.js';
import {renderAuditVerification} from '../../src/ui/audit-view.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

let dir: string;
let l: Ledger;
let key: WorkspaceKey;
let logged: string[];
const ctx = () => ({dir, version: '0.0.0-test', log: createLogger({format: 'text', level: 'debug', write: (s) => logged.push(s)})});

function run(n: number): string {
  const r = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 't'});
  l.appendEvents(Array.from({length: n}, (_, i) => ({run_id: r.id, level: 'info' as const, message: `step ${i}`, payload: {i}})));
  l.finishRun(r.id, 'succeeded');
  return r.id;
}

async function signed(reason = 'apply'): Promise<CheckpointRecord> {
  const out = await checkpointChain(ctx(), l, null, {reason});
  if (out.status !== 'signed') throw new Error(`expected a signed checkpoint, got ${JSON.stringify(out)}`);
  return out.checkpoint;
}

/** Edits the message of `seq` and recomputes every later hash with the project's own hash function. */
function rewrite(seq: number, message: string): void {
  rawSqlite(l).transaction(() => {
    rawSqlite(l).prepare('UPDATE events SET message = ? WHERE seq = ?').run(message, seq);
    const rows = rawSqlite(l).prepare('SELECT * FROM events WHERE seq >= ? ORDER BY seq').all(seq) as Array<{
      seq: number;
      run_id: string | null;
      step_id: string | null;
      ts: string;
      level: string;
      message: string;
      payload: string | null;
      prev_hash: string;
    }>;
    let prev = (
      rawSqlite(l)
        .prepare('SELECT hash FROM events WHERE seq = ?')
        .get(seq - 1) as {hash: string}
    ).hash;
    for (const r of rows) {
      const hash = storedEventHash({...r, prev_hash: prev});
      rawSqlite(l).prepare('UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
      prev = hash;
    }
  })();
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-checkpoints-'));
  fs.writeFileSync(path.join(dir, 'orchestration.yml'), 'workspace: lab\n');
  key = initWorkspaceKey(dir);
  l = Ledger.open(dir);
  logged = [];
});
afterEach(() => {
  l.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

describe('checkpoint repository', () => {
  it('ids are consecutive, survive deletion, and a stale id is not stored', () => {
    const base = {
      format: 'orx.chain-checkpoint',
      version: 1,
      lineage: l.meta().lineage,
      seq: 1,
      hash: 'a'.repeat(64),
      ts: 't',
      reason: 'apply',
      run_id: null,
      key_fingerprint: key.fingerprint,
      bundle: {},
    } as const;
    expect(nextCheckpointId(l)).toBe(1);
    expect(storeCheckpoint(l, {...base, id: 1})).toBe(true);
    expect(storeCheckpoint(l, {...base, id: 1})).toBe(false); // another process took #1 first
    expect(storeCheckpoint(l, {...base, id: 2, seq: 2})).toBe(true);
    expect(listCheckpoints(l).map((c) => [c.id, c.seq])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(latestCheckpoint(l)).toMatchObject({id: 2, seq: 2, format: 'orx.chain-checkpoint', version: 1});
    rawSqlite(l).prepare('DELETE FROM checkpoints WHERE id = 2').run();
    expect(checkpointHighWater(l)).toBe(2);
    expect(nextCheckpointId(l)).toBe(3);
  });

  it('the signed bytes are the canonical statement: bookkeeping fields are not signed', () => {
    const s = {
      format: 'orx.chain-checkpoint',
      version: 1,
      id: 1,
      lineage: 'x',
      seq: 1,
      hash: 'h',
      ts: 't',
      reason: 'apply',
      run_id: null,
    } as const;
    const withExtras = {...s, key_fingerprint: 'sha256:ab', bundle: {a: 1}};
    expect(checkpointBytes(withExtras).toString()).toBe(checkpointBytes(s).toString());
    expect(checkpointBytes(s).toString()).toBe(
      '{"format":"orx.chain-checkpoint","hash":"h","id":1,"lineage":"x","reason":"apply","run_id":null,"seq":1,"ts":"t","version":1}',
    );
  });
});

describe('checkpointChain', () => {
  it('signs the head after the run, verifiable with the workspace key; nothing new: no second checkpoint', async () => {
    const runId = run(3);
    const cp = await signed();
    expect(cp).toMatchObject({
      id: 1,
      seq: l.chainHead().seq,
      hash: l.chainHead().hash,
      lineage: l.meta().lineage,
      key_fingerprint: key.fingerprint,
    });
    await expect(verifyBlob(checkpointBytes(cp), cp.bundle, [trustedKeyOf(key)])).resolves.toEqual({fingerprint: key.fingerprint});
    expect(await checkpointChain(ctx(), l, null, {reason: 'apply', run_id: runId})).toMatchObject({status: 'current', checkpoint: {id: 1}});
    expect(listCheckpoints(l)).toHaveLength(1);
    run(1);
    expect((await signed('halt')).id).toBe(2);
  });

  it('a key that cannot be loaded: a warning, no checkpoint, never a throw', async () => {
    run(2);
    fs.chmodSync(path.join(dir, '.orx/keys/signing.key'), 0o644);
    const out = await checkpointChain(ctx(), l, null, {reason: 'apply'});
    expect(out).toMatchObject({status: 'skipped', reason: expect.stringMatching(/readable by group or others/)});
    expect(logged.join('')).toMatch(
      /no checkpoint of the ledger's chain head was signed: .*signing\.key is readable by group or others.*`orx audit verify` reports/,
    );
    expect(listCheckpoints(l)).toHaveLength(0);
  });

  it('does not vouch for a chain rewritten since the last checkpoint, nor for a tail that does not verify', async () => {
    run(4);
    await signed();
    run(2);
    rewrite(3, 'nothing happened');
    const out = await checkpointChain(ctx(), l, null, {reason: 'apply'});
    expect(out).toMatchObject({status: 'skipped', reason: expect.stringMatching(/no longer has the hash checkpoint #1 signed/)});
    expect(listCheckpoints(l)).toHaveLength(1);
  });

  it('checks only the rows since the last checkpoint: an edit after it (not recomputed) is refused too', async () => {
    run(2);
    const cp = await signed();
    run(2);
    rawSqlite(l)
      .prepare("UPDATE events SET message = 'x' WHERE seq = ?")
      .run(cp.seq + 2);
    expect(await checkpointChain(ctx(), l, null, {reason: 'apply'})).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(new RegExp(`broken at seq ${cp.seq + 2}`)),
    });
  });
});

describe('verifyLedger against checkpoints', () => {
  it('a ledger without checkpoints verifies and says there is none yet', async () => {
    run(2);
    const v = await verifyLedger(l, dir);
    expect(v).toMatchObject({ok: true, chain_ok: true, checkpoints: {count: 0, newest: null, problems: []}});
    expect(renderAuditVerification(v)).toMatch(/Chain intact: .*\n {2}note: No signed checkpoint yet/);
  });

  it('an untouched ledger verifies against its newest checkpoint', async () => {
    run(2);
    await signed();
    run(1);
    const cp = await signed('approve');
    const v = await verifyLedger(l, dir);
    expect(v).toMatchObject({
      ok: true,
      checkpoints: {
        count: 2,
        verified: 2,
        newest: {id: 2, seq: cp.seq, reason: 'approve', key_fingerprint: key.fingerprint},
        tail: null,
        problems: [],
      },
    });
    expect(renderAuditVerification(v)).toMatch(
      /Checkpoint #2 \(seq \d+, .*, after approve\) signed by sha256:[0-9a-f]{64}; 2 of 2 checkpoint signatures verified\./,
    );
  });

  it('a recomputed chain: the links hold, the checkpoint does not', async () => {
    run(3);
    const cp = await signed();
    rewrite(2, 'forged');
    const v = await verifyLedger(l, dir);
    expect(v.chain_ok).toBe(true);
    expect(v.ok).toBe(false);
    expect(v.checkpoints.problems).toEqual([
      {kind: 'rewritten', checkpoint: 1, seq: cp.seq, reason: expect.stringMatching(/edited and its hashes recomputed at or before seq/)},
    ]);
    expect(renderAuditVerification(v)).toMatch(
      /^Hash links intact: [^]*✗ rewritten: event seq \d+ hashes to [^]*Ledger FAILED verification\.$/,
    );
  });

  it("newest rows deleted (and SQLite's high-water mark reset): rows missing after the checkpoint", async () => {
    run(3);
    const cp = await signed();
    rawSqlite(l)
      .prepare('DELETE FROM events WHERE seq > ?')
      .run(cp.seq - 2);
    rawSqlite(l)
      .prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'")
      .run(cp.seq - 2);
    const v = await verifyLedger(l, dir);
    expect(v.chain_ok).toBe(true);
    expect(v.checkpoints.problems).toEqual([
      {
        kind: 'rows_missing',
        checkpoint: 1,
        seq: cp.seq,
        reason: `checkpoint #1 (${cp.ts}) signed seq ${cp.seq}, but the ledger ends at seq ${cp.seq - 2}: events ${cp.seq - 1}..${cp.seq} were deleted`,
      },
    ]);
  });

  it('a tampered signature, a forged statement and a checkpoint by another key are each reported', async () => {
    run(1);
    await signed();
    run(1);
    await signed();
    run(1);
    await signed();
    const bundle = JSON.parse((rawSqlite(l).prepare('SELECT bundle FROM checkpoints WHERE id = 1').get() as {bundle: string}).bundle);
    const sig = Buffer.from(bundle.messageSignature.signature, 'base64');
    sig[12] ^= 0x01;
    bundle.messageSignature.signature = sig.toString('base64');
    rawSqlite(l).prepare('UPDATE checkpoints SET bundle = ? WHERE id = 1').run(JSON.stringify(bundle));
    rawSqlite(l).prepare("UPDATE checkpoints SET ts = '2020-01-01T00:00:00.000Z' WHERE id = 2").run();
    const other = initWorkspaceKey(fs.mkdtempSync(path.join(os.tmpdir(), 'orx-otherkey-')));
    const cp3 = latestCheckpoint(l)!;
    rawSqlite(l)
      .prepare('UPDATE checkpoints SET bundle = ? WHERE id = 3')
      .run(JSON.stringify(signMessage(checkpointBytes(cp3), other)));
    const v = await verifyLedger(l, dir);
    expect(v.ok).toBe(false);
    expect(v.checkpoints.verified).toBe(0);
    expect(v.checkpoints.problems.map((p) => [p.kind, p.checkpoint])).toEqual([
      ['signature', 1],
      ['signature', 2],
      ['signature', 3],
    ]);
    expect(v.checkpoints.problems[0].reason).toMatch(/checkpoint #1 .*signature does not verify/);
    expect(v.checkpoints.problems[2].reason).toMatch(new RegExp(`signed by key ${other.fingerprint}, which is not a trusted key`));
    // trusting the other key (as after a key rotation) accepts #3 again
    const pub = path.join(dir, 'other.pub');
    fs.writeFileSync(pub, other.publicKeyPem);
    const again = await verifyLedger(l, dir, {trustedKeyFiles: [pub]});
    expect(again.checkpoints.newest?.id).toBe(3);
  });

  it('an unsigned tail fails, unless a live process holds the lock with a run in progress', async () => {
    run(1);
    const cp = await signed();
    l.appendEvent({level: 'info', message: 'added later'});
    const v = await verifyLedger(l, dir);
    expect(v.checkpoints.problems).toEqual([
      {
        kind: 'unsigned_tail',
        checkpoint: 1,
        seq: cp.seq + 1,
        reason: expect.stringMatching(new RegExp(`event ${cp.seq + 1} was written after checkpoint #1`)),
      },
    ]);
    const r = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 't'});
    const lock = l.acquireLock({pid: process.pid, host: os.hostname(), command: 'test'});
    const during = await verifyLedger(l, dir);
    expect(during).toMatchObject({
      ok: true,
      checkpoints: {problems: [], tail: {from_seq: cp.seq + 1, count: 2, expected: true, run_ids: [r.id]}},
    });
    expect(during.checkpoints.notes.join()).toMatch(/is in progress \(pid \d+ on .*\) and signs a checkpoint when it ends/);
    // the process is gone (a killed apply): the tail is no longer expected
    l.releaseLock(lock.id);
    expect((await verifyLedger(l, dir)).checkpoints.problems[0]).toMatchObject({
      kind: 'unsigned_tail',
      reason: expect.stringMatching(/never finished: its process is gone/),
    });
  });

  it('no key to check with: reported, with the way out', async () => {
    run(1);
    await signed();
    fs.rmSync(path.join(dir, '.orx/keys'), {recursive: true});
    const v = await verifyLedger(l, dir);
    expect(v.checkpoints.problems).toEqual([
      {kind: 'no_key', reason: expect.stringMatching(/cannot check the signatures of 1 checkpoint: .*--trusted-key/)},
    ]);
  });
});

describe('signed heads and audit bundles', () => {
  it('audit head --signed: the newest checkpoint with its signature; none yet is a clear error', async () => {
    run(1);
    expect(() => signedHead(l)).toThrow(/No signed checkpoint in this ledger yet/);
    const cp = await signed();
    const doc = signedHead(l);
    expect(doc).toEqual({
      format: 'orx.chain-checkpoint',
      version: 1,
      id: 1,
      lineage: cp.lineage,
      seq: cp.seq,
      hash: cp.hash,
      ts: cp.ts,
      reason: 'apply',
      run_id: null,
      signature: cp.bundle,
    });
    await expect(verifyBlob(checkpointBytes(doc), doc.signature, [trustedKeyOf(key)])).resolves.toBeTruthy();
  });

  it('a bundle carries the newest checkpoint; verify-bundle checks its signature, lineage and head', async () => {
    run(2);
    const cp = await signed();
    const bundle = await buildAuditBundle(l, {}, key);
    expect(bundle).toMatchObject({format_version: 3, checkpoint: {id: 1, seq: cp.seq, hash: cp.hash}});
    const ok = await verifyAuditBundle(bundle as unknown as Record<string, unknown>);
    expect(ok).toMatchObject({ok: true, checkpoint: {id: 1, seq: cp.seq, ok: true}});
    // re-signed by the key holder with the checkpoint pointed elsewhere: its own signature fails
    const forged = JSON.parse(JSON.stringify(bundle)) as Record<string, any>;
    forged.checkpoint.lineage = 'another-ledger';
    forged.signature = signMessage(signedBytes(forged), key);
    const bad = await verifyAuditBundle(forged);
    expect(bad.exit).toBe(1);
    expect(bad.problems.filter((p) => p.part === 'checkpoint').map((p) => p.reason)).toEqual([
      expect.stringMatching(/checkpoint #1: its signature does not verify/),
      expect.stringMatching(/checkpoint #1 is of ledger lineage another-ledger/),
    ]);
    // re-signed by the key holder without its checkpoint: refused, not read as an older format
    const stripped = JSON.parse(JSON.stringify(bundle)) as Record<string, any>;
    delete stripped.checkpoint;
    stripped.signature = signMessage(signedBytes(stripped), key);
    const none = await verifyAuditBundle(stripped);
    expect(none).toMatchObject({ok: false, exit: 1, checkpoint: null});
    expect(none.problems.map((p) => p.reason)).toContain(
      'the bundle has no checkpoint field (a bundle carries the newest signed checkpoint, or null)',
    );
  });
});

describe('judgeCheckpoints (pure)', () => {
  const cp = (id: number, seq: number, hash = `h${seq}`): CheckpointRecord => ({
    format: 'orx.chain-checkpoint',
    version: 1,
    id,
    lineage: 'L',
    seq,
    hash,
    ts: `t${id}`,
    reason: 'apply',
    run_id: null,
    key_fingerprint: 'k',
    bundle: {},
  });
  const evidence = (over: Partial<CheckpointEvidence>): CheckpointEvidence => ({
    lineage: 'L',
    head: {seq: 10, hash: 'h10'},
    checkpoints: [],
    high_water: 0,
    hash_at: {},
    unfinished_runs: [],
    lock_held_live: null,
    ...over,
  });
  const allOk = (cps: CheckpointRecord[]) => new Map(cps.map((c) => [c.id, {ok: true as const, fingerprint: 'sha256:k'}]));

  it('deleted checkpoints: in the middle, and at the end (high-water mark)', () => {
    const cps = [cp(1, 4), cp(3, 8)];
    const v = judgeCheckpoints(
      evidence({checkpoints: cps, high_water: 5, hash_at: {4: 'h4', 8: 'h8'}, head: {seq: 8, hash: 'h8'}}),
      allOk(cps),
      1,
    );
    expect(v.problems.map((p) => p.reason)).toEqual([
      'checkpoints #4..#5 are missing at the end (deleted): the ledger once held checkpoint #5',
      'checkpoint #2 is missing before checkpoint #3 (deleted)',
    ]);
  });

  it('another lineage is named', () => {
    const cps = [{...cp(1, 10), lineage: 'OTHER'}];
    const v = judgeCheckpoints(evidence({checkpoints: cps, high_water: 1, hash_at: {10: 'h10'}}), allOk(cps), 1);
    expect(v.problems).toEqual([
      {kind: 'lineage', checkpoint: 1, reason: expect.stringMatching(/lineage OTHER, but this ledger's lineage is L/)},
    ]);
  });

  it('the oldest rewritten checkpoint is named once, with how many later ones disagree', () => {
    const cps = [cp(1, 3), cp(2, 6), cp(3, 9)];
    const v = judgeCheckpoints(
      evidence({checkpoints: cps, high_water: 3, hash_at: {3: 'h3', 6: 'x6', 9: 'x9'}, head: {seq: 9, hash: 'x9'}}),
      allOk(cps),
      1,
    );
    expect(v.problems).toEqual([
      {kind: 'rewritten', checkpoint: 2, seq: 6, reason: expect.stringMatching(/at or before seq 6 \(1 later checkpoint disagrees too\)/)},
    ]);
    expect(v.newest?.id).toBe(3);
  });

  it('only checkpoints whose signature verifies count: the newest valid one is the reference', () => {
    const cps = [cp(1, 3), cp(2, 10)];
    const sigs = new Map([
      [1, {ok: true as const, fingerprint: 'sha256:k'}],
      [2, {ok: false as const, reason: 'bad'}],
    ]);
    const v = judgeCheckpoints(evidence({checkpoints: cps, high_water: 2, hash_at: {3: 'h3', 10: 'h10'}}), sigs, 1);
    expect(v.newest?.id).toBe(1);
    expect(v.problems.map((p) => p.kind)).toEqual(['signature', 'unsigned_tail']);
  });
});
