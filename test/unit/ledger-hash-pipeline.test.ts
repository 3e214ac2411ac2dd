// Bulk appends hash the chain on a worker thread; the rows must be exactly what hashing
// here would have written, and a worker that dies or stalls must not lose or corrupt a row.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {verifyAudit} from '../../src/audit/chain.js';
import {GENESIS_HASH, storedEventHash} from '../../src/ledger/event-hash.js';
import {HashPipeline} from '../../src/ledger/hash-pipeline.js';
import {hashPipelineOf, type AppendEventInput} from '../../src/ledger/events.js';
import {Ledger} from '../../src/ledger/ledger.js';

let dir: string;
let l: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-pipeline-'));
  l = Ledger.open(dir);
});
afterEach(() => {
  l.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

const events = (n: number, from = 0): AppendEventInput[] =>
  Array.from({length: n}, (_, i) => ({
    run_id: `run-${Math.floor((from + i) / 100)}`,
    step_id: i % 3 === 0 ? null : `step-${from + i}`,
    level: 'info' as const,
    message: `event ${from + i} ü😀 "quoted"`,
    payload: i % 5 === 0 ? null : {i: from + i, nested: {b: [1, 'x'], a: null}, long: 'y'.repeat((i * 37) % 900)},
  }));

describe('hash pipeline', () => {
  it('bulk appends are hashed on the worker and verify row by row', () => {
    expect(l.warmHashPipeline()).toBe(true);
    for (let b = 0; b < 5; b++) l.appendEvents(events(1000, b * 1000));
    expect(l.hashPipelineStats()).toMatchObject({jobs: 5, fallbackRows: 0});
    expect(verifyAudit(l)).toMatchObject({ok: true, count: 5000});
  });

  it('small batches, and ledgers opened with hashPipeline: false, never start a worker', () => {
    l.appendEvents(events(100));
    expect(l.hashPipelineStats()).toBeNull();
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-pipeline-off-'));
    const off = Ledger.open(other, {hashPipeline: false});
    try {
      off.appendEvents(events(1000));
      expect(off.warmHashPipeline()).toBe(false);
      expect(off.hashPipelineStats()).toBeNull();
      expect(verifyAudit(off)).toMatchObject({ok: true, count: 1000});
    } finally {
      off.close();
      fs.rmSync(other, {recursive: true, force: true});
    }
  });

  it('gives the same hashes as hashing here, for a job that spans rows of every size', () => {
    const p = new HashPipeline();
    try {
      expect(p.whenReady()).toBe(true);
      const rows = Array.from({length: 600}, (_, i) => ({
        seq: i + 1,
        run_id: i % 2 ? null : 'r',
        step_id: null,
        ts: '2026-01-01T00:00:00.000Z',
        level: 'info',
        message: `m${i}`,
        payload: i % 7 ? JSON.stringify({i, pad: 'é'.repeat(i * 11)}) : null,
      }));
      const got: string[] = [];
      for (let i = 0; i < rows.length;) {
        const taken = p.submit(rows, i, got.at(-1) ?? GENESIS_HASH);
        expect(taken).toBeGreaterThan(0);
        for (let k = 0; k < taken; k++) got.push(p.hash(k));
        i += taken;
      }
      let prev = GENESIS_HASH;
      rows.forEach((r, i) => {
        const expected = storedEventHash({...r, prev_hash: prev});
        expect(got[i]).toBe(expected);
        prev = expected;
      });
      expect(p.stats.fallbackRows).toBe(0);
    } finally {
      p.close();
    }
  });

  it('a worker that is gone mid-way: the rows are hashed here and the chain still verifies', async () => {
    expect(l.warmHashPipeline()).toBe(true);
    l.appendEvents(events(1000));
    // stop the worker behind the pipeline's back, as a crash would
    const worker = (hashPipelineOf(l) as unknown as {worker: {terminate(): Promise<number>}}).worker;
    await worker.terminate();
    l.appendEvents(events(1000, 1000));
    l.appendEvents(events(1000, 2000));
    expect(verifyAudit(l)).toMatchObject({ok: true, count: 3000});
  });

  it('a batch that fails half-way is rolled back whole, and the next batch chains onto the old tail', () => {
    expect(l.warmHashPipeline()).toBe(true);
    l.appendEvents(events(1000));
    const head = l.chainHead();
    const bad = events(1000, 1000);
    (bad[600] as {level: unknown}).level = null;
    expect(() => l.appendEvents(bad)).toThrow();
    expect(l.chainHead()).toEqual(head);
    l.appendEvents(events(1000, 2000));
    expect(l.hashPipelineStats()!.jobs).toBeGreaterThanOrEqual(2);
    expect(verifyAudit(l)).toMatchObject({ok: true, count: 2000});
  });

  it('a stalled worker: after stallMs the row is hashed here and the worker is not used again', () => {
    const p = new HashPipeline({stallMs: 50});
    try {
      expect(p.whenReady()).toBe(true);
      const rows = [{seq: 1, run_id: null, step_id: null, ts: 't', level: 'info', message: 'm', payload: null}];
      // the worker leaves its loop without the pipeline hearing of it (no event loop turn in
      // between): the next job is never taken, so the main thread waits, gives up, hashes here
      const ctrl = (p as unknown as {ctrl: Int32Array}).ctrl;
      Atomics.store(ctrl, 1, -1);
      Atomics.notify(ctrl, 1);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      Atomics.store(ctrl, 1, 0);
      expect(p.submit(rows, 0, GENESIS_HASH)).toBe(1);
      const t0 = Date.now();
      expect(p.hash(0)).toBe(storedEventHash({...rows[0], prev_hash: GENESIS_HASH}));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
      expect(p.stats.fallbackRows).toBe(1);
      expect(p.ready).toBe(false);
      expect(p.submit(rows, 0, GENESIS_HASH)).toBe(0);
    } finally {
      p.close();
    }
  });
});
