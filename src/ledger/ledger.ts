import {createHash, randomInt} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {eventHashInput, storedEventHash, type EventRowFields} from './event-hash.js';
import {canonicalJson, GENESIS_HASH, legacyEventHash, sha256Hex} from './hash.js';
import {HashPipeline} from './hash-pipeline.js';
import {redact} from '../util/redact.js';
import {LATEST_SCHEMA_VERSION, migrate, schemaVersion} from './migrations.js';
import type {
  EventLevel,
  EventRecord,
  LedgerMeta,
  LockRecord,
  ResourceRecord,
  RunMode,
  RunRecord,
  RunStatus,
  StateChange,
  StepRecord,
  StepStatus,
} from './types.js';

export const LEDGER_DIR = '.orx';
export const LEDGER_FILE = 'ledger.db';

export interface StartRunInput {
  kind: string;
  mode: RunMode;
  autonomy: number;
  actor: string;
  reason?: string | null;
  plan_id?: string | null;
  plan_digest?: string | null;
}

export interface FinishStepInput {
  step_id: string;
  status: StepStatus;
  error?: string | null;
  outcome?: Record<string, unknown> | null;
  change?: StateChange;
  /** instead of `change`: every state change of the step, committed as one serial */
  changes?: StateChange[];
  message?: string;
}

export interface AppendEventInput {
  run_id?: string | null;
  step_id?: string | null;
  level: EventLevel;
  message: string;
  payload?: Record<string, unknown> | null;
}

export type ChainVerification = {ok: true; count: number; head: string} | {ok: false; seq: number; reason: string};

// Date#toISOString costs about a microsecond; events come many to a millisecond when batched.
let lastMs = Number.NaN;
let lastIso = '';
const now = (): string => {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
};

/** Ids sort by creation time: a fixed-width base36 millisecond stamp, then randomness. */
export function newId(prefix: string): string {
  let rand = '';
  for (let i = 0; i < 6; i++) rand += randomInt(36).toString(36);
  return `${prefix}-${Date.now().toString(36).padStart(9, '0')}${rand}`;
}

const parseJson = <T>(text: string | null): T | null => (text == null ? null : (JSON.parse(text) as T));
// Secret values never enter the ledger: every text written is redacted (a no-op until a
// value has been resolved in this process).
const toJson = (v: unknown): string | null => (v == null ? null : redact(canonicalJson(v)));

