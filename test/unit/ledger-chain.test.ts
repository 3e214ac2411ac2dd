import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {eventHash, GENESIS_HASH} from '../../src/ledger/event-hash.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

let dir: string;
let l: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-chain-'));
  l = Ledger.open(dir);
  const run = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 't'}); // seq 1
  for (let i = 0; i < 8; i++) l.appendEvent({run_id: run.id, level: 'info', message: `event ${i}`, payload: {i, nested: {b: 1, a: [i]}}});
  // 9 events: seq 1..9
});
afterEach(() => {
  l.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

const sql = (s: string, ...params: unknown[]) =>
  rawSqlite(l)
    .prepare(s)
    .run(...params);

describe('hash-chained events', () => {
  it('links each row to the previous hash, starting at the genesis hash', () => {
    const events = l.listEvents();
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events[0].prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < events.length; i++) expect(events[i].prev_hash).toBe(events[i - 1].hash);
    for (const e of events) expect(eventHash(e)).toBe(e.hash);
    expect(events[3].payload).toEqual({i: 2, nested: {a: [2], b: 1}});
    expect(l.verifyChain()).toEqual({ok: true, count: 9, head: events[8].hash});
    expect(l.chainHead()).toEqual({seq: 9, hash: events[8].hash});
  });

  it('filters by run, after_seq and limit, ascending', () => {
    const other = l.appendEvent({level: 'warn', message: 'no run'});
    expect(other).toMatchObject({seq: 10, run_id: null, payload: null});
    const run = l.listEvents()[0].run_id!;
    expect(l.listEvents({run_id: run})).toHaveLength(9);
    expect(l.listEvents({after_seq: 7}).map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(l.listEvents({after_seq: 2, limit: 2}).map((e) => e.seq)).toEqual([3, 4]);
  });

  it('appendEvents writes a batch that continues the chain', () => {
    const batch = l.appendEvents([
      {level: 'info', message: 'a'},
      {level: 'debug', message: 'b', payload: {x: 1}},
    ]);
    expect(batch).toEqual({count: 2, head: l.chainHead()});
    const [a, b] = l.listEvents({after_seq: 9});
    expect([a.seq, b.seq]).toEqual([10, 11]);
    expect(b.prev_hash).toBe(a.hash);
    expect(batch.head.hash).toBe(b.hash);
    expect(l.verifyChain()).toMatchObject({ok: true, count: 11});
  });

  it('detects an edited message', () => {
    sql("UPDATE events SET message = 'nothing happened' WHERE seq = 5");
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 5, reason: expect.stringMatching(/edited/)});
  });

  it('detects an edited payload even when the row hash is recomputed (the next link breaks)', () => {
    const row = l.listEvents({after_seq: 3, limit: 1})[0];
    const forged = {...row, payload: {i: 99}};
    sql('UPDATE events SET payload = ?, hash = ? WHERE seq = 4', JSON.stringify(forged.payload), eventHash(forged));
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 5, reason: expect.stringMatching(/prev_hash/)});
  });

  it('detects a payload that is no longer JSON', () => {
    sql("UPDATE events SET payload = '{oops' WHERE seq = 2");
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 2});
  });

  it('detects a payload re-encoded with the same meaning (the stored bytes are what is hashed)', () => {
    sql('UPDATE events SET payload = ? WHERE seq = 3', JSON.stringify({nested: {a: [1], b: 1}, i: 1}, null, 1));
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 3});
  });

  it('detects a deleted row and names the missing seq', () => {
    sql('DELETE FROM events WHERE seq = 6');
    const v = l.verifyChain();
    expect(v).toMatchObject({ok: false, seq: 7});
    expect(v.ok === false && v.reason).toMatch(/event 6 is missing/);
  });

  it('detects a deleted first row', () => {
    sql('DELETE FROM events WHERE seq = 1');
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 2});
  });

  it('detects a payload re-encoded with the same meaning (the stored bytes are what is hashed)', () => {
    sql('UPDATE events SET payload = ? WHERE seq = 3', JSON.stringify({nested: {a: [1], b: 1}, i: 1}, null, 1));
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 3});
  });

  it('detects two rows swapped (seq values exchanged)', () => {
    rawSqlite(l).transaction(() => {
      sql('UPDATE events SET seq = -1 WHERE seq = 3');
      sql('UPDATE events SET seq = 3 WHERE seq = 4');
      sql('UPDATE events SET seq = 4 WHERE seq = -1');
    })();
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 3});
  });

  it('detects a row inserted in the middle with a valid-looking hash', () => {
    // Make room at seq 5 (two steps, because seq is unique while the update runs).
    sql('UPDATE events SET seq = seq + 100 WHERE seq >= 5');
    sql('UPDATE events SET seq = seq - 99 WHERE seq >= 105');
    const prev = l.listEvents({after_seq: 3, limit: 1})[0];
    const fake = {
      seq: 5,
      run_id: null,
      step_id: null,
      ts: prev.ts,
      level: 'info',
      message: 'inserted',
      payload: null,
      prev_hash: prev.hash,
    };
    sql(
      'INSERT INTO events (seq, run_id, step_id, ts, level, message, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      fake.seq,
      null,
      null,
      fake.ts,
      fake.level,
      fake.message,
      null,
      fake.prev_hash,
      eventHash(fake),
    );
    // The forged row itself is consistent; the row after it still points at the original seq 4.
    expect(l.verifyChain()).toMatchObject({ok: false, seq: 6, reason: expect.stringMatching(/prev_hash/)});
  });

  it('keeps the chain across handles and reopen', () => {
    const other = Ledger.open(dir);
    other.appendEvent({level: 'info', message: 'from the other handle'});
    other.close();
    l.appendEvent({level: 'info', message: 'from the first handle'});
    expect(l.verifyChain()).toMatchObject({ok: true, count: 11});
  });
});
