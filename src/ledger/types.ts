export type RunMode = 'PLAN' | 'APPLY';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
/** rolled_back: failed, and what it had touched was put back as it was */
export type StepStatus = 'running' | 'succeeded' | 'failed' | 'rolled_back' | 'skipped';
export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LedgerMeta {
  lineage: string;
  serial: number;
  schema_version: number;
}

export interface ResourceRecord {
  address: string;
  kind: string;
  /** last-applied attributes (never secret values) */
  attributes: Record<string, unknown>;
  /** the Docker object id (or other real-world id) this address is bound to */
  object_id: string | null;
  secret_fingerprints: Record<string, string>;
  /** the ledger serial at which this row was last written */
  serial: number;
  updated_at: string;
}

export interface RunRecord {
  id: string;
  kind: string;
  mode: RunMode;
  status: RunStatus;
  autonomy: number;
  actor: string;
  reason: string | null;
  plan_id: string | null;
  plan_digest: string | null;
  started_at: string;
  finished_at: string | null;
  summary: Record<string, unknown> | null;
}

export interface StepRecord {
  id: string;
  run_id: string;
  address: string;
  action: string;
  /** the step's safety category (READ..ROLLBACK), for rate limits; null on rows from before it was kept */
  category: string | null;
  status: StepStatus;
  attempt: number;
  idempotency_key: string;
  error: string | null;
  outcome: Record<string, unknown> | null;
  started_at: string;
  finished_at: string | null;
}

export interface EventRecord {
  seq: number;
  run_id: string | null;
  step_id: string | null;
  ts: string;
  level: EventLevel;
  message: string;
  payload: Record<string, unknown> | null;
  prev_hash: string;
  hash: string;
}

export interface LockRecord {
  id: string;
  name: string;
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** What a finished step does to the recorded state, written in the same transaction. */
export type StateChange =
  | {
      op: 'put';
      address: string;
      kind: string;
      attributes: Record<string, unknown>;
      object_id: string | null;
      /** keyed fingerprints of the secrets delivered (absent: unchanged) */ secret_fingerprints?: Record<string, string>;
    }
  | {op: 'delete'; address: string};
