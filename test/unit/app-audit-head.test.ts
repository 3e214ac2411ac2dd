// `orx audit verify --head FILE` in-process (src/app/audit.ts): a signed head kept elsewhere,
// read defensively and checked against a real ledger that was then rolled back, rewritten or
// replaced. No Docker: runs and checkpoints are written as the engine writes them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {readSignedHead as readHeadOfLedger, verifyAuditTrail} from '../../src/app/audit.js';
import {checkpointChain} from '../../src/engine/checkpoint.js';
import {OrxError} from '../../src/errors.js';
import {storedEventHash} from '../../src/ledger/event-hash.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {initWorkspaceKey, keyPaths} from '../../src/trust/keys.js';
import {setColor} from '../../src/ui/color.js';
import {renderAuditVerification} from '../../src/ui/audit-view.js';
import {silentLogger} from '../../src/ui/logger.js';
import {context} from '../helpers/engine.js';
import {rawSqlite} from '../helpers/ledger-sql.js';
import {caughtAsync} from '../helpers/errors.js';

setColor(false);

let dir: string;
const dirs: string[] = [];

function workspace(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-app-head-'));
  dirs.push(d);
  fs.writeFileSync(path.join(d, 'orchestration.yml'), 'workspace: lab\n');
  return d;
}

/** A finished run of n events, then a signed checkpoint of the head, as an apply ends. */
async function runAndSign(d: string, n: number): Promise<void> {
  const l = Ledger.open(d);
  try {
    const r = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 't'});
    l.appendEvents(Array.from({length: n}, (_, i) => ({run_id: r.id, level: 'info' as const, message: `step ${i}`, payload: {i}})));
    l.finishRun(r.id, 'succeeded');
    const out = await checkpointChain({dir: d, version: '0', log: silentLogger}, l, null, {reason: 'apply', run_id: r.id});
    expect(out.status).toBe('signed');
  } finally {
    l.close();
  }
}

function withLedger<T>(d: string, fn: (l: Ledger) => T): T {
  const l = Ledger.open(d);
  try {
    return fn(l);
  } finally {
    l.close();
  }
}

async function keepHead(d: string, file = 'head.json'): Promise<string> {
  const head = await readHeadOfLedger(context(d));
  fs.writeFileSync(path.join(d, file), JSON.stringify(head));
  return file;
}

async function headCheck(d: string, file: string, trustedKeys: string[] = []) {
  const v = await verifyAuditTrail(context(d), {head: file, trustedKeys});
  expect(v.head_file).not.toBeNull();
  return {v, h: v.head_file!};
}

const refusal = (file: string): Promise<OrxError> => caughtAsync(verifyAuditTrail(context(dir), {head: file, trustedKeys: []}));

beforeEach(async () => {
  dir = workspace();
  initWorkspaceKey(dir);
  await runAndSign(dir, 3);
});
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