// Below this many events a batch is hashed here: handing it over would cost more than it saves.
const PIPELINE_MIN_ROWS = 256;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export class Ledger {
  readonly path: string;
  readonly readonly: boolean;
  /** The raw handle, for ledger modules added by later issues (approvals, backups, snapshots). */
  readonly sqlite: Database.Database;

  // better-sqlite3 does not cache statements, and preparing dominates small writes.
  private readonly stmts = new Map<string, Database.Statement>();
  private insertStmt: Database.Statement | undefined;
  private pipeline: HashPipeline | null | undefined;
  private readonly pipelineAllowed: boolean;
  private v2From: number | undefined;

  private constructor(file: string, db: Database.Database, readonly: boolean, hashPipeline: boolean) {
    this.path = file;
    this.sqlite = db;
    this.readonly = readonly;
    this.pipelineAllowed = hashPipeline;
  }

  static fileFor(workspaceDir: string): string {
    return path.resolve(workspaceDir, LEDGER_DIR, LEDGER_FILE);
  }

  static exists(workspaceDir: string): boolean {
    return fs.existsSync(Ledger.fileFor(workspaceDir));
  }

  /**
   * hashPipeline: false keeps bulk appends hashing on this thread (the benchmark compares the
   * two; nothing else needs to turn it off).
   */
  static open(workspaceDir: string, opts: {readonly?: boolean; hashPipeline?: boolean} = {}): Ledger {
    const file = Ledger.fileFor(workspaceDir);
    const readonly = opts.readonly === true;
    let db: Database.Database | undefined;
    try {
      if (readonly) {
        if (!fs.existsSync(file)) {
          throw new OrxError({
            code: 'not_found',
            message: `No ledger at ${file}: nothing has been recorded in this workspace yet.`,
            actions: ['Run `orx apply` (or `orx init`) in this workspace first.'],
            data: {path: file},
          });
        }
      } else {
        fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
        // Created 0600 up front; SQLite gives the -wal/-shm files the same mode.
        fs.closeSync(fs.openSync(file, 'a', 0o600));
      }
      db = new Database(file, {readonly, fileMustExist: true});
      db.pragma('busy_timeout = 5000');
      // Read the header before writing anything: garbage fails here, a newer schema is left untouched.
      const version = schemaVersion(db);
      if (version > LATEST_SCHEMA_VERSION) throw newerSchema(file, version);
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      if (readonly && version < LATEST_SCHEMA_VERSION) {
        throw new OrxError({
          code: 'ledger_outdated',
          message: `The ledger at ${file} has schema version ${version}; this orx needs ${LATEST_SCHEMA_VERSION} and cannot upgrade it read-only.`,
          actions: ['Run a command that writes to the ledger once (e.g. `orx plan`) to upgrade it, then retry.'],
          data: {path: file, version, supported: LATEST_SCHEMA_VERSION},
        });
      }
      if (!readonly) migrate(db);
      db.prepare('SELECT count(*) FROM meta').get(); // touches the schema: catches corruption past the header
      return new Ledger(file, db, readonly, opts.hashPipeline !== false);
    } catch (err) {
      try {
        db?.close();
      } catch {
        /* already failing; the original error is the one worth reporting */
      }
      throw openError(file, err);
    }
  }

  close(): void {
    this.pipeline?.close();
    this.pipeline = null;
    if (this.sqlite.open) this.sqlite.close();
  }

  async backup(destPath: string): Promise<void> {
    await this.sqlite.backup(destPath);
  }

  meta(): LedgerMeta {
    const rows = this.stmt('SELECT key, value FROM meta').all() as {key: string; value: string}[];
    const m = new Map(rows.map((r) => [r.key, r.value]));
    return {lineage: m.get('lineage') ?? '', serial: Number(m.get('serial') ?? 0), schema_version: schemaVersion(this.sqlite)};
  }

  // ---- resources -------------------------------------------------------------------

  listResources(): ResourceRecord[] {
    return (this.stmt('SELECT * FROM resources ORDER BY address').all() as ResourceRow[]).map(toResource);
  }

  getResource(address: string): ResourceRecord | undefined {
    const row = this.stmt('SELECT * FROM resources WHERE address = ?').get(address) as ResourceRow | undefined;
    return row && toResource(row);
  }

  applyStateChange(change: StateChange, opts: {runId?: string; stepId?: string; message?: string} = {}): number {
    return this.write(() => {
      const serial = this.changeInTx(change);
      this.insertEvent({
        run_id: opts.runId,
        step_id: opts.stepId,
        level: 'info',
        message: opts.message ?? `state ${change.op} ${change.address}`,
        payload: {change: changeSummary(change, serial)},
      });
      return serial;
    });
  }

  /** `orx state rm`: forget an address without touching the real object. */
  removeResource(address: string, reason: string, runId?: string): number {
    return this.write(() => {
      const existing = this.getResource(address);
      if (!existing) {
        throw new OrxError({
          code: 'not_found',
          message: `No resource at address "${address}" in the recorded state.`,
          actions: ['`orx state list` shows the recorded addresses.'],
          data: {address},
        });
      }
      const serial = this.changeInTx({op: 'delete', address});
      if (existing.object_id) this.forgetInTx(existing.object_id, address, reason);
      this.insertEvent({
        run_id: runId,
        level: 'warn',
        message: `state rm ${address}: ${reason}`,
        payload: {address, kind: existing.kind, object_id: existing.object_id, reason, serial},
      });
      return serial;
    });
  }

  /**
   * Marks a real object as deliberately unmanaged, so refresh neither adopts it nor offers
   * to delete it. removeResource already does this; kept for callers that forget by id.
   */
  forget(objectId: string, address = '', reason: string | null = null): void {
    this.write(() => this.forgetInTx(objectId, address, reason));
  }

  forgotten(): ReadonlySet<string> {
    return new Set((this.stmt('SELECT object_id FROM forgotten').all() as {object_id: string}[]).map((r) => r.object_id));
  }

  private forgetInTx(objectId: string, address: string, reason: string | null): void {
    this.stmt(
      `INSERT INTO forgotten (object_id, address, reason, ts) VALUES (?, ?, ?, ?)
       ON CONFLICT(object_id) DO UPDATE SET address = CASE WHEN excluded.address = '' THEN address ELSE excluded.address END,
         reason = COALESCE(excluded.reason, reason)`,
    ).run(objectId, address, reason, now());
  }

  private changeInTx(change: StateChange): number {
    const serial = this.meta().serial + 1;
    this.stmt("UPDATE meta SET value = ? WHERE key = 'serial'").run(String(serial));
    this.writeChange(change, serial);
    return serial;
  }

  private writeChange(change: StateChange, serial: number): void {
    if (change.op === 'delete') {
      this.stmt('DELETE FROM resources WHERE address = ?').run(change.address);
    } else {
      const c = change;
      this.stmt(
        `INSERT INTO resources (address, kind, attributes, object_id, secret_fingerprints, serial, updated_at)
           VALUES (@address, @kind, @attributes, @object_id, @fps, @serial, @ts)
           ON CONFLICT(address) DO UPDATE SET kind = excluded.kind, attributes = excluded.attributes,
             object_id = excluded.object_id, secret_fingerprints = COALESCE(@fps_given, resources.secret_fingerprints),
             serial = excluded.serial, updated_at = excluded.updated_at`,
      ).run({
        address: c.address,
        kind: c.kind,
        attributes: canonicalJson(c.attributes ?? {}),
        object_id: c.object_id ?? null,
        fps: canonicalJson(c.secret_fingerprints ?? {}),
        // a put that says nothing of secrets (a resize, a recorded no-op) keeps their fingerprints
        fps_given: c.secret_fingerprints === undefined ? null : canonicalJson(c.secret_fingerprints),
        serial,
        ts: now(),
      });
      // Binding an address to an object again (import) ends an earlier `state rm`.
      if (c.object_id) this.stmt('DELETE FROM forgotten WHERE object_id = ?').run(c.object_id);
    }
  }

  // ---- runs ------------------------------------------------------------------------

  startRun(input: StartRunInput): RunRecord {
    const run: RunRecord = {
      id: newId('run'),
      kind: input.kind,
      mode: input.mode,
      status: 'running',
      autonomy: input.autonomy,
      actor: input.actor,
      reason: input.reason ?? null,
      plan_id: input.plan_id ?? null,
      plan_digest: input.plan_digest ?? null,
      started_at: now(),
      finished_at: null,
      summary: null,
    };
    return this.write(() => {
      this.stmt(
        `INSERT INTO runs (id, kind, mode, status, autonomy, actor, reason, plan_id, plan_digest, started_at)
           VALUES (@id, @kind, @mode, @status, @autonomy, @actor, @reason, @plan_id, @plan_digest, @started_at)`,
      ).run(run);
      const {kind, mode, autonomy, actor, reason, plan_id, plan_digest} = run;
      this.insertEvent({
        run_id: run.id,
        level: 'info',
        message: `run started: ${kind} ${mode}`,
        payload: {kind, mode, autonomy, actor, reason, plan_id, plan_digest},
      });
      return run;
    });
  }

  finishRun(id: string, status: RunStatus, summary?: Record<string, unknown> | null): RunRecord {
    return this.write(() => {
      const res = this.stmt('UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?').run(
        status,
        now(),
        toJson(summary),
        id,
      );
      if (res.changes === 0) throw notFound('run', id);
      this.insertEvent({
        run_id: id,
        level: status === 'succeeded' ? 'info' : status === 'failed' ? 'error' : 'warn',
        message: `run ${status}`,
        payload: {status, summary: summary ?? null},
      });
      return this.getRun(id) as RunRecord;
    });
  }

  /** Accepts a full id or a unique prefix (as `orx runs ID` users type them). */
  getRun(idOrPrefix: string): RunRecord | undefined {
    const exact = this.stmt('SELECT * FROM runs WHERE id = ?').get(idOrPrefix) as RunRow | undefined;
    if (exact) return toRun(exact);
    if (idOrPrefix === '') return undefined;
    const like = idOrPrefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
    const rows = this.stmt("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 6").all(like) as RunRow[];
    if (rows.length > 1) {
      throw new OrxError({
        code: 'ambiguous',
        message: `Run id prefix "${idOrPrefix}" matches more than one run.`,
        actions: [`Use more characters, e.g. one of: ${rows.map((r) => r.id).join(', ')}`],
        data: {prefix: idOrPrefix, matches: rows.map((r) => r.id)},
      });
    }
    return rows[0] && toRun(rows[0]);
  }

  listRuns(opts: {limit?: number} = {}): RunRecord[] {
    // rowid is insertion order, which is exact even for two runs in the same millisecond.
    const rows = this.stmt('SELECT * FROM runs ORDER BY rowid DESC LIMIT ?').all(opts.limit ?? -1) as RunRow[];
    return rows.map(toRun);
  }

  // ---- steps -----------------------------------------------------------------------

  /** A step whose idempotency key already has a row (a re-run after a crash) is resumed as a new attempt. */
  startStep(input: {run_id: string; address: string; action: string; idempotency_key: string; category?: string}): StepRecord {
    return this.write(() => {
      const existing = this.stmt('SELECT id FROM steps WHERE idempotency_key = ?').get(input.idempotency_key) as {id: string} | undefined;
      const id = existing?.id ?? newId('step');
      if (existing) {
        this.stmt(
          `UPDATE steps SET run_id = @run_id, address = @address, action = @action, category = @category, status = 'running',
               attempt = attempt + 1, error = NULL, outcome = NULL, started_at = @ts, finished_at = NULL
             WHERE id = @id`,
        ).run({category: null, ...input, id, ts: now()});
      } else {
        this.stmt(
          `INSERT INTO steps (id, run_id, address, action, category, status, attempt, idempotency_key, started_at)
             VALUES (@id, @run_id, @address, @action, @category, 'running', 1, @idempotency_key, @ts)`,
        ).run({category: null, ...input, id, ts: now()});
      }
      const step = this.getStep(id) as StepRecord;
      this.insertEvent({
        run_id: step.run_id,
        step_id: id,
        level: 'info',
        message: `${step.address}: ${step.action} started${step.attempt > 1 ? ` (attempt ${step.attempt})` : ''}`,
        payload: {address: step.address, action: step.action, attempt: step.attempt, idempotency_key: step.idempotency_key},
      });
      return step;
    });
  }

  /** Step row, state change and event commit together: a crash leaves all or none of them. */
  finishStep(input: FinishStepInput): {serial: number} {
    return this.write(() => {
      const step = this.getStep(input.step_id);
      if (!step) throw notFound('step', input.step_id);
      this.stmt('UPDATE steps SET status = ?, error = ?, outcome = ?, finished_at = ? WHERE id = ?').run(
        input.status,
        input.error == null ? null : redact(input.error),
        toJson(input.outcome),
        now(),
        step.id,
      );
      // several changes of one step (a restore swaps a volume and its agents) are one serial
      const changes = input.changes ?? (input.change ? [input.change] : []);
      let serial = this.meta().serial;
      if (changes.length > 0) {
        serial = this.changeInTx(changes[0]);
        for (const c of changes.slice(1)) this.writeChange(c, serial);
      }
      this.insertEvent({
        run_id: step.run_id,
        step_id: step.id,
        level: input.status === 'failed' ? 'error' : input.status === 'rolled_back' ? 'warn' : 'info',
        message: input.message ?? `${step.address}: ${step.action} ${input.status}`,
        payload: {
          address: step.address,
          action: step.action,
          status: input.status,
          attempt: step.attempt,
          error: input.error ?? null,
          change: changes.length === 1 ? changeSummary(changes[0], serial) : null,
          ...(changes.length > 1 ? {changes: changes.map((c) => changeSummary(c, serial))} : {}),
        },
      });
      return {serial};
    });
  }

  /** Which of these idempotency keys some step has used: labels on orphans that orx itself created. */
  knownStepKeys(keys: readonly string[]): ReadonlySet<string> {
    const known = new Set<string>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const sql = `SELECT idempotency_key AS k FROM steps WHERE idempotency_key IN (${chunk.map(() => '?').join(',')})`;
      const rows = this.sqlite.prepare(sql).all(...chunk) as {k: string}[]; // not cached: the SQL varies with the chunk size
      for (const r of rows) known.add(r.k);
    }
    return known;
  }

  getStep(id: string): StepRecord | undefined {
    const row = this.stmt('SELECT * FROM steps WHERE id = ?').get(id) as StepRow | undefined;
    return row && toStep(row);
  }

  listSteps(runId: string): StepRecord[] {
    const rows = this.stmt('SELECT * FROM steps WHERE run_id = ? ORDER BY started_at, rowid').all(runId) as StepRow[];
    return rows.map(toStep);
  }

  // ---- events ----------------------------------------------------------------------

  appendEvent(input: AppendEventInput): EventRecord {
    return this.write(() => this.insertEvent(input));
  }

  /**
   * Many events in one transaction: the fast path for bulk writers. Large batches are hashed
   * on a worker thread while this one inserts (hash-pipeline.ts); the rows and hashes are the
   * same either way.
   */
  appendEvents(inputs: readonly AppendEventInput[]): {count: number; head: {seq: number; hash: string}} {
    return this.write(() => {
      // the tail is read once; after that it is the row just written
      let tail: {seq: number; hash: string} = this.chainHead();
      const pipe = inputs.length >= PIPELINE_MIN_ROWS ? this.hashPipeline() : null;
      if (!pipe?.ready) {
        for (const input of inputs) tail = this.insertRow(this.rowFields(input, tail.seq + 1), tail.hash);
        return {count: inputs.length, head: tail};
      }
      const rows = inputs.map((input, i) => this.rowFields(input, tail.seq + 1 + i));
      for (let i = 0; i < rows.length;) {
        const taken = pipe.submit(rows, i, tail.hash);
        if (taken === 0) {
          tail = this.insertRow(rows[i], tail.hash);
          i++;
          continue;
        }
        for (let k = 0; k < taken; k++) tail = this.insertRow(rows[i + k], tail.hash, pipe.hash(k));
        i += taken;
      }
      return {count: inputs.length, head: tail};
    });
  }

  /** Must run inside a write transaction so that reading the tail and appending are atomic. */
  private insertEvent(input: AppendEventInput, tail = this.chainHead()): EventRecord {
    const row = this.rowFields(input, tail.seq + 1);
    const {hash} = this.insertRow(row, tail.hash);
    return {...row, level: input.level, payload: input.payload ?? null, prev_hash: tail.hash, hash};
  }

  private rowFields(input: AppendEventInput, seq: number): EventRowFields {
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
  private insertRow(row: EventRowFields, prevHash: string, hash = sha256Hex(eventHashInput(prevHash, row))): {seq: number; hash: string} {
    (this.insertStmt ??= this.sqlite.prepare(
      `INSERT INTO events (seq, run_id, step_id, ts, level, message, payload, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )).run(row.seq, row.run_id, row.step_id, row.ts, row.level, row.message, row.payload, prevHash, hash);
    return {seq: row.seq, hash};
  }

  private hashPipeline(): HashPipeline | null {
    if (this.pipeline === undefined) this.pipeline = this.pipelineAllowed && !this.readonly ? new HashPipeline() : null;
    return this.pipeline;
  }

  /** Waits (briefly) for the hashing thread of bulk appends to be up; false if there is none. */
  warmHashPipeline(): boolean {
    return this.hashPipeline()?.whenReady() ?? false;
  }

  /** How bulk appends were hashed so far (jobs on the worker, rows that fell back here). */
  hashPipelineStats(): {jobs: number; fallbackRows: number} | null {
    return this.pipeline ? {...this.pipeline.stats} : null;
  }

  listEvents(opts: {run_id?: string; after_seq?: number; limit?: number} = {}): EventRecord[] {
    const where = ['seq > @after'];
    if (opts.run_id !== undefined) where.push('run_id = @run_id');
    const rows = this.stmt(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`).all({
      after: opts.after_seq ?? 0,
      run_id: opts.run_id,
      limit: opts.limit ?? -1,
    }) as EventRow[];
    return rows.map(toEvent);
  }

  /** The first seq hashed in event hash format 2 (event-hash.ts); rows before it use format 1. */
  chainV2From(): number {
    if (this.v2From === undefined) {
      const row = this.stmt("SELECT value FROM meta WHERE key = 'chain_v2_from'").get() as {value: string} | undefined;
      // a ledger from before migration 5 (read-only handles refuse those) was all format 1
      this.v2From = row ? Number(row.value) : Number.MAX_SAFE_INTEGER;
    }
    return this.v2From;
  }

  /** The newest event's seq and hash: what signed artefacts pin the history to. */
  chainHead(): {seq: number; hash: string} {
    const last = this.stmt('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as {seq: number; hash: string} | undefined;
    return last ?? {seq: 0, hash: GENESIS_HASH};
  }

  /**
   * Recomputes every hash and link; the first break names its seq. `from` starts after a row
   * already trusted (a checkpoint's seq and hash) instead of at the genesis hash; count is the
   * seq of the last row that verified.
   */
  verifyChain(from: {seq: number; hash: string} = {seq: 0, hash: GENESIS_HASH}): ChainVerification {
    const v2From = this.chainV2From();
    let expected = from.seq + 1;
    let prev = from.hash;
    for (const row of this.stmt('SELECT * FROM events WHERE seq > ? ORDER BY seq').iterate(from.seq) as Iterable<EventRow>) {
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
      const computed = row.seq < v2From ? legacyEventHash(row, row.payload ?? 'null') : storedEventHash(row);
      if (computed !== row.hash) {
        return {ok: false, seq: row.seq, reason: 'hash does not match the row contents (row edited)'};
      }
      prev = row.hash;
      expected++;
    }
    return {ok: true, count: expected - 1, head: prev};
  }

  // ---- locks -----------------------------------------------------------------------

  /** Takes the workspace lock or throws exit 4 naming the holder (and whether it is stale). */
  acquireLock(input: {name?: string; pid: number; host: string; command: string}): LockRecord {
    const lock: LockRecord = {
      id: newId('lock'),
      name: input.name ?? 'workspace',
      pid: input.pid,
      host: input.host,
      command: input.command,
      since: now(),
    };
    return this.write(() => {
      const held = this.currentLock(lock.name);
      if (held) throw lockedError(held);
      this.stmt('INSERT INTO locks (name, id, pid, host, command, since) VALUES (@name, @id, @pid, @host, @command, @since)').run(lock);
      return lock;
    });
  }

  /** Removes the lock only if it is still ours: a force-unlocked holder must not free its successor's lock. */
  releaseLock(id: string): boolean {
    return this.write(() => this.stmt('DELETE FROM locks WHERE id = ?').run(id).changes > 0);
  }

  forceUnlock(id: string, reason: string, actor: string): LockRecord {
    if (!reason.trim()) {
      throw new OrxError({
        code: 'invalid_input',
        message: 'force-unlock needs a reason; it is recorded in the audit log.',
        actions: [`orx force-unlock ${id} --reason "..."`],
      });
    }
    return this.write(() => {
      const lock = this.stmt('SELECT * FROM locks WHERE id = ?').get(id) as LockRecord | undefined;
      if (!lock) {
        const held = this.stmt('SELECT * FROM locks ORDER BY since').all() as LockRecord[];
        throw new OrxError({
          code: 'not_found',
          message: `No lock with id "${id}".${held.length ? ` Current lock${held.length > 1 ? 's' : ''}: ${held.map((l) => l.id).join(', ')}.` : ' The workspace is not locked.'}`,
          actions: held.length ? ['Check the lock id (it is printed in the "workspace locked" error) and retry.'] : [],
          data: {id, locks: held},
        });
      }
      this.stmt('DELETE FROM locks WHERE id = ?').run(id);
      this.insertEvent({level: 'warn', message: `force-unlock ${id} by ${actor}: ${reason}`, payload: {lock: {...lock}, actor, reason}});
      return {...lock};
    });
  }

  currentLock(name = 'workspace'): LockRecord | undefined {
    const row = this.stmt('SELECT * FROM locks WHERE name = ?').get(name) as LockRecord | undefined;
    return row && {...row};
  }

  private stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.sqlite.prepare(sql)));
    return st;
  }

  // IMMEDIATE: take the write lock before reading, so read-then-write never fails with
  // SQLITE_BUSY_SNAPSHOT when another process committed in between (busy_timeout covers the wait).
  /** One immediate transaction; nested calls become savepoints, so modules can compose writes. */
  write<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }
}

