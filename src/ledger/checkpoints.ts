// Signed checkpoints of the chain head. The hash chain alone only shows that the rows agree
// with each other: whoever can write the file can edit a row and recompute every later hash,
// or delete the newest rows. A checkpoint is the head (seq, hash) signed with the workspace
// key, which that writer does not have, so a recomputed or truncated chain no longer matches.
import {canonicalJson} from '../util/canonical-json.js';
import {sessionOf} from './db.js';
import type {Ledger} from './ledger.js';

export const CHECKPOINT_FORMAT = 'orx.chain-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** Exactly the fields the signature covers. */
export interface CheckpointStatement {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** 1, 2, 3, ... in the order they were written: a gap means checkpoints were deleted */
  id: number;
  lineage: string;
  seq: number;
  hash: string;
  ts: string;
  /** what ended: apply, approve, halt, resume, state-rm, ... */
  reason: string;
  run_id: string | null;
}

export interface CheckpointRecord extends CheckpointStatement {
  key_fingerprint: string;
  /** a Sigstore bundle (v0.3 JSON) over checkpointBytes(statement) */
  bundle: Record<string, unknown>;
}

/** The document `orx audit head --signed` prints: the statement with its signature beside it. */
export interface SignedHead extends CheckpointStatement {
  signature: Record<string, unknown>;
}

interface Row extends Omit<CheckpointRecord, 'format' | 'version' | 'bundle'> {
  bundle: string;
}

/** The bytes signed: canonical JSON of the statement, nothing else (as plan files and audit bundles do). */
export function checkpointBytes(s: CheckpointStatement): Buffer {
  const {format, version, id, lineage, seq, hash, ts, reason, run_id} = s;
  return Buffer.from(canonicalJson({format, version, id, lineage, seq, hash, ts, reason, run_id}), 'utf8');
}

const toRecord = (r: Row): CheckpointRecord => ({
  format: CHECKPOINT_FORMAT,
  version: CHECKPOINT_VERSION,
  id: r.id,
  lineage: r.lineage,
  seq: r.seq,
  hash: r.hash,
  ts: r.ts,
  reason: r.reason,
  run_id: r.run_id,
  key_fingerprint: r.key_fingerprint,
  bundle: JSON.parse(r.bundle) as Record<string, unknown>,
});

export function toSignedHead(cp: CheckpointRecord): SignedHead {
  const {key_fingerprint: _fp, bundle, ...statement} = cp;
  return {...statement, signature: bundle};
}

/** The id the next checkpoint gets: one past the highest ever written, deleted ones included. */
export function nextCheckpointId(ledger: Ledger): number {
  return checkpointHighWater(ledger) + 1;
}

/** The highest checkpoint id this ledger ever held (SQLite keeps it for AUTOINCREMENT tables). */
export function checkpointHighWater(ledger: Ledger): number {
  const row = sessionOf(ledger).stmt("SELECT seq FROM sqlite_sequence WHERE name = 'checkpoints'").get() as {seq: number} | undefined;
  return row?.seq ?? 0;
}

/**
 * Stores a signed checkpoint in one transaction. False (and nothing written) when another
 * process stored one with that id first: the caller signs again with the next id.
 */
export function storeCheckpoint(ledger: Ledger, cp: CheckpointRecord): boolean {
  return ledger.write(() => {
    if (nextCheckpointId(ledger) !== cp.id) return false;
    sessionOf(ledger)
      .stmt(
        `INSERT INTO checkpoints (id, lineage, seq, hash, ts, reason, run_id, key_fingerprint, bundle)
         VALUES (@id, @lineage, @seq, @hash, @ts, @reason, @run_id, @key_fingerprint, @bundle)`,
      )
      .run({...cp, bundle: JSON.stringify(cp.bundle)});
    return true;
  });
}

/** Every checkpoint, oldest first. */
export function listCheckpoints(ledger: Ledger): CheckpointRecord[] {
  return (sessionOf(ledger).stmt('SELECT * FROM checkpoints ORDER BY id').all() as Row[]).map(toRecord);
}

export function latestCheckpoint(ledger: Ledger): CheckpointRecord | null {
  const row = sessionOf(ledger).stmt('SELECT * FROM checkpoints ORDER BY id DESC LIMIT 1').get() as Row | undefined;
  return row ? toRecord(row) : null;
}
