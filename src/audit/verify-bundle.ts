// `orx audit verify-bundle FILE [--key PEM]`: checks an audit bundle on its own (no ledger
// needed) and reports every part that fails, not just the first.
import {OrxError, preview} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {eventHash, GENESIS_HASH, type HashedEventFields} from '../ledger/event-hash.js';
import {canonicalJson, sha256Hex} from '../util/canonical-json.js';
import {verifyBlob} from '../trust/blob.js';
import {trustedKey, type TrustedKey} from '../trust/keys.js';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import {checkpointBytes} from '../ledger/checkpoints.js';
import {AUDIT_BUNDLE_FORMAT, AUDIT_BUNDLE_VERSION, policyDigestRefs, signedBytes, snapshotRef} from './bundle.js';
import {parseSignedHead} from './checkpoint-check.js';

export type BundlePart =
  'signature' | 'public_key' | 'event' | 'link' | 'range' | 'chain_head' | 'checkpoint' | 'snapshot' | 'policy_digest';

export interface BundleProblem {
  part: BundlePart;
  /** the event seq the problem is at (event, link, range, chain_head) */
  seq?: number;
  /** the snapshot id or policy digest the problem is about */
  id?: string;
  reason: string;
}

export interface BundleVerification {
  ok: boolean;
  signature: {
    ok: boolean;
    /** which key the signature was checked against */
    key: 'bundle' | 'pinned';
    fingerprint: string | null;
    reason: string | null;
  };
  events: {count: number; from_seq: number | null; to_seq: number | null; hashes_ok: number; links_checked: number};
  chain_head: {seq: number; hash: string} | null;
  /** the newest signed checkpoint the bundle carries (null when the ledger had none) */
  checkpoint: {id: number; seq: number; hash: string; ts: string; ok: boolean} | null;
  snapshots: {count: number; ok: number};
  problems: BundleProblem[];
  /** what was taken as given rather than verified */
  notes: string[];
  /** 0 ok, 5 signature (or pinned key) failed, 1 anything else failed */
  exit: typeof EXIT.OK | typeof EXIT.ERROR | typeof EXIT.STALE;
}

/** Far above a real export (a few hundred bytes per event); a bundle is read whole to check it. */
export const MAX_AUDIT_BUNDLE_BYTES = 256 * 1024 * 1024;