// ---- rows and errors -----------------------------------------------------------------

interface ResourceRow extends Omit<ResourceRecord, 'attributes' | 'secret_fingerprints'> {
  attributes: string;
  secret_fingerprints: string;
}
interface RunRow extends Omit<RunRecord, 'summary'> {
  summary: string | null;
}
interface StepRow extends Omit<StepRecord, 'outcome'> {
  outcome: string | null;
}
interface EventRow extends Omit<EventRecord, 'payload'> {
  payload: string | null;
}

const toResource = (r: ResourceRow): ResourceRecord => ({
  ...r,
  attributes: JSON.parse(r.attributes) as Record<string, unknown>,
  secret_fingerprints: JSON.parse(r.secret_fingerprints) as Record<string, string>,
});
const toRun = (r: RunRow): RunRecord => ({...r, summary: parseJson(r.summary)});
const toStep = (r: StepRow): StepRecord => ({...r, outcome: parseJson(r.outcome)});
const toEvent = (r: EventRow): EventRecord => ({...r, payload: parseJson(r.payload)});

/** What an event says about a state change: enough to audit it, without copying every attribute. */
function changeSummary(change: StateChange, serial: number): Record<string, unknown> {
  if (change.op === 'delete') return {op: 'delete', address: change.address, serial};
  return {
    op: 'put',
    address: change.address,
    kind: change.kind,
    object_id: change.object_id,
    attributes_sha256: createHash('sha256')
      .update(canonicalJson(change.attributes ?? {}))
      .digest('hex'),
    serial,
  };
}

