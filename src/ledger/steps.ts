// The steps table: one row per step of a run, keyed by its idempotency key so that a re-run
// after a crash resumes the step as a new attempt. Finishing a step commits its state changes.
import {sessionOf, type LedgerHandle} from './db.js';
import {insertEvent} from './events.js';
import {changeSummary, commitChanges} from './resources.js';
import {newId, notFound, now, parseJson, toJson} from './rows.js';
import {redact} from '../util/redact.js';
import type {StateChange, StepRecord, StepStatus} from './types.js';

export interface StartStepInput {
  run_id: string;
  address: string;
  action: string;
  idempotency_key: string;
  category?: string;
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

interface StepRow extends Omit<StepRecord, 'outcome'> {
  outcome: string | null;
}

const toStep = (r: StepRow): StepRecord => ({...r, outcome: parseJson(r.outcome)});

/** A step whose idempotency key already has a row (a re-run after a crash) is resumed as a new attempt. */
export function startStep(ledger: LedgerHandle, input: StartStepInput): StepRecord {
  const db = sessionOf(ledger);
  return db.write(() => {
    const existing = db.stmt('SELECT id FROM steps WHERE idempotency_key = ?').get(input.idempotency_key) as {id: string} | undefined;
    const id = existing?.id ?? newId('step');
    if (existing) {
      db.stmt(
        `UPDATE steps SET run_id = @run_id, address = @address, action = @action, category = @category, status = 'running',
             attempt = attempt + 1, error = NULL, outcome = NULL, started_at = @ts, finished_at = NULL
           WHERE id = @id`,
      ).run({category: null, ...input, id, ts: now()});
    } else {
      db.stmt(
        `INSERT INTO steps (id, run_id, address, action, category, status, attempt, idempotency_key, started_at)
           VALUES (@id, @run_id, @address, @action, @category, 'running', 1, @idempotency_key, @ts)`,
      ).run({category: null, ...input, id, ts: now()});
    }
    const step = getStep(db, id) as StepRecord;
    insertEvent(db, {
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
export function finishStep(ledger: LedgerHandle, input: FinishStepInput): {serial: number} {
  const db = sessionOf(ledger);
  return db.write(() => {
    const step = getStep(db, input.step_id);
    if (!step) throw notFound('step', input.step_id);
    db.stmt('UPDATE steps SET status = ?, error = ?, outcome = ?, finished_at = ? WHERE id = ?').run(
      input.status,
      input.error == null ? null : redact(input.error),
      toJson(input.outcome),
      now(),
      step.id,
    );
    const changes = input.changes ?? (input.change ? [input.change] : []);
    const serial = commitChanges(db, changes);
    insertEvent(db, {
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
export function knownStepKeys(ledger: LedgerHandle, keys: readonly string[]): ReadonlySet<string> {
  const db = sessionOf(ledger);
  const known = new Set<string>();
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += 500) {
    const chunk = unique.slice(i, i + 500);
    const sql = `SELECT idempotency_key AS k FROM steps WHERE idempotency_key IN (${chunk.map(() => '?').join(',')})`;
    const rows = db.prepare(sql).all(...chunk) as {k: string}[]; // not cached: the SQL varies with the chunk size
    for (const r of rows) known.add(r.k);
  }
  return known;
}

function getStep(ledger: LedgerHandle, id: string): StepRecord | undefined {
  const row = sessionOf(ledger).stmt('SELECT * FROM steps WHERE id = ?').get(id) as StepRow | undefined;
  return row && toStep(row);
}

export function listSteps(ledger: LedgerHandle, runId: string): StepRecord[] {
  const rows = sessionOf(ledger).stmt('SELECT * FROM steps WHERE run_id = ? ORDER BY started_at, rowid').all(runId) as StepRow[];
  return rows.map(toStep);
}

/** A finished step of an apply, with the kind of its run: what the readiness simulation learns from. */
export interface FinishedApplyStep {
  address: string;
  action: string;
  status: string;
  category: string | null;
  started_at: string;
  finished_at: string | null;
  run_kind: string;
}

/**
 * Every step of every APPLY run that succeeded, failed or was rolled back, noops left out,
 * in the order they started.
 */
export function finishedApplySteps(ledger: LedgerHandle): FinishedApplyStep[] {
  return sessionOf(ledger)
    .stmt(
      `SELECT s.address, s.action, s.status, s.category, s.started_at, s.finished_at, r.kind AS run_kind
       FROM steps s JOIN runs r ON r.id = s.run_id
       WHERE r.mode = 'APPLY' AND s.status IN ('succeeded', 'failed', 'rolled_back') AND s.action <> 'noop'
       ORDER BY s.started_at, s.rowid`,
    )
    .all() as FinishedApplyStep[];
}