/** Reads and parses a bundle file; a file that is not JSON is a usage error (exit 1). */
export function readAuditBundle(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readBoundedText(file, MAX_AUDIT_BUNDLE_BYTES);
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    throw new OrxError({
      code: err.reason === 'missing' ? 'not_found' : 'invalid_bundle',
      message: err.reason === 'missing' ? `Cannot read ${file}: it does not exist` : `${err.message}.`,
      actions: ['Pass a file written by `orx audit export -o FILE`.'],
      data: {file},
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new OrxError({
      code: 'invalid_bundle',
      message: `${file} is not JSON (${(err as Error).message}).`,
      actions: ['Pass a file written by `orx audit export -o FILE`.'],
      data: {file},
    });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || (doc as {format?: unknown}).format !== AUDIT_BUNDLE_FORMAT) {
    throw new OrxError({
      code: 'invalid_bundle',
      message: `${file} is not an orx audit bundle (no "format": "${AUDIT_BUNDLE_FORMAT}").`,
      actions: ['Pass a file written by `orx audit export -o FILE`.'],
      data: {file},
    });
  }
  const version = (doc as {format_version?: unknown}).format_version;
  if (version !== AUDIT_BUNDLE_VERSION) {
    throw new OrxError({
      code: 'invalid_bundle',
      message: `${file} is an orx audit bundle of format version ${preview(version, 20)}; this orx reads version ${AUDIT_BUNDLE_VERSION}.`,
      actions: ['Export the bundle again with this orx: `orx audit export -o FILE`.'],
      data: {file},
    });
  }
  return doc as Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isHex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const short = (h: string): string => `${h.slice(0, 12)}…`;

type BundleEvent = HashedEventFields & {hash: string};

/** "event 7 is" / "events 7..9 are" for the seqs in [from, to] not present at all; null if all are present. */
function missingSeqs(from: number, to: number, present: ReadonlySet<number>): string | null {
  const gone: number[] = [];
  for (let s = from; s <= to && gone.length <= 10_000; s++) if (!present.has(s)) gone.push(s);
  if (gone.length === 0) return null;
  if (gone.length === 1) return `event ${gone[0]} is`;
  const contiguous = gone.length === to - from + 1;
  return contiguous
    ? `events ${from}..${to} are`
    : `${gone.length > 10_000 ? 'more than 10000' : gone.length} events between ${from} and ${to} are`;
}

function eventShapeError(e: unknown): string | null {
  if (!isRecord(e)) return 'not an object';
  if (!Number.isSafeInteger(e.seq)) return 'seq is not an integer';
  for (const k of ['ts', 'level', 'message', 'prev_hash', 'hash'] as const)
    if (typeof e[k] !== 'string') return `${k} is missing or not a string`;
  for (const k of ['run_id', 'step_id'] as const) if (e[k] !== null && typeof e[k] !== 'string') return `${k} is not a string or null`;
  if (!('payload' in e)) return 'payload is missing';
  return null;
}

/**
 * Every check runs, whatever fails before it: the signature (against the key in the bundle,
 * or a pinned key), the public key's fingerprint, each event's hash, the links between
 * consecutive events, the declared range, the chain head, the snapshots' content addresses
 * and their agreement with the snapshot events, and the policy digests.
 */
export async function verifyAuditBundle(doc: Record<string, unknown>, opts: {key?: TrustedKey} = {}): Promise<BundleVerification> {
  const problems: BundleProblem[] = [];
  const notes: string[] = [];

  // ---- public key and signature ------------------------------------------------------
  let bundleKey: TrustedKey | null = null;
  const pk = doc.public_key;
  if (!isRecord(pk) || typeof pk.pem !== 'string') {
    problems.push({part: 'public_key', reason: 'the bundle has no public key PEM'});
  } else {
    try {
      bundleKey = trustedKey(pk.pem);
    } catch (err) {
      problems.push({part: 'public_key', reason: `the public key PEM does not parse (${(err as Error).message})`});
    }
    if (bundleKey && pk.fingerprint !== bundleKey.fingerprint) {
      problems.push({
        part: 'public_key',
        reason: `the stated fingerprint ${preview(pk.fingerprint, 80)} is not the fingerprint of the PEM (${bundleKey.fingerprint})`,
      });
    }
  }
  const signature: BundleVerification['signature'] = {ok: false, key: opts.key ? 'pinned' : 'bundle', fingerprint: null, reason: null};
  const verifyWith = opts.key ?? bundleKey;
  if (opts.key && bundleKey && bundleKey.fingerprint !== opts.key.fingerprint) {
    signature.reason = `the bundle names key ${bundleKey.fingerprint}, not the pinned key ${opts.key.fingerprint}`;
  }
  if (!isRecord(doc.signature)) {
    signature.reason = 'the bundle has no signature';
  } else if (!verifyWith) {
    signature.reason ??= 'no usable public key to check the signature with (pass --key)';
  } else {
    try {
      const who = await verifyBlob(signedBytes(doc), doc.signature, [verifyWith]);
      signature.fingerprint = who.fingerprint;
      if (!signature.reason) signature.ok = true;
    } catch (err) {
      const d = err instanceof OrxError ? err.data : {};
      const why =
        typeof d.expected === 'string' && typeof d.actual === 'string'
          ? `the bundle's contents changed after signing (they hash to ${short(d.actual)}, the signature covers ${short(d.expected)})`
          : err instanceof Error
            ? err.message
            : String(err);
      signature.reason = signature.reason
        ? `${signature.reason}; and it does not verify with that key (${why})`
        : `does not verify with key ${verifyWith.fingerprint}: ${why}`;
    }
  }
  if (!signature.ok) problems.push({part: 'signature', reason: signature.reason ?? 'the signature does not verify'});
  else if (!opts.key)
    notes.push(
      `The signature was checked against the public key inside the bundle (${signature.fingerprint}); pass --key PEM to require a specific signer.`,
    );

  // ---- events: hashes, order, links ---------------------------------------------------
  const events: BundleEvent[] = [];
  if (!Array.isArray(doc.events)) problems.push({part: 'range', reason: 'the bundle has no events array'});
  else {
    doc.events.forEach((e, i) => {
      const bad = eventShapeError(e);
      if (bad)
        problems.push({
          part: 'event',
          seq: isRecord(e) && Number.isSafeInteger(e.seq) ? (e.seq as number) : undefined,
          reason: `event #${i + 1} in the file is malformed: ${bad}`,
        });
      else events.push(e as BundleEvent);
    });
  }
  let hashesOk = 0;
  let linksChecked = 0;
  const present = new Set(events.map((e) => e.seq));
  let maxSeq = -Infinity;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    let computed: string | null = null;
    try {
      computed = eventHash(e);
    } catch (err) {
      problems.push({part: 'event', seq: e.seq, reason: `cannot be hashed (${(err as Error).message})`});
    }
    if (computed !== null) {
      if (computed === e.hash) hashesOk++;
      else problems.push({part: 'event', seq: e.seq, reason: 'hash does not match the event contents (a field was edited)'});
    }
    if (i === 0) {
      maxSeq = e.seq;
      continue;
    }
    if (e.seq <= maxSeq) {
      problems.push({part: 'range', seq: e.seq, reason: `seq ${e.seq} appears after seq ${maxSeq} (events reordered or duplicated)`});
      continue;
    }
    if (e.seq > maxSeq + 1) {
      const missing = missingSeqs(maxSeq + 1, e.seq - 1, present);
      problems.push({
        part: 'range',
        seq: e.seq,
        reason: missing
          ? `${missing} missing before seq ${e.seq} (deleted)`
          : `seq ${e.seq} comes before seq ${maxSeq + 1} (events reordered)`,
      });
      maxSeq = e.seq;
      continue;
    }
    maxSeq = e.seq;
    const prev = events[i - 1];
    if (prev.seq !== e.seq - 1) continue; // the seq before it is out of place: reported above
    linksChecked++;
    if (e.prev_hash !== prev.hash)
      problems.push({
        part: 'link',
        seq: e.seq,
        reason: `prev_hash does not match the hash of seq ${prev.seq} (an event was replaced, inserted or reordered)`,
      });
  }
  const first = events[0];
  const last = events.at(-1);
  if (first) {
    if (first.seq === 1) {
      if (first.prev_hash !== GENESIS_HASH)
        problems.push({part: 'link', seq: 1, reason: 'the first event of the ledger must link to the genesis hash'});
    } else {
      notes.push(
        `The first event (seq ${first.seq}) links to prev_hash ${short(first.prev_hash)}, which is taken as given: the events before seq ${first.seq} are not in the bundle.`,
      );
    }
  }
  const range = isRecord(doc.range) ? doc.range : null;
  if (!range) problems.push({part: 'range', reason: 'the bundle has no range'});
  else {
    if ((range.from_seq ?? null) !== (first?.seq ?? null))
      problems.push({
        part: 'range',
        seq: first?.seq,
        reason: `range.from_seq is ${String(range.from_seq)} but the first event is seq ${first?.seq ?? '(none)'}`,
      });
    if ((range.to_seq ?? null) !== (last?.seq ?? null))
      problems.push({
        part: 'range',
        seq: last?.seq,
        reason: `range.to_seq is ${String(range.to_seq)} but the last event is seq ${last?.seq ?? '(none)'}`,
      });
  }

  // ---- chain head -------------------------------------------------------------------
  const head =
    isRecord(doc.chain_head) && Number.isSafeInteger(doc.chain_head.seq) && typeof doc.chain_head.hash === 'string'
      ? {seq: doc.chain_head.seq as number, hash: doc.chain_head.hash}
      : null;
  if (!head) problems.push({part: 'chain_head', reason: 'the bundle has no chain head (seq and hash)'});
  else if (!isHex64(head.hash) && head.seq > 0)
    problems.push({part: 'chain_head', seq: head.seq, reason: 'the head hash is not a sha256 hex digest'});
  else if (last) {
    if (head.seq < last.seq)
      problems.push({
        part: 'chain_head',
        seq: head.seq,
        reason: `the head (seq ${head.seq}) is older than the last event in the bundle (seq ${last.seq})`,
      });
    else if (head.seq === last.seq) {
      if (head.hash !== last.hash)
        problems.push({
          part: 'chain_head',
          seq: head.seq,
          reason: `the head hash ${short(head.hash)} is not the hash of event seq ${last.seq} (${short(last.hash)})`,
        });
    } else
      notes.push(
        `The chain head (seq ${head.seq}) is past the last exported event (seq ${last.seq}): it is vouched for by the signature, not by the events.`,
      );
  } else if (head.seq === 0 && head.hash !== GENESIS_HASH)
    problems.push({part: 'chain_head', seq: 0, reason: 'an empty ledger has the genesis hash as its head'});

  // ---- the signed checkpoint ---------------------------------------------------------
  const checkpoint = await checkBundleCheckpoint(doc, {events, head, key: verifyWith, problems, notes});

  // ---- snapshots and policy digests ---------------------------------------------------
  const snapshots = Array.isArray(doc.snapshots) ? doc.snapshots : [];
  if (!Array.isArray(doc.snapshots)) problems.push({part: 'snapshot', reason: 'the bundle has no snapshots array'});
  const byId = new Map<string, {id: string; parent: string | null; policy_digest: string | null}>();
  let snapshotsOk = 0;
  snapshots.forEach((s, i) => {
    if (!isRecord(s) || typeof s.id !== 'string' || !('config' in s)) {
      problems.push({part: 'snapshot', reason: `snapshot #${i + 1} in the file is malformed (needs id and config)`});
      return;
    }
    const snap = {
      id: s.id,
      parent: typeof s.parent === 'string' ? s.parent : null,
      policy_digest: typeof s.policy_digest === 'string' ? s.policy_digest : null,
    };
    byId.set(snap.id, snap);
    let actual: string;
    try {
      actual = sha256Hex(canonicalJson(s.config));
    } catch (err) {
      problems.push({part: 'snapshot', id: snap.id, reason: `its config cannot be canonicalised (${(err as Error).message})`});
      return;
    }
    if (actual !== snap.id)
      problems.push({
        part: 'snapshot',
        id: snap.id,
        reason: `its config hashes to ${short(actual)}, not to its id (the configuration was edited)`,
      });
    else snapshotsOk++;
  });
  for (const e of events) {
    const ref = snapshotRef(e);
    if (!ref) continue;
    const s = byId.get(ref.id);
    if (!s) {
      problems.push({
        part: 'snapshot',
        id: ref.id,
        seq: e.seq,
        reason: `snapshot ${short(ref.id)} recorded by event seq ${e.seq} is not in the bundle`,
      });
      continue;
    }
    if (!ref.created) continue; // a re-application: the row keeps the values of its first application
    if (s.policy_digest !== ref.policy_digest) {
      problems.push({
        part: 'snapshot',
        id: s.id,
        seq: e.seq,
        reason: `policy_digest ${s.policy_digest ?? 'null'} differs from the ${ref.policy_digest ?? 'null'} event seq ${e.seq} recorded`,
      });
    }
    if (s.parent !== ref.parent) {
      problems.push({
        part: 'snapshot',
        id: s.id,
        seq: e.seq,
        reason: `parent ${s.parent ?? 'null'} differs from the ${ref.parent ?? 'null'} event seq ${e.seq} recorded`,
      });
    }
  }
  const expected = policyDigestRefs([...byId.values()], events);
  const listed = Array.isArray(doc.policy_digests) ? doc.policy_digests : [];
  const listedMap = new Map<string, string>();
  for (const p of listed)
    if (isRecord(p) && typeof p.digest === 'string')
      listedMap.set(p.digest, canonicalJson(Array.isArray(p.snapshots) ? [...(p.snapshots as unknown[])].sort() : null));
  for (const p of expected) {
    const got = listedMap.get(p.digest);
    if (got === undefined)
      problems.push({
        part: 'policy_digest',
        id: p.digest,
        reason: `policy digest ${short(p.digest)} (of snapshot ${p.snapshots.map(short).join(', ')}) is not listed in policy_digests`,
      });
    else if (got !== canonicalJson(p.snapshots))
      problems.push({
        part: 'policy_digest',
        id: p.digest,
        reason: `policy digest ${short(p.digest)} lists other snapshots than the ones applied under it`,
      });
    listedMap.delete(p.digest);
  }
  for (const digest of listedMap.keys())
    problems.push({
      part: 'policy_digest',
      id: digest,
      reason: `policy digest ${short(digest)} is listed but no snapshot in the bundle was applied under it`,
    });

  // signature and key first, then everything about events in seq order, then the rest
  const group = (p: BundleProblem): number =>
    p.part === 'signature' || p.part === 'public_key'
      ? 0
      : p.part === 'event' || p.part === 'link' || p.part === 'range'
        ? 1
        : PART_ORDER.indexOf(p.part);
  problems.sort((a, b) => group(a) - group(b) || (a.seq ?? -1) - (b.seq ?? -1));
  const exit = !signature.ok ? EXIT.STALE : problems.length > 0 ? EXIT.ERROR : EXIT.OK;
  return {
    ok: problems.length === 0,
    signature,
    events: {
      count: events.length,
      from_seq: first?.seq ?? null,
      to_seq: last?.seq ?? null,
      hashes_ok: hashesOk,
      links_checked: linksChecked,
    },
    chain_head: head,
    checkpoint,
    snapshots: {count: snapshots.length, ok: snapshotsOk},
    problems,
    notes,
    exit,
  };
}

const PART_ORDER: BundlePart[] = [
  'signature',
  'public_key',
  'range',
  'event',
  'link',
  'chain_head',
  'checkpoint',
  'snapshot',
  'policy_digest',
];

/**
 * The newest checkpoint the ledger had signed when the bundle was made: its signature (with
 * the key the bundle is checked with), its lineage, and its head against the exported events.
 */
async function checkBundleCheckpoint(
  doc: Record<string, unknown>,
  at: {events: BundleEvent[]; head: {seq: number; hash: string} | null; key: TrustedKey | null; problems: BundleProblem[]; notes: string[]},
): Promise<BundleVerification['checkpoint']> {
  if (!('checkpoint' in doc)) {
    at.problems.push({
      part: 'checkpoint',
      reason: 'the bundle has no checkpoint field (a bundle carries the newest signed checkpoint, or null)',
    });
    return null;
  }
  // the ledger had none yet when the bundle was made: the summary line says "none"
  if (doc.checkpoint === null) return null;
  const read = parseSignedHead(doc.checkpoint);
  if ('error' in read) {
    at.problems.push({part: 'checkpoint', reason: `the checkpoint is malformed: ${read.error}`});
    return null;
  }
  const cp = read.head;
  const before = at.problems.length;
  const fail = (reason: string): void => void at.problems.push({part: 'checkpoint', seq: cp.seq, reason});
  if (!at.key) fail(`checkpoint #${cp.id}: no usable public key to check its signature with`);
  else {
    try {
      await verifyBlob(checkpointBytes(cp), cp.signature, [at.key]);
    } catch (err) {
      fail(
        `checkpoint #${cp.id}: its signature does not verify with key ${at.key.fingerprint}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (cp.lineage !== doc.lineage)
    fail(`checkpoint #${cp.id} is of ledger lineage ${preview(cp.lineage, 40)}, the bundle of ${preview(String(doc.lineage), 40)}`);
  if (at.head && cp.seq > at.head.seq) fail(`checkpoint #${cp.id} signed seq ${cp.seq}, past the bundle's chain head seq ${at.head.seq}`);
  const e = at.events.find((x) => x.seq === cp.seq);
  if (e && e.hash !== cp.hash)
    fail(
      `event seq ${cp.seq} has hash ${short(e.hash)}, but checkpoint #${cp.id} (${cp.ts}) signed ${short(cp.hash)}: the history was rewritten before it was exported`,
    );
  else if (at.head && at.head.seq === cp.seq && at.head.hash !== cp.hash)
    fail(`the chain head hash ${short(at.head.hash)} is not the ${short(cp.hash)} checkpoint #${cp.id} signed at the same seq`);
  else if (!e && at.head?.seq !== cp.seq)
    at.notes.push(
      `Checkpoint #${cp.id} (seq ${cp.seq}) is outside the exported events: its signature vouches for the ledger's head at seq ${cp.seq}, not for an event in this bundle.`,
    );
  const ok = at.problems.length === before;
  if (ok && at.head && at.head.seq > cp.seq)
    at.notes.push(
      `Events after checkpoint #${cp.id} (seq ${cp.seq + 1}..${at.head.seq}) were not yet signed by a checkpoint when the bundle was made.`,
    );
  return {id: cp.id, seq: cp.seq, hash: cp.hash, ts: cp.ts, ok};
}