function notFound(what: string, id: string): OrxError {
  return new OrxError({code: 'not_found', message: `No ${what} with id "${id}" in the ledger.`, data: {[what]: id}});
}

function lockedError(lock: LockRecord): OrxError {
  const stale = lock.host === os.hostname() && !pidAlive(lock.pid);
  const unlock = `orx force-unlock ${lock.id} --reason "..."`;
  const holder = `pid ${lock.pid} on ${lock.host} (\`${lock.command}\`) since ${lock.since}`;
  return new OrxError({
    code: 'locked',
    exit: EXIT.LOCKED,
    message: stale
      ? `The ${lock.name} lock ${lock.id} is STALE: held by pid ${lock.pid} which is no longer running (\`${lock.command}\` on ${lock.host} since ${lock.since}).`
      : `The ${lock.name} is locked by ${holder}, lock id ${lock.id}.`,
    actions: stale
      ? [`Check nothing else is changing this workspace, then: ${unlock}`]
      : [`Wait for pid ${lock.pid} to finish, then retry.`, `If you are sure it is gone: ${unlock}`],
    data: {lock: {...lock}, stale},
  });
}

function newerSchema(file: string, version: number): OrxError {
  return new OrxError({
    code: 'ledger_newer',
    message: `The ledger at ${file} has schema version ${version}, newer than this orx understands (${LATEST_SCHEMA_VERSION}).`,
    actions: ['Upgrade orx to the version that last wrote this workspace (npm i -g orchestrix@latest), then retry.'],
    data: {path: file, version, supported: LATEST_SCHEMA_VERSION},
  });
}