describe('a kept head against the ledger', () => {
  it('is found when the ledger still holds it, also in its --json envelope, and after later runs', async () => {
    const file = await keepHead(dir);
    const {v, h} = await headCheck(dir, file);
    expect(v.ok).toBe(true);
    expect(h).toMatchObject({file: 'head.json', ok: true, checkpoint: 1, reason: null});
    expect(h.signed_by).toMatch(/^sha256:/);
    expect(renderAuditVerification(v)).toContain('head.json');

    const head = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    fs.writeFileSync(path.join(dir, 'wrapped.json'), JSON.stringify({formatVersion: '1', checkpoint: head}));
    await runAndSign(dir, 2);
    const later = await headCheck(dir, 'wrapped.json');
    expect(later.h.ok).toBe(true);
    expect(later.v.checkpoints.count).toBe(2);
  });

  it('fails when the ledger was rolled back to before the kept head', async () => {
    const before = fs.readFileSync(Ledger.fileFor(dir));
    await runAndSign(dir, 2);
    const file = await keepHead(dir);
    fs.writeFileSync(Ledger.fileFor(dir), before);
    for (const ext of ['-wal', '-shm']) fs.rmSync(Ledger.fileFor(dir) + ext, {force: true});
    const {v, h} = await headCheck(dir, file);
    expect(v.chain_ok).toBe(true);
    expect(v.ok).toBe(false);
    expect(h.ok).toBe(false);
    expect(h.reason).toMatch(/^the ledger ends at seq \d+, before the kept head seq \d+ .*rolled back to an older copy or truncated$/);
    expect(renderAuditVerification(v)).toContain('rolled back');
  });

  it('fails when the event at the kept seq was rewritten and the later hashes recomputed', async () => {
    const file = await keepHead(dir);
    const seq = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).seq as number;
    withLedger(dir, (l) => {
      const db = rawSqlite(l);
      db.transaction(() => {
        db.prepare('UPDATE events SET message = ? WHERE seq = ?').run('forged', 2);
        const rows = db.prepare('SELECT * FROM events WHERE seq >= 2 ORDER BY seq').all() as Array<
          Parameters<typeof storedEventHash>[0] & {seq: number}
        >;
        let prev = (db.prepare('SELECT hash FROM events WHERE seq = 1').get() as {hash: string}).hash;
        for (const r of rows) {
          const hash = storedEventHash({...r, prev_hash: prev});
          db.prepare('UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
          prev = hash;
        }
      })();
    });
    const {v, h} = await headCheck(dir, file);
    expect(v.chain_ok).toBe(true);
    expect(h.ok).toBe(false);
    expect(h.reason).toContain(`the event at seq ${seq} hashes to`);
    expect(h.reason).toContain('the history up to it was rewritten');
  });

  it('fails when the event at the kept seq is gone', async () => {
    const file = await keepHead(dir);
    const seq = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).seq as number;
    await runAndSign(dir, 1);
    withLedger(dir, (l) => rawSqlite(l).prepare('DELETE FROM events WHERE seq = ?').run(seq));
    const {v, h} = await headCheck(dir, file);
    expect(v.chain_ok).toBe(false);
    expect(h.reason).toBe(`the event at the kept head seq ${seq} is missing (deleted)`);
  });

  it("fails for another ledger's head, even signed by the same key", async () => {
    const other = workspace();
    fs.mkdirSync(path.dirname(keyPaths(other).privateKey), {recursive: true});
    fs.copyFileSync(keyPaths(dir).privateKey, keyPaths(other).privateKey);
    await runAndSign(other, 1);
    const foreign = await keepHead(other);
    fs.copyFileSync(path.join(other, foreign), path.join(dir, 'foreign.json'));
    const {h} = await headCheck(dir, 'foreign.json');
    expect(h.ok).toBe(false);
    expect(h.reason).toMatch(/^it is a head of ledger lineage \S+; this ledger is \S+ \(replaced by another ledger\)$/);
  });

  it('fails when its signature is not by a trusted key, and when there is no key to check it with', async () => {
    const other = workspace();
    initWorkspaceKey(other);
    await runAndSign(other, 1);
    fs.copyFileSync(path.join(other, await keepHead(other)), path.join(dir, 'alien.json'));
    const alien = await headCheck(dir, 'alien.json');
    expect(alien.h.ok).toBe(false);
    expect(alien.h.reason).toMatch(/^its signature does not verify with the workspace key/);
    // the other workspace's public key, given as trusted, makes the signature good: then the lineage differs
    const trusted = await headCheck(dir, 'alien.json', [keyPaths(other).publicKey]);
    expect(trusted.h.reason).toMatch(/^it is a head of ledger lineage/);

    const file = await keepHead(dir);
    fs.rmSync(path.dirname(keyPaths(dir).privateKey), {recursive: true});
    const {v, h} = await headCheck(dir, file);
    expect(h.reason).toBe('no trusted key to check its signature with (pass --trusted-key)');
    expect(v.checkpoints.problems.map((p) => p.kind)).toEqual(['no_key']);
  });
});

describe('a head file that is not one', () => {
  it('is refused with the reason, never half-read', async () => {
    expect((await refusal('missing.json')).message).toMatch(/^Cannot read missing\.json: /);
    fs.mkdirSync(path.join(dir, 'adir'));
    expect((await refusal('adir')).message).toBe('adir is not a regular file');
    fs.writeFileSync(path.join(dir, 'huge.json'), Buffer.alloc((1 << 20) + 10, 0x20));
    expect((await refusal('huge.json')).message).toBe(`huge.json is larger than ${1 << 20} bytes: not a signed head`);
    fs.writeFileSync(path.join(dir, 'text.json'), 'not json');
    const notJson = await refusal('text.json');
    expect(notJson.code).toBe('invalid_head');
    expect(notJson.message).toMatch(/^text\.json is not JSON/);

    const good = JSON.parse(fs.readFileSync(path.join(dir, await keepHead(dir)), 'utf8')) as Record<string, unknown>;
    const cases: Array<[unknown, string]> = [
      [[1, 2], 'not a JSON object'],
      [{...good, format: 'x'}, 'no "format": "orx.chain-checkpoint"'],
      [{...good, version: 9}, 'version 9 is not 1'],
      [{...good, id: 0}, 'id is not a positive integer'],
      [{...good, seq: 1.5}, 'seq is not a positive integer'],
      [{...good, lineage: 7}, 'lineage is not a string'],
      [{...good, run_id: 5}, 'run_id is not a string or null'],
      [{...good, signature: null}, 'it has no signature'],
    ];
    for (const [doc, why] of cases) {
      fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(doc));
      const err = await refusal('bad.json');
      expect(err.code).toBe('invalid_head');
      expect(err.message).toBe(`bad.json is not a signed chain head (${why}).`);
    }
  });

  it('a ledger with no checkpoint yet has no signed head to keep', async () => {
    const fresh = workspace();
    withLedger(fresh, (l) => l.appendEvent({run_id: null, level: 'info', message: 'hello', payload: null}));
    const err = await readHeadOfLedger(context(fresh)).then(
      () => null,
      (e: unknown) => e as OrxError,
    );
    expect(err?.code).toBe('not_found');
    const v = await verifyAuditTrail(context(fresh), {trustedKeys: []});
    expect(v.ok).toBe(true);
    expect(v.checkpoints.notes[0]).toMatch(/^No signed checkpoint yet/);
  });
});
