// `orx audit export`: a signed, self-contained slice of the ledger's history. Read-only:
// it takes no lock and writes nothing to the ledger, so it runs while an apply is writing.
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import {latestCheckpoint, toSignedHead} from '../ledger/checkpoints.js';
import {eventHashAt, eventsBetween, eventSeqBounds} from '../ledger/events.js';
import {getSnapshots, snapshotsForRuns} from '../ledger/snapshots.js';
import type {RunRecord} from '../ledger/types.js';
import {signBlob} from '../trust/blob.js';
import type {WorkspaceKey} from '../trust/keys.js';
import {
  AUDIT_BUNDLE_FORMAT,
  AUDIT_BUNDLE_VERSION,
  policyDigestRefs,
  signedBytes,
  snapshotRef,
  type AuditBundle,
  type AuditBundleBody,
  type AuditRange,
} from './bundle.js';
import {verifyAudit} from './chain.js';

export interface ExportOptions {
  /** ISO time, date, or a duration back from now (30m, 24h, 7d) */
  since?: string;
  until?: string;
  /** a run id or unique prefix */
  run?: string;
  /** for tests: what "now" is when resolving durations */
  now?: Date;
}

const DURATION = /^(\d+)\s*(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = {s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3};

/**
 * A time bound as the ISO string events are stamped with. A bare date is the start of that
 * day (UTC) for --since and its end for --until, so `--until 2025-01-31` includes the 31st.
 */
export function parseTimeBound(input: string, which: 'since' | 'until', now = new Date()): string {
  const s = input.trim();
  const d = DURATION.exec(s);
  if (d) return new Date(now.getTime() - Number(d[1]) * UNIT_MS[d[2]]).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const t = Date.parse(`${s}T00:00:00.000Z`);
    if (!Number.isNaN(t)) return new Date(which === 'since' ? t : t + 86400e3 - 1).toISOString();
  }
  const t = /^\d{4}-\d{2}-\d{2}T/.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(t)) {
    throw new OrxError({
      code: 'usage',
      message: `--${which} "${s}" is not a time: use an ISO time (2025-01-31T12:00:00Z), a date (2025-01-31) or a duration back from now (30m, 24h, 7d)`,
    });
  }
  return new Date(t).toISOString();
}

/** The unsigned body: every read in one read transaction, so it is one consistent commit. */
export function collectAuditBundle(ledger: Ledger, opts: ExportOptions, publicKey: {pem: string; fingerprint: string}): AuditBundleBody {
  const now = opts.now ?? new Date();
  const since = opts.since ? parseTimeBound(opts.since, 'since', now) : null;
  const until = opts.until ? parseTimeBound(opts.until, 'until', now) : null;
  if (since && until && since > until) throw new OrxError({code: 'usage', message: `--since ${since} is after --until ${until}`});
  return ledger.read(() => {
    let runId: string | null = null;
    if (opts.run) {
      const run = ledger.getRun(opts.run);
      if (!run)
        throw new OrxError({
          code: 'not_found',
          message: `No run "${opts.run}" in the ledger.`,
          actions: ['See `orx runs`.'],
          data: {run: opts.run},
        });
      runId = run.id;
    }
    // A bundle vouches for the history it carries, so the chain must hold up to the head.
    const chain = verifyAudit(ledger);
    if (!chain.ok) {
      throw new OrxError({
        code: 'chain_broken',
        message: `The ledger's hash chain is broken at seq ${chain.break!.seq} (${chain.break!.reason}); orx will not sign a bundle of a tampered history.`,
        actions: ['See `orx audit verify` for details; restore the ledger from a backup (.orx/backups) to export it.'],
        data: {break: chain.break},
      });
    }
    // nor of a history that no longer holds its newest checkpoint (edited and recomputed, or truncated)
    const cp = latestCheckpoint(ledger);
    if (cp && eventHashAt(ledger, cp.seq) !== cp.hash) {
      throw new OrxError({
        code: 'chain_broken',
        message: `The ledger no longer holds the head its newest checkpoint #${cp.id} signed (seq ${cp.seq}); orx will not sign a bundle of a rewritten history.`,
        actions: ['See `orx audit verify` for details; restore the ledger from a backup (.orx/backups) to export it.'],
        data: {checkpoint: {id: cp.id, seq: cp.seq}},
      });
    }
    // The range is contiguous (events of other runs in between are included): a chain
    // with holes in it could not show that nothing was deleted.
    const bounds = eventSeqBounds(ledger, {since, until, run_id: runId});
    const range: AuditRange = {since, until, run_id: runId, from_seq: bounds.lo, to_seq: bounds.hi};
    const events = bounds.lo == null || bounds.hi == null ? [] : eventsBetween(ledger, bounds.lo, bounds.hi);

    const runIds = [...new Set(events.map((e) => e.run_id).filter((id): id is string => id != null))];
    const runs = runIds.map((id) => ledger.getRun(id)).filter((r): r is RunRecord => r !== undefined);
    // what these runs first applied, and what any snapshot event in range applied (again)
    const ids = new Set(snapshotsForRuns(ledger, runIds).map((s) => s.id));
    for (const e of events) {
      const ref = snapshotRef(e);
      if (ref) ids.add(ref.id);
    }
    const snaps = getSnapshots(ledger, ids);
    return {
      format: AUDIT_BUNDLE_FORMAT,
      format_version: AUDIT_BUNDLE_VERSION,
      created_at: now.toISOString(),
      lineage: ledger.meta().lineage,
      range,
      chain_head: chain.head,
      chain_verified: {from_genesis: true, count: chain.count},
      checkpoint: cp ? toSignedHead(cp) : null,
      events,
      runs,
      snapshots: snaps,
      policy_digests: policyDigestRefs(snaps, events),
      public_key: {pem: publicKey.pem, fingerprint: publicKey.fingerprint},
    };
  });
}

export async function buildAuditBundle(ledger: Ledger, opts: ExportOptions, key: WorkspaceKey): Promise<AuditBundle> {
  const body = collectAuditBundle(ledger, opts, {pem: key.publicKeyPem, fingerprint: key.fingerprint});
  const signature = await signBlob(signedBytes(body), key);
  return {...body, signature};
}

/** Written whole or not at all (temp file + rename). */
export function writeAuditBundle(file: string, bundle: AuditBundle): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, {recursive: true});
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(bundle, null, 2)}\n`, {mode: 0o644});
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, {force: true});
  }
}

export interface ExportSummary {
  file: string;
  range: AuditRange;
  events: number;
  runs: number;
  snapshots: number;
  chain_head: {seq: number; hash: string};
  key_fingerprint: string;
}

export function exportSummary(file: string, b: AuditBundle): ExportSummary {
  return {
    file,
    range: b.range,
    events: b.events.length,
    runs: b.runs.length,
    snapshots: b.snapshots.length,
    chain_head: b.chain_head,
    key_fingerprint: b.public_key.fingerprint,
  };
}
