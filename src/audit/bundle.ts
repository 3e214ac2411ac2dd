// The audit bundle document, shared by export and verify-bundle.
import {canonicalJson} from '../util/canonical-json.js';
import type {SignedHead} from '../ledger/checkpoints.js';
import type {SnapshotRecord} from '../ledger/snapshots.js';
import type {EventRecord, RunRecord} from '../ledger/types.js';

export const AUDIT_BUNDLE_FORMAT = 'orx.audit-bundle';
// the first released version (earlier numbers were development formats and are refused)
export const AUDIT_BUNDLE_VERSION = 3;

export interface AuditRange {
  since: string | null;
  until: string | null;
  run_id: string | null;
  /** the contiguous seq interval exported (null when nothing matched) */
  from_seq: number | null;
  to_seq: number | null;
}

export interface PolicyDigestRef {
  digest: string;
  /** the snapshots applied under it, in the bundle's snapshots or its snapshot events */
  snapshots: string[];
}

/** Everything the signature covers. */
export type AuditBundleBody = {
  format: typeof AUDIT_BUNDLE_FORMAT;
  format_version: typeof AUDIT_BUNDLE_VERSION;
  created_at: string;
  lineage: string;
  range: AuditRange;
  /** the newest event of the ledger when the bundle was made */
  chain_head: {seq: number; hash: string};
  /** export recomputed the whole chain from the genesis hash to chain_head before signing */
  chain_verified: {from_genesis: boolean; count: number};
  /** the ledger's newest signed checkpoint when the bundle was made (null: none yet) */
  checkpoint: SignedHead | null;
  events: EventRecord[];
  runs: RunRecord[];
  snapshots: SnapshotRecord[];
  policy_digests: PolicyDigestRef[];
  public_key: {pem: string; fingerprint: string};
};

export interface AuditBundle extends AuditBundleBody {
  /** a Sigstore bundle (v0.3 JSON) over signedBytes(body) */
  signature: Record<string, unknown>;
}

/** The bytes the signature is over: the canonical JSON of everything but `signature`. */
export function signedBytes(doc: Record<string, unknown>): Buffer {
  const {signature: _signature, ...body} = doc;
  return Buffer.from(canonicalJson(body), 'utf8');
}

/** The snapshot an event says was applied, if it is a snapshot event. */
export function snapshotRef(e: {
  payload?: unknown;
}): {id: string; parent: string | null; policy_digest: string | null; created: boolean} | null {
  const p = e.payload as {snapshot?: unknown} | null | undefined;
  const s = p && typeof p === 'object' ? (p.snapshot as Record<string, unknown> | undefined) : undefined;
  if (!s || typeof s !== 'object' || typeof s.id !== 'string') return null;
  return {
    id: s.id,
    parent: typeof s.parent === 'string' ? s.parent : null,
    policy_digest: typeof s.policy_digest === 'string' ? s.policy_digest : null,
    created: s.created === true,
  };
}

/** digest -> snapshot ids applied under it, from the snapshot rows and the snapshot events. */
export function policyDigestRefs(
  snapshots: ReadonlyArray<{id: string; policy_digest: string | null}>,
  events: ReadonlyArray<{payload?: unknown}>,
): PolicyDigestRef[] {
  const map = new Map<string, Set<string>>();
  const add = (digest: string | null, id: string): void => {
    if (!digest) return;
    let set = map.get(digest);
    if (!set) map.set(digest, (set = new Set()));
    set.add(id);
  };
  for (const s of snapshots) add(s.policy_digest, s.id);
  for (const e of events) {
    const ref = snapshotRef(e);
    if (ref) add(ref.policy_digest, ref.id);
  }
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([digest, ids]) => ({digest, snapshots: [...ids].sort()}));
}
