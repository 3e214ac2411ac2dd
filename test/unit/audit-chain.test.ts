import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {chainHead, verifyAudit} from '../../src/audit/chain.js';
import {eventHash, GENESIS_HASH} from '../../src/ledger/event-hash.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {LATEST_SCHEMA_VERSION} from '../../src/ledger/migrations.js';
import {withReadLedger} from '../../src/ledger/session.js';
import {renderAuditVerification} from '../../src/ui/audit-view.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

let dir: string;
let l: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-audit-chain-'));
  l = Ledger.open(dir);
  const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 't'}); // seq 1
  l.appendEvents(Array.from({length: 9}, (_, i) => ({run_id: run.id, level: 'info' as const, message: `event ${i}`, payload: {i}}))); // seq 2..10
});
afterEach(() => {
  l.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

const sql = (s: string, ...params: unknown[]) =>
  rawSqlite(l)
    .prepare(s)
    .run(...params);

describe('audit verify (library)', () => {
  it('an intact chain: count and head', () => {
    const v = verifyAudit(l);
    expect(v).toEqual({ok: true, count: 10, head: l.chainHead(), break: null});
    expect(renderAuditVerification(v)).toMatch(/Chain intact: 10 events verified .* head seq 10 [0-9a-f]{64}/);
  });

  it('an edited message is found at its seq', () => {
    sql("UPDATE events SET message = 'nothing to see' WHERE seq = 4");
    const v = verifyAudit(l);
    expect(v).toMatchObject({ok: false, count: 3, break: {seq: 4, reason: expect.stringMatching(/edited/)}});
    expect(renderAuditVerification(v)).toMatch(/Chain BROKEN at seq 4/);
  });

  it('an edited level, ts, run or payload is found too', () => {
    for (const [col, value] of [
      ['level', 'debug'],
      ['ts', '2000-01-01T00:00:00.000Z'],
      ['run_id', 'run-forged'],
      ['payload', '{"i":42}'],
    ] as const) {
      const before = rawSqlite(l).prepare(`SELECT ${col} AS v FROM events WHERE seq = 6`).get() as {v: unknown};
      sql(`UPDATE events SET ${col} = ? WHERE seq = 6`, value);
      expect(verifyAudit(l), col).toMatchObject({ok: false, break: {seq: 6}});
      sql(`UPDATE events SET ${col} = ? WHERE seq = 6`, before.v);
      expect(verifyAudit(l).ok).toBe(true);
    }
  });

  it('a deleted row is found at the seq after the gap', () => {
    sql('DELETE FROM events WHERE seq = 5');
    expect(verifyAudit(l)).toMatchObject({ok: false, count: 4, break: {seq: 6, reason: expect.stringMatching(/event 5 is missing/)}});
  });

  it('rows deleted from the end are found (SQLite remembers the highest seq)', () => {
    sql('DELETE FROM events WHERE seq >= 9');
    expect(verifyAudit(l)).toMatchObject({
      ok: false,
      count: 8,
      break: {seq: 9, reason: expect.stringMatching(/events 9\.\.10 are missing at the end/)},
    });
    sql('DELETE FROM events WHERE seq = 8');
    expect(verifyAudit(l)).toMatchObject({ok: false, break: {seq: 8}});
  });

  it('a forged row inserted in the middle (with a self-consistent hash) is found at the row after it', () => {
    sql('UPDATE events SET seq = seq + 100 WHERE seq >= 5');
    sql('UPDATE events SET seq = seq - 99 WHERE seq >= 105');
    const prev = l.listEvents({after_seq: 3, limit: 1})[0];
    const fake = {seq: 5, run_id: null, step_id: null, ts: prev.ts, level: 'info', message: 'forged', payload: null, prev_hash: prev.hash};
    sql(
      'INSERT INTO events (seq, run_id, step_id, ts, level, message, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      5,
      null,
      null,
      fake.ts,
      'info',
      'forged',
      null,
      prev.hash,
      eventHash(fake),
    );
    expect(verifyAudit(l)).toMatchObject({ok: false, count: 5, break: {seq: 6, reason: expect.stringMatching(/prev_hash/)}});
  });

  it('a forged row appended at the end with a wrong link is found at its seq', () => {
    const fake = {
      seq: 11,
      run_id: null,
      step_id: null,
      ts: new Date().toISOString(),
      level: 'info',
      message: 'appended',
      payload: null,
      prev_hash: GENESIS_HASH,
    };
    sql(
      'INSERT INTO events (seq, run_id, step_id, ts, level, message, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      11,
      null,
      null,
      fake.ts,
      'info',
      'appended',
      null,
      GENESIS_HASH,
      eventHash(fake),
    );
    expect(verifyAudit(l)).toMatchObject({ok: false, break: {seq: 11}});
  });

  it('two rows with their seq swapped are found at the first of them', () => {
    rawSqlite(l).transaction(() => {
      sql('UPDATE events SET seq = -1 WHERE seq = 7');
      sql('UPDATE events SET seq = 7 WHERE seq = 8');
      sql('UPDATE events SET seq = 8 WHERE seq = -1');
    })();
    expect(verifyAudit(l)).toMatchObject({ok: false, count: 6, break: {seq: 7}});
  });

  it('works through a read-only handle while another handle holds the write lock', async () => {
    const writer = Ledger.open(dir);
    try {
      rawSqlite(writer).prepare('BEGIN IMMEDIATE').run();
      writer.appendEvent({level: 'info', message: 'uncommitted'});
      const v = await withReadLedger(dir, (r) => verifyAudit(r));
      expect(v).toMatchObject({ok: true, count: 10});
      rawSqlite(writer).prepare('COMMIT').run();
      expect(await withReadLedger(dir, (r) => chainHead(r))).toMatchObject({seq: 11, lineage: l.meta().lineage});
    } finally {
      writer.close();
    }
  });

  it('refuses a directory that is not a workspace', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-audit-none-'));
    await expect(withReadLedger(empty, () => 1)).rejects.toMatchObject({code: 'not_a_workspace'});
    fs.writeFileSync(path.join(empty, 'orchestration.yml'), 'workspace: x\n');
    await expect(withReadLedger(empty, () => 1)).rejects.toMatchObject({code: 'not_found'});
    fs.rmSync(empty, {recursive: true, force: true});
  });

  it('upgrades a ledger from before the snapshots migration, then reads it read-only', async () => {
    rawSqlite(l).exec('DROP TABLE snapshots');
    rawSqlite(l).pragma('user_version = 3');
    l.close();
    expect(await withReadLedger(dir, (r) => verifyAudit(r).ok)).toBe(true);
    l = Ledger.open(dir);
    expect(l.meta().schema_version).toBe(LATEST_SCHEMA_VERSION);
  });
});
