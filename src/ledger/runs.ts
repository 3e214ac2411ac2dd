// The runs table: one row per plan or apply (DR ones included), with its start and end events.
import {OrxError} from '../errors.js';
import {sessionOf, type LedgerHandle} from './db.js';
import {insertEvent} from './events.js';
import {newId, notFound, now, parseJson, toJson} from './rows.js';
import type {RunMode, RunRecord, RunStatus} from './types.js';

export interface StartRunInput {
  kind: string;
  mode: RunMode;
  autonomy: number;
  actor: string;
  reason?: string | null;
  plan_id?: string | null;
  plan_digest?: string | null;
}

interface RunRow extends Omit<RunRecord, 'summary'> {
  summary: string | null;
}

const toRun = (r: RunRow): RunRecord => ({...r, summary: parseJson(r.summary)});

export function startRun(ledger: LedgerHandle, input: StartRunInput): RunRecord {
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
  const db = sessionOf(ledger);
  return db.write(() => {
    db.stmt(
      `INSERT INTO runs (id, kind, mode, status, autonomy, actor, reason, plan_id, plan_digest, started_at)
         VALUES (@id, @kind, @mode, @status, @autonomy, @actor, @reason, @plan_id, @plan_digest, @started_at)`,
    ).run(run);
    const {kind, mode, autonomy, actor, reason, plan_id, plan_digest} = run;
    insertEvent(db, {
      run_id: run.id,
      level: 'info',
      message: `run started: ${kind} ${mode}`,
      payload: {kind, mode, autonomy, actor, reason, plan_id, plan_digest},
    });
    return run;
  });
}

export function finishRun(ledger: LedgerHandle, id: string, status: RunStatus, summary?: Record<string, unknown> | null): RunRecord {
  const db = sessionOf(ledger);
  return db.write(() => {
    const res = db.stmt('UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?').run(status, now(), toJson(summary), id);
    if (res.changes === 0) throw notFound('run', id);
    insertEvent(db, {
      run_id: id,
      level: status === 'succeeded' ? 'info' : status === 'failed' ? 'error' : 'warn',
      message: `run ${status}`,
      payload: {status, summary: summary ?? null},
    });
    return getRun(db, id) as RunRecord;
  });
}

/** Accepts a full id or a unique prefix (as `orx runs ID` users type them). */
export function getRun(ledger: LedgerHandle, idOrPrefix: string): RunRecord | undefined {
  const db = sessionOf(ledger);
  const exact = db.stmt('SELECT * FROM runs WHERE id = ?').get(idOrPrefix) as RunRow | undefined;
  if (exact) return toRun(exact);
  if (idOrPrefix === '') return undefined;
  const like = idOrPrefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
  const rows = db.stmt("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 6").all(like) as RunRow[];
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

export function listRuns(ledger: LedgerHandle, opts: {limit?: number} = {}): RunRecord[] {
  // rowid is insertion order, which is exact even for two runs in the same millisecond.
  const rows = sessionOf(ledger)
    .stmt('SELECT * FROM runs ORDER BY rowid DESC LIMIT ?')
    .all(opts.limit ?? -1) as RunRow[];
  return rows.map(toRun);
}

/** Runs still marked running (a live apply, or one that was killed and never finished). */
export function unfinishedRuns(ledger: LedgerHandle): Array<{id: string; kind: string; started_at: string}> {
  return sessionOf(ledger).stmt("SELECT id, kind, started_at FROM runs WHERE status = 'running' ORDER BY rowid").all() as Array<{
    id: string;
    kind: string;
    started_at: string;
  }>;
}
