// The Ledger: one open workspace ledger, as the rest of orx holds it. Its methods are the
// core tables' repositories (resources, runs, steps, events, locks, meta) bound to this
// session; the other tables' repositories (approvals, halt, activity, backups, snapshots,
// tokens, checkpoints, quiesced agents) are functions that take a Ledger. The SQLite handle
// itself is reachable from src/ledger only (db.ts).
import {LedgerDb, SESSION, type LedgerHandle, type OpenOptions} from './db.js';
import * as events from './events.js';
import type {AppendEventInput, ChainHead, ChainVerification} from './events.js';
import * as locks from './locks.js';
import {ledgerMeta} from './meta.js';
import * as resources from './resources.js';
import * as runs from './runs.js';
import type {StartRunInput} from './runs.js';
import * as steps from './steps.js';
import type {FinishStepInput, StartStepInput} from './steps.js';
import type {EventRecord, LedgerMeta, LockRecord, ResourceRecord, RunRecord, RunStatus, StateChange, StepRecord} from './types.js';

export class Ledger implements LedgerHandle {
  readonly #db: LedgerDb;

  private constructor(db: LedgerDb) {
    this.#db = db;
  }

  get [SESSION](): LedgerDb {
    return this.#db;
  }

  get path(): string {
    return this.#db.path;
  }

  static fileFor(workspaceDir: string): string {
    return LedgerDb.fileFor(workspaceDir);
  }

  static exists(workspaceDir: string): boolean {
    return LedgerDb.exists(workspaceDir);
  }

  /**
   * hashPipeline: false keeps bulk appends hashing on this thread (the benchmark compares the
   * two; nothing else needs to turn it off).
   */
  static open(workspaceDir: string, opts: OpenOptions = {}): Ledger {
    return new Ledger(LedgerDb.open(workspaceDir, opts));
  }

  close(): void {
    this.#db.close();
  }

  async backup(destPath: string): Promise<void> {
    await this.#db.backup(destPath);
  }

  meta(): LedgerMeta {
    return ledgerMeta(this.#db);
  }

  /** One immediate transaction; nested calls become savepoints, so repository writes compose. */
  write<T>(fn: () => T): T {
    return this.#db.write(fn);
  }

  /** One read transaction: every read in fn sees the same commit, writers are not blocked. */
  read<T>(fn: () => T): T {
    return this.#db.read(fn);
  }

  // ---- resources -------------------------------------------------------------------

  listResources(): ResourceRecord[] {
    return resources.listResources(this.#db);
  }

  getResource(address: string): ResourceRecord | undefined {
    return resources.getResource(this.#db, address);
  }

  applyStateChange(change: StateChange, opts: {runId?: string; stepId?: string; message?: string} = {}): number {
    return resources.applyStateChange(this.#db, change, opts);
  }

  /** `orx state rm`: forget an address without touching the real object. */
  removeResource(address: string, reason: string, runId?: string): number {
    return resources.removeResource(this.#db, address, reason, runId);
  }

  /** `orx state mv` and `moved:`: the record at `from` moves to `to`, object and all, in one transaction. */
  moveResource(from: string, to: string, reason: string, opts: {runId?: string; stepId?: string} = {}): number {
    return resources.moveResource(this.#db, from, to, reason, opts);
  }

  /** Marks a real object as deliberately unmanaged (removeResource already does this for its object). */
  forget(objectId: string, address = '', reason: string | null = null): void {
    resources.forget(this.#db, objectId, address, reason);
  }

  forgotten(): ReadonlySet<string> {
    return resources.forgotten(this.#db);
  }

  // ---- runs and steps ----------------------------------------------------------------

  startRun(input: StartRunInput): RunRecord {
    return runs.startRun(this.#db, input);
  }

  finishRun(id: string, status: RunStatus, summary?: Record<string, unknown> | null): RunRecord {
    return runs.finishRun(this.#db, id, status, summary);
  }

  /** Accepts a full id or a unique prefix (as `orx runs ID` users type them). */
  getRun(idOrPrefix: string): RunRecord | undefined {
    return runs.getRun(this.#db, idOrPrefix);
  }

  listRuns(opts: {limit?: number} = {}): RunRecord[] {
    return runs.listRuns(this.#db, opts);
  }

  /** A step whose idempotency key already has a row (a re-run after a crash) is resumed as a new attempt. */
  startStep(input: StartStepInput): StepRecord {
    return steps.startStep(this.#db, input);
  }

  /** Step row, state change and event commit together: a crash leaves all or none of them. */
  finishStep(input: FinishStepInput): {serial: number} {
    return steps.finishStep(this.#db, input);
  }

  /** Which of these idempotency keys some step has used: labels on orphans that orx itself created. */
  knownStepKeys(keys: readonly string[]): ReadonlySet<string> {
    return steps.knownStepKeys(this.#db, keys);
  }

  listSteps(runId: string): StepRecord[] {
    return steps.listSteps(this.#db, runId);
  }

  // ---- events ------------------------------------------------------------------------

  appendEvent(input: AppendEventInput): EventRecord {
    return events.appendEvent(this.#db, input);
  }

  /** Many events in one transaction: the fast path for bulk writers (events.ts). */
  appendEvents(inputs: readonly AppendEventInput[]): {count: number; head: ChainHead} {
    return events.appendEvents(this.#db, inputs);
  }

  /** Waits (briefly) for the hashing thread of bulk appends to be up; false if there is none. */
  warmHashPipeline(): boolean {
    return events.warmHashPipeline(this.#db);
  }

  /** How bulk appends were hashed so far (jobs on the worker, rows that fell back here). */
  hashPipelineStats(): {jobs: number; fallbackRows: number} | null {
    return events.hashPipelineStats(this.#db);
  }

  listEvents(opts: {run_id?: string; after_seq?: number; limit?: number} = {}): EventRecord[] {
    return events.listEvents(this.#db, opts);
  }

  /** The newest event's seq and hash: what signed artefacts pin the history to. */
  chainHead(): ChainHead {
    return events.chainHead(this.#db);
  }

  /** Recomputes every hash and link from `from` (default: the genesis hash); the first break names its seq. */
  verifyChain(from?: ChainHead): ChainVerification {
    return events.verifyChain(this.#db, from);
  }

  // ---- locks -------------------------------------------------------------------------

  /** Takes the workspace lock or throws exit 4 naming the holder (and whether it is stale). */
  acquireLock(input: {name?: string; pid: number; host: string; command: string}): LockRecord {
    return locks.acquireLock(this.#db, input);
  }

  /** The workspace lock, waiting up to `timeoutMs` for its holder to let go (`-lock-timeout`). */
  acquireLockWaiting(
    input: {name?: string; pid: number; host: string; command: string},
    timeoutMs: number,
    onWait?: (held: LockRecord) => void,
  ): Promise<LockRecord> {
    return locks.acquireLockWaiting(this.#db, input, timeoutMs, onWait);
  }

  /** Removes the lock only if it is still ours: a force-unlocked holder must not free its successor's lock. */
  releaseLock(id: string): boolean {
    return locks.releaseLock(this.#db, id);
  }

  forceUnlock(id: string, reason: string, actor: string): LockRecord {
    return locks.forceUnlock(this.#db, id, reason, actor);
  }

  currentLock(name = 'workspace'): LockRecord | undefined {
    return locks.currentLock(this.#db, name);
  }
}
