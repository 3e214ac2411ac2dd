// The resources table (the recorded state: last-applied attributes per address, each write
// a new serial) and the forgotten table (objects `state rm` left running, which refresh
// must neither adopt nor call orphans).
import {createHash} from 'node:crypto';
import {OrxError} from '../errors.js';
import {canonicalJson} from '../util/canonical-json.js';
import {sessionOf, type LedgerHandle} from './db.js';
import {insertEvent} from './events.js';
import {bumpSerial, ledgerMeta} from './meta.js';
import {now} from './rows.js';
import type {ResourceRecord, StateChange} from './types.js';

interface ResourceRow extends Omit<ResourceRecord, 'attributes' | 'secret_fingerprints'> {
  attributes: string;
  secret_fingerprints: string;
}

const toResource = (r: ResourceRow): ResourceRecord => ({
  ...r,
  attributes: JSON.parse(r.attributes) as Record<string, unknown>,
  secret_fingerprints: JSON.parse(r.secret_fingerprints) as Record<string, string>,
});

export function listResources(ledger: LedgerHandle): ResourceRecord[] {
  return (sessionOf(ledger).stmt('SELECT * FROM resources ORDER BY address').all() as ResourceRow[]).map(toResource);
}

export function getResource(ledger: LedgerHandle, address: string): ResourceRecord | undefined {
  const row = sessionOf(ledger).stmt('SELECT * FROM resources WHERE address = ?').get(address) as ResourceRow | undefined;
  return row && toResource(row);
}

export function applyStateChange(
  ledger: LedgerHandle,
  change: StateChange,
  opts: {runId?: string; stepId?: string; message?: string} = {},
): number {
  const db = sessionOf(ledger);
  return db.write(() => {
    const serial = commitChange(db, change);
    insertEvent(db, {
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
export function removeResource(ledger: LedgerHandle, address: string, reason: string, runId?: string): number {
  const db = sessionOf(ledger);
  return db.write(() => {
    const existing = getResource(db, address);
    if (!existing) {
      throw new OrxError({
        code: 'not_found',
        message: `No resource at address "${address}" in the recorded state.`,
        actions: ['`orx state list` shows the recorded addresses.'],
        data: {address},
      });
    }
    const serial = commitChange(db, {op: 'delete', address});
    if (existing.object_id) forgetInTx(db, existing.object_id, address, reason);
    insertEvent(db, {
      run_id: runId,
      level: 'warn',
      message: `state rm ${address}: ${reason}`,
      payload: {address, kind: existing.kind, object_id: existing.object_id, reason, serial},
    });
    return serial;
  });
}

/**
 * `orx state mv` and a plan's `moved:` step: the record at `from` is the record at `to` from
 * now on (attributes, object id and secret fingerprints as they are), in one transaction with
 * its hash-chained event. Returns the new serial.
 */
export function moveResource(
  ledger: LedgerHandle,
  from: string,
  to: string,
  reason: string,
  opts: {runId?: string; stepId?: string} = {},
): number {
  const db = sessionOf(ledger);
  return db.write(() => {
    const existing = getResource(db, from);
    if (!existing)
      throw new OrxError({
        code: 'not_found',
        message: `No resource at address "${from}" in the recorded state.`,
        actions: ['`orx state list` shows the recorded addresses.'],
        data: {address: from},
      });
    if (getResource(db, to))
      throw new OrxError({
        code: 'address_taken',
        message: `${to} is already in the recorded state: a move never overwrites a record`,
        actions: [`Run \`orx state rm ${to}\` first if that record is the one to drop.`],
        data: {address: to},
      });
    const serial = commitChanges(db, [
      {op: 'delete', address: from},
      {
        op: 'put',
        address: to,
        kind: existing.kind,
        attributes: existing.attributes,
        object_id: existing.object_id,
        secret_fingerprints: existing.secret_fingerprints,
      },
    ]);
    insertEvent(db, {
      run_id: opts.runId,
      step_id: opts.stepId,
      level: 'info',
      message: `state mv ${from} -> ${to}: ${reason}`,
      payload: {from, to, kind: existing.kind, object_id: existing.object_id, reason, serial},
    });
    return serial;
  });
}

/**
 * Marks a real object as deliberately unmanaged, so refresh neither adopts it nor offers
 * to delete it. removeResource already does this; kept for callers that forget by id.
 */
export function forget(ledger: LedgerHandle, objectId: string, address = '', reason: string | null = null): void {
  const db = sessionOf(ledger);
  db.write(() => forgetInTx(db, objectId, address, reason));
}

export function forgotten(ledger: LedgerHandle): ReadonlySet<string> {
  const rows = sessionOf(ledger).stmt('SELECT object_id FROM forgotten').all() as {object_id: string}[];
  return new Set(rows.map((r) => r.object_id));
}

function forgetInTx(ledger: LedgerHandle, objectId: string, address: string, reason: string | null): void {
  sessionOf(ledger)
    .stmt(
      `INSERT INTO forgotten (object_id, address, reason, ts) VALUES (?, ?, ?, ?)
       ON CONFLICT(object_id) DO UPDATE SET address = CASE WHEN excluded.address = '' THEN address ELSE excluded.address END,
         reason = COALESCE(excluded.reason, reason)`,
    )
    .run(objectId, address, reason, now());
}

/**
 * Inside a write transaction: the changes of one step under one new serial (a restore swaps
 * a volume and its agents at once); returns that serial, or the current one when there are none.
 */
export function commitChanges(ledger: LedgerHandle, changes: readonly StateChange[]): number {
  if (changes.length === 0) return ledgerMeta(ledger).serial;
  const serial = commitChange(ledger, changes[0]);
  for (const c of changes.slice(1)) writeChange(ledger, c, serial);
  return serial;
}

function commitChange(ledger: LedgerHandle, change: StateChange): number {
  const serial = bumpSerial(ledger);
  writeChange(ledger, change, serial);
  return serial;
}

function writeChange(ledger: LedgerHandle, change: StateChange, serial: number): void {
  const db = sessionOf(ledger);
  if (change.op === 'delete') {
    db.stmt('DELETE FROM resources WHERE address = ?').run(change.address);
    return;
  }
  const c = change;
  db.stmt(
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
  if (c.object_id) db.stmt('DELETE FROM forgotten WHERE object_id = ?').run(c.object_id);
}

/** What an event says about a state change: enough to audit it, without copying every attribute. */
export function changeSummary(change: StateChange, serial: number): Record<string, unknown> {
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
