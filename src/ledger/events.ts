// The events table: the hash-chained audit history. Appends (one, or many in a batch whose
// hashing can go to a worker thread), reads, the chain head and the chain's verification.
import type Database from 'better-sqlite3';
import {redact} from '../util/redact.js';
import {sha256Hex} from '../util/canonical-json.js';
import {sessionOf, type LedgerDb, type LedgerHandle} from './db.js';
import {eventHashInput, GENESIS_HASH, storedEventHash, type EventRowFields} from './event-hash.js';
import {HashPipeline} from './hash-pipeline.js';
import {now, parseJson} from './rows.js';
import type {EventLevel, EventRecord} from './types.js';

export interface AppendEventInput {
  run_id?: string | null;
  step_id?: string | null;
  level: EventLevel;
  message: string;
  payload?: Record<string, unknown> | null;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export type ChainVerification = {ok: true; count: number; head: string} | {ok: false; seq: number; reason: string};

interface EventRow extends Omit<EventRecord, 'payload'> {
  payload: string | null;
}

const toEvent = (r: EventRow): EventRecord => ({...r, payload: parseJson(r.payload)});

// Below this many events a batch is hashed here: handing it over would cost more than it saves.
const PIPELINE_MIN_ROWS = 256;

/** Per session: the insert statement (the hot path) and the hashing thread of bulk appends. */
interface Writer {
  insert: Database.Statement;
  /** undefined: not started yet; null: none (disabled, read-only or closed) */
  pipeline: HashPipeline | null | undefined;
}

const writers = new WeakMap<LedgerDb, Writer>();

function writerOf(db: LedgerDb): Writer {
  let w = writers.get(db);
  if (!w) {
    const writer: Writer = {
      insert: db.stmt(
        `INSERT INTO events (seq, run_id, step_id, ts, level, message, payload, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      pipeline: undefined,
    };
    db.onClose(() => {
      writer.pipeline?.close();
      writer.pipeline = null;
    });
    writers.set(db, (w = writer));
  }
  return w;
}

function pipelineOf(db: LedgerDb): HashPipeline | null {
  const w = writerOf(db);
  if (w.pipeline === undefined) w.pipeline = db.hashPipeline && !db.readonly ? new HashPipeline() : null;
  return w.pipeline;
}

/** Must run inside a write transaction so that reading the tail and appending are atomic. */
export function insertEvent(ledger: LedgerHandle, input: AppendEventInput): EventRecord {
  const db = sessionOf(ledger);
  const tail = chainHead(db);
  const row = rowFields(input, tail.seq + 1);
  const {hash} = insertRow(db, row, tail.hash);
  return {...row, level: input.level, payload: input.payload ?? null, prev_hash: tail.hash, hash};
}

export function appendEvent(ledger: LedgerHandle, input: AppendEventInput): EventRecord {
  const db = sessionOf(ledger);
  return db.write(() => insertEvent(db, input));
}

/**
 * Many events in one transaction: the fast path for bulk writers. Large batches are hashed
 * on a worker thread while this one inserts (hash-pipeline.ts); the rows and hashes are the
 * same either way.
 */
export function appendEvents(ledger: LedgerHandle, inputs: readonly AppendEventInput[]): {count: number; head: ChainHead} {
  const db = sessionOf(ledger);
  return db.write(() => {
    // the tail is read once; after that it is the row just written
    let tail: ChainHead = chainHead(db);
    const pipe = inputs.length >= PIPELINE_MIN_ROWS ? pipelineOf(db) : null;
    if (!pipe?.ready) {
      for (const input of inputs) tail = insertRow(db, rowFields(input, tail.seq + 1), tail.hash);
      return {count: inputs.length, head: tail};
    }
    const rows = inputs.map((input, i) => rowFields(input, tail.seq + 1 + i));
    for (let i = 0; i < rows.length;) {
      const taken = pipe.submit(rows, i, tail.hash);
      if (taken === 0) {
        tail = insertRow(db, rows[i], tail.hash);
        i++;
        continue;
      }
      for (let k = 0; k < taken; k++) tail = insertRow(db, rows[i + k], tail.hash, pipe.hash(k));
      i += taken;
    }
    return {count: inputs.length, head: tail};
  });
}

function rowFields(input: AppendEventInput, seq: number): EventRowFields {
  const text = input.payload == null ? undefined : JSON.stringify(input.payload);
  return {
    seq,
    run_id: input.run_id ?? null,
    step_id: input.step_id ?? null,
    ts: now(),
    level: input.level,
    message: redact(input.message),
    // JSON.stringify, not canonical JSON: the hash covers the stored text byte for byte, so
    // key order does not matter, and this is the hot path of appending. A payload that
    // serialises to nothing or to null is stored as NULL, which is what reading it back gives.
    payload: text === undefined || text === 'null' ? null : redact(text),
  };
}

/** Writes one row (hashing it here unless the pipeline already did); returns the new tail. */
function insertRow(db: LedgerDb, row: EventRowFields, prevHash: string, hash = sha256Hex(eventHashInput(prevHash, row))): ChainHead {
  writerOf(db).insert.run(row.seq, row.run_id, row.step_id, row.ts, row.level, row.message, row.payload, prevHash, hash);
  return {seq: row.seq, hash};
}

/** Waits (briefly) for the hashing thread of bulk appends to be up; false if there is none. */
export function warmHashPipeline(ledger: LedgerHandle): boolean {
  return pipelineOf(sessionOf(ledger))?.whenReady() ?? false;
}

/** The session's bulk-hashing thread, if one was started (tests stop its worker to check the fallback). */
export function hashPipelineOf(ledger: LedgerHandle): HashPipeline | null {
  return writers.get(sessionOf(ledger))?.pipeline ?? null;
}

/** How bulk appends were hashed so far (jobs on the worker, rows that fell back here). */
export function hashPipelineStats(ledger: LedgerHandle): {jobs: number; fallbackRows: number} | null {
  const pipe = hashPipelineOf(ledger);
  return pipe ? {...pipe.stats} : null;
}

export function listEvents(ledger: LedgerHandle, opts: {run_id?: string; after_seq?: number; limit?: number} = {}): EventRecord[] {
  const where = ['seq > @after'];
  if (opts.run_id !== undefined) where.push('run_id = @run_id');
  const rows = sessionOf(ledger)
    .stmt(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`)
    .all({after: opts.after_seq ?? 0, run_id: opts.run_id, limit: opts.limit ?? -1}) as EventRow[];
  return rows.map(toEvent);
}

/**
 * The smallest contiguous seq interval holding every event that matches (null bounds: none
 * does). Events of other runs in between belong to it: a range with holes could not show
 * that nothing was deleted.
 */
export function eventSeqBounds(
  ledger: LedgerHandle,
  match: {since: string | null; until: string | null; run_id: string | null},
): {lo: number | null; hi: number | null} {
  return sessionOf(ledger)
    .stmt(
      `SELECT min(seq) AS lo, max(seq) AS hi FROM events
       WHERE (@since IS NULL OR ts >= @since) AND (@until IS NULL OR ts <= @until) AND (@run IS NULL OR run_id = @run)`,
    )
    .get({since: match.since, until: match.until, run: match.run_id}) as {lo: number | null; hi: number | null};
}

/** The events from seq lo to hi, both included, in order. */
export function eventsBetween(ledger: LedgerHandle, lo: number, hi: number): EventRecord[] {
  const rows = sessionOf(ledger).stmt('SELECT * FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq').all(lo, hi) as EventRow[];
  return rows.map(toEvent);
}

/** How many events are stored before this seq. */
export function countEventsBefore(ledger: LedgerHandle, seq: number): number {
  return (sessionOf(ledger).stmt('SELECT count(*) AS n FROM events WHERE seq < ?').get(seq) as {n: number}).n;
}

/**
 * The highest seq the events table ever held: AUTOINCREMENT's high-water mark, which SQLite
 * keeps even when the newest rows are deleted.
 */
export function highestEventSeqEver(ledger: LedgerHandle): number {
  const row = sessionOf(ledger).stmt("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as {seq: number} | undefined;
  return row?.seq ?? 0;
}

/** The stored hash of the event at `seq`, or null when there is no such row. */
export function eventHashAt(ledger: LedgerHandle, seq: number): string | null {
  const row = sessionOf(ledger).stmt('SELECT hash FROM events WHERE seq = ?').get(seq) as {hash: string} | undefined;
  return row?.hash ?? null;
}

/** The newest event's seq and hash: what signed artefacts pin the history to. */
export function chainHead(ledger: LedgerHandle): ChainHead {
  const last = sessionOf(ledger).stmt('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as ChainHead | undefined;
  return last ?? {seq: 0, hash: GENESIS_HASH};
}

/**
 * Recomputes every hash and link; the first break names its seq. `from` starts after a row
 * already trusted (a checkpoint's seq and hash) instead of at the genesis hash; count is the
 * seq of the last row that verified.
 */
export function verifyChain(ledger: LedgerHandle, from: ChainHead = {seq: 0, hash: GENESIS_HASH}): ChainVerification {
  let expected = from.seq + 1;
  let prev = from.hash;
  const rows = sessionOf(ledger).stmt('SELECT * FROM events WHERE seq > ? ORDER BY seq').iterate(from.seq) as Iterable<EventRow>;
  for (const row of rows) {
    if (row.seq !== expected) {
      const reason =
        row.seq > expected
          ? `event${row.seq - expected > 1 ? `s ${expected}..${row.seq - 1} are` : ` ${expected} is`} missing before seq ${row.seq} (deleted)`
          : `unexpected seq ${row.seq}, expected ${expected}`;
      return {ok: false, seq: row.seq, reason};
    }
    if (row.prev_hash !== prev) {
      return {
        ok: false,
        seq: row.seq,
        reason: `prev_hash does not match the hash of seq ${row.seq - 1} (row inserted, reordered or replaced)`,
      };
    }
    if (storedEventHash(row) !== row.hash) {
      return {ok: false, seq: row.seq, reason: 'hash does not match the row contents (row edited)'};
    }
    prev = row.hash;
    expected++;
  }
  return {ok: true, count: expected - 1, head: prev};
}
