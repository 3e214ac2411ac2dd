// Contract snapshots: the canonical JSON of every applied configuration, content-addressed
// (id = sha256 of that JSON), each pointing at the snapshot that was in force before it,
// with the digest of the policy files in force. Written with one hash-chained event, in
// one transaction, so the history of what was applied is as tamper-evident as the rest.
import {OrxError} from '../errors.js';
import {canonicalJson, sha256Hex} from '../util/canonical-json.js';
import {sessionOf} from './db.js';
import type {Ledger} from './ledger.js';
import {metaValue, setMetaValue} from './meta.js';

export interface SnapshotRecord {
  /** sha256 hex of canonicalJson(config) */
  id: string;
  /** the snapshot in force when this configuration was first applied (null for the first) */
  parent: string | null;
  /** the run that first applied it */
  run_id: string | null;
  config: unknown;
  policy_digest: string | null;
  created_at: string;
}

export interface RecordSnapshotInput {
  run_id: string | null;
  /** the applied configuration (a WorkspaceConfig); secrets are references only */
  config: unknown;
  policy_digest: string | null;
}

export interface RecordSnapshotResult {
  id: string;
  parent: string | null;
  /** false when this configuration was recorded before (no new row) */
  created: boolean;
}

/** What is in force now: the last configuration applied and the policy digest it was applied with. */
export interface SnapshotHead {
  id: string;
  policy_digest: string | null;
  run_id: string | null;
  at: string;
}

const HEAD_KEY = 'snapshot_head';

interface SnapshotRow extends Omit<SnapshotRecord, 'config'> {
  config: string;
}

const toSnapshot = (r: SnapshotRow): SnapshotRecord => ({...r, config: JSON.parse(r.config) as unknown});

export function currentSnapshot(ledger: Ledger): SnapshotHead | null {
  const value = metaValue(ledger, HEAD_KEY);
  return value === undefined ? null : (JSON.parse(value) as SnapshotHead);
}

/**
 * Records the configuration an apply put in force. The same configuration again gives the
 * same id and no new row. Applying an older configuration again (or the same one under a
 * different policy digest) adds no row either, but moves what is in force and says so in
 * an event, so the next new snapshot's parent is the one really applied before it.
 */
export function recordSnapshot(ledger: Ledger, input: RecordSnapshotInput): RecordSnapshotResult {
  const json = canonicalJson(input.config);
  const id = sha256Hex(json);
  const policy = input.policy_digest ?? null;
  const runId = input.run_id ?? null;
  return ledger.write(() => {
    const head = currentSnapshot(ledger);
    const existing = sessionOf(ledger).stmt('SELECT id, parent FROM snapshots WHERE id = ?').get(id) as
      {id: string; parent: string | null} | undefined;
    if (existing && head?.id === id && head.policy_digest === policy) return {id, parent: existing.parent, created: false};

    const at = new Date().toISOString();
    const parent = existing ? existing.parent : (head?.id ?? null);
    if (!existing) {
      sessionOf(ledger)
        .stmt('INSERT INTO snapshots (id, parent, run_id, config, policy_digest, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, parent, runId, json, policy, at);
    }
    const next: SnapshotHead = {id, policy_digest: policy, run_id: runId, at};
    setMetaValue(ledger, HEAD_KEY, canonicalJson(next));
    const short = id.slice(0, 12);
    const message = !existing
      ? `contract snapshot ${short} recorded${parent ? ` (parent ${parent.slice(0, 12)})` : ''}`
      : head?.id === id
        ? `contract snapshot ${short} re-applied under policy digest ${policy?.slice(0, 12) ?? '(none)'}`
        : `contract snapshot ${short} applied again (was ${head?.id.slice(0, 12) ?? 'none'})`;
    ledger.appendEvent({
      run_id: runId,
      level: 'info',
      message,
      payload: {snapshot: {id, parent, policy_digest: policy, created: !existing, previous: head?.id ?? null}},
    });
    return {id, parent, created: !existing};
  });
}

/** A full id or a unique prefix, as users copy them from `orx history`. */
export function resolveSnapshot(ledger: Ledger, idOrPrefix: string): SnapshotRecord {
  const wanted = idOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(wanted)) {
    throw new OrxError({
      code: 'invalid_input',
      message: `"${idOrPrefix}" is not a snapshot id: ids are sha256 hex (or a unique prefix of one).`,
      actions: ['`orx history` lists the snapshot ids.'],
      data: {id: idOrPrefix},
    });
  }
  const rows = sessionOf(ledger)
    .stmt('SELECT * FROM snapshots WHERE id >= ? AND id < ? ORDER BY id LIMIT 6')
    .all(wanted, `${wanted}g`) as SnapshotRow[];
  if (rows.length === 0) {
    throw new OrxError({
      code: 'not_found',
      message: `No contract snapshot with id ${wanted.length < 64 ? 'prefix ' : ''}"${wanted}".`,
      actions: ['`orx history` lists the snapshot ids.'],
      data: {id: wanted},
    });
  }
  if (rows.length > 1 && rows[0].id !== wanted) {
    throw new OrxError({
      code: 'ambiguous',
      message: `Snapshot id prefix "${wanted}" matches more than one snapshot.`,
      actions: [`Use more characters, e.g. one of: ${rows.map((r) => r.id.slice(0, 16)).join(', ')}`],
      data: {prefix: wanted, matches: rows.map((r) => r.id)},
    });
  }
  return toSnapshot(rows[0]);
}

/** Newest first (in the order they were recorded: a clock that went back cannot reorder them). */
export function listSnapshots(ledger: Ledger, opts: {limit?: number} = {}): SnapshotRecord[] {
  const rows = sessionOf(ledger)
    .stmt('SELECT * FROM snapshots ORDER BY rowid DESC LIMIT ?')
    .all(opts.limit ?? -1) as SnapshotRow[];
  return rows.map(toSnapshot);
}

/** These snapshots (those that exist), oldest first. */
export function getSnapshots(ledger: Ledger, ids: Iterable<string>): SnapshotRecord[] {
  return selectIn(ledger, 'id', [...new Set(ids)]);
}

/** The snapshots first applied by these runs, oldest first. */
export function snapshotsForRuns(ledger: Ledger, runIds: Iterable<string>): SnapshotRecord[] {
  return selectIn(ledger, 'run_id', [...new Set(runIds)]);
}

function selectIn(ledger: Ledger, column: 'id' | 'run_id', values: string[]): SnapshotRecord[] {
  const rows: Array<SnapshotRow & {rid: number}> = [];
  for (let i = 0; i < values.length; i += 500) {
    const chunk = values.slice(i, i + 500);
    const sql = `SELECT rowid AS rid, * FROM snapshots WHERE ${column} IN (${chunk.map(() => '?').join(',')})`;
    rows.push(
      ...(sessionOf(ledger)
        .prepare(sql)
        .all(...chunk) as Array<SnapshotRow & {rid: number}>),
    );
  }
  return rows.sort((a, b) => a.rid - b.rid).map(({rid: _rid, ...r}) => toSnapshot(r));
}