function openError(file: string, err: unknown): OrxError {
  if (err instanceof OrxError) return err;
  const code = String((err as {code?: unknown}).code ?? '');
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new OrxError({
      code: 'ledger_corrupt',
      message: `The ledger at ${file} is damaged or not an orx ledger (${detail}).`,
      actions: [
        `Move it aside: mv "${file}" "${file}.damaged"`,
        'Restore the latest backup from .orx/backups, or start a fresh ledger and re-adopt running objects with `orx import`.',
      ],
      data: {path: file, sqlite_code: code},
      cause: err,
    });
  }
  const fsCode = ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR'].includes(code);
  if (fsCode || /^SQLITE_(CANTOPEN|PERM|READONLY|IOERR|AUTH)/.test(code)) {
    return new OrxError({
      code: 'ledger_unreadable',
      message: `Cannot open the ledger at ${file} (${detail}).`,
      actions: [`Check that ${path.dirname(file)} and its files exist and are readable and writable by this user.`],
      data: {path: file, error_code: code},
      cause: err,
    });
  }
  return new OrxError({
    code: 'ledger_open_failed',
    kind: 'external',
    message: `Opening the ledger at ${file} failed: ${detail}`,
    actions: ['Rerun with --debug; if the file is damaged, move it aside and restore a backup.'],
    data: {path: file, error_code: code},
    cause: err,
  });
}
