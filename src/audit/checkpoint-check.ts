// Checking the ledger against its signed checkpoints (`orx audit verify`) and against a head
// kept elsewhere (`--head FILE`). The evidence is read in one read transaction, signatures
// are checked outside it, and judging is pure, so every verdict is testable on its own.
import fs from 'node:fs';
import os from 'node:os';
import {OrxError, preview} from '../errors.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  checkpointBytes,
  checkpointHighWater,
  listCheckpoints,
  type CheckpointRecord,
  type SignedHead,
} from '../ledger/checkpoints.js';
import {eventHashAt} from '../ledger/events.js';
import type {Ledger} from '../ledger/ledger.js';
import {pidAlive} from '../ledger/locks.js';
import {unfinishedRuns} from '../ledger/runs.js';
import {loadWorkspaceKey, trustedKeyOf, verificationKeys, type TrustedKey} from '../trust/keys.js';

export type CheckpointProblemKind =
  | 'signature' // a checkpoint's signature does not verify with a trusted key
  | 'no_key' // nothing to check signatures with
  | 'checkpoints_missing' // checkpoint rows deleted (ids are signed and never reused)
  | 'lineage' // a checkpoint of another ledger
  | 'rows_missing' // events a checkpoint signed are gone (truncated)
  | 'rewritten' // the event at a checkpoint's seq has another hash (edited and recomputed)
  | 'unsigned_tail'; // events after the newest checkpoint, and no run in progress to sign them

export interface CheckpointProblem {
  kind: CheckpointProblemKind;
  checkpoint?: number;
  seq?: number;
  reason: string;
}

export interface CheckpointSummary {
  id: number;
  seq: number;
  hash: string;
  ts: string;
  reason: string;
  run_id: string | null;
  key_fingerprint: string | null;
}

export interface CheckpointCheck {
  /** checkpoint rows stored */
  count: number;
  /** of those, how many signatures verified with a trusted key */
  verified: number;
  /** the newest checkpoint whose signature verified: what the chain is checked against */
  newest: CheckpointSummary | null;
  /** events after `newest`; expected while a run is in progress */
  tail: {from_seq: number; to_seq: number; count: number; expected: boolean; run_ids: string[]} | null;
  problems: CheckpointProblem[];
  notes: string[];
}

/** Everything judged, as read in one transaction. */
export interface CheckpointEvidence {
  lineage: string;
  head: {seq: number; hash: string};
  checkpoints: CheckpointRecord[];
  /** the highest checkpoint id ever stored */
  high_water: number;
  /** the stored event hash at each checkpoint's seq (null: no such row) */
  hash_at: Record<number, string | null>;
  /** runs marked running, and whether a live process holds the workspace lock */
  unfinished_runs: string[];
  lock_held_live: {pid: number; host: string; command: string} | null;
}

/** Per checkpoint id: the key its signature verified with, or why it did not. */
export type SignatureResults = Map<number, {ok: true; fingerprint: string} | {ok: false; reason: string}>;

/** Reads the evidence; call it inside a read snapshot together with the chain check. */
export function gatherCheckpointEvidence(ledger: Ledger): CheckpointEvidence {
  const checkpoints = listCheckpoints(ledger);
  const hashAt: Record<number, string | null> = {};
  for (const cp of checkpoints) if (!(cp.seq in hashAt)) hashAt[cp.seq] = eventHashAt(ledger, cp.seq);
  const lock = ledger.currentLock();
  // a lock on another host cannot be probed: taken as live, and said so
  const live = lock && (lock.host !== os.hostname() || pidAlive(lock.pid)) ? {pid: lock.pid, host: lock.host, command: lock.command} : null;
  return {
    lineage: ledger.meta().lineage,
    head: ledger.chainHead(),
    checkpoints,
    high_water: checkpointHighWater(ledger),
    hash_at: hashAt,
    unfinished_runs: unfinishedRuns(ledger).map((r) => r.id),
    lock_held_live: live,
  };
}

/** Checks every checkpoint's signature; the Sigstore verifier loads only when there is one. */
export async function checkSignatures(checkpoints: CheckpointRecord[], keys: TrustedKey[]): Promise<SignatureResults> {
  const out: SignatureResults = new Map();
  if (checkpoints.length === 0 || keys.length === 0) return out;
  const {verifyBlob} = await import('../trust/blob.js');
  for (const cp of checkpoints) {
    try {
      out.set(cp.id, {ok: true, fingerprint: (await verifyBlob(checkpointBytes(cp), cp.bundle, keys)).fingerprint});
    } catch (err) {
      out.set(cp.id, {ok: false, reason: err instanceof Error ? err.message : String(err)});
    }
  }
  return out;
}

const short = (h: string): string => `${h.slice(0, 12)}…`;
const span = (from: number, to: number, what: string): string => (from === to ? `${what} ${from}` : `${what}s ${from}..${to}`);
const cpSpan = (from: number, to: number): string => (from === to ? `checkpoint #${from} is` : `checkpoints #${from}..#${to} are`);
const summary = (cp: CheckpointRecord, fingerprint: string | null): CheckpointSummary => ({
  id: cp.id,
  seq: cp.seq,
  hash: cp.hash,
  ts: cp.ts,
  reason: cp.reason,
  run_id: cp.run_id,
  key_fingerprint: fingerprint,
});

/** The verdict: pure, from the evidence, the signature results and the number of trusted keys. */
export function judgeCheckpoints(
  ev: CheckpointEvidence,
  sigs: SignatureResults,
  keyCount: number,
  keyError: string | null = null,
): CheckpointCheck {
  const problems: CheckpointProblem[] = [];
  const notes: string[] = [];
  const cps = ev.checkpoints;
  if (cps.length === 0 && ev.high_water === 0) {
    notes.push(
      'No signed checkpoint yet: this ledger was written before orx signed checkpoints, or no run has ended since. The next apply, approval, halt or resume signs one.',
    );
    return {count: 0, verified: 0, newest: null, tail: null, problems, notes};
  }

  // deleted checkpoints: ids are signed, consecutive, and never reused
  const maxId = cps.at(-1)?.id ?? 0;
  if (ev.high_water > maxId) {
    problems.push({
      kind: 'checkpoints_missing',
      checkpoint: maxId + 1,
      reason: `${cpSpan(maxId + 1, ev.high_water)} missing at the end (deleted): the ledger once held checkpoint #${ev.high_water}`,
    });
  }
  let expectedId = 1;
  for (const cp of cps) {
    if (cp.id > expectedId)
      problems.push({
        kind: 'checkpoints_missing',
        checkpoint: expectedId,
        reason: `${cpSpan(expectedId, cp.id - 1)} missing before checkpoint #${cp.id} (deleted)`,
      });
    expectedId = cp.id + 1;
  }

  // signatures
  if (keyCount === 0) {
    problems.push({
      kind: 'no_key',
      reason: `cannot check the signatures of ${cps.length} checkpoint${cps.length === 1 ? '' : 's'}: ${keyError ?? 'this workspace has no signing key'}; pass the signer's public key with --trusted-key`,
    });
  }
  const valid: Array<{cp: CheckpointRecord; fingerprint: string}> = [];
  for (const cp of cps) {
    const s = sigs.get(cp.id);
    if (s?.ok) valid.push({cp, fingerprint: s.fingerprint});
    else if (s)
      problems.push({
        kind: 'signature',
        checkpoint: cp.id,
        seq: cp.seq,
        reason: `checkpoint #${cp.id} (seq ${cp.seq}, ${cp.ts}): its signature does not verify: ${s.reason}`,
      });
  }

  // each valid checkpoint against the events: the newest one beyond the head, the oldest one rewritten
  const beyond = valid.filter(({cp}) => cp.seq > ev.head.seq || ev.hash_at[cp.seq] === null);
  const rewritten = valid.filter(({cp}) => cp.seq <= ev.head.seq && ev.hash_at[cp.seq] != null && ev.hash_at[cp.seq] !== cp.hash);
  for (const {cp} of valid.filter(({cp}) => cp.lineage !== ev.lineage)) {
    problems.push({
      kind: 'lineage',
      checkpoint: cp.id,
      reason: `checkpoint #${cp.id} signed a ledger of lineage ${cp.lineage}, but this ledger's lineage is ${ev.lineage}: the ledger was replaced, or its lineage edited`,
    });
  }
  const gone = beyond.at(-1)?.cp;
  if (gone) {
    problems.push({
      kind: 'rows_missing',
      checkpoint: gone.id,
      seq: gone.seq,
      reason:
        gone.seq > ev.head.seq
          ? `checkpoint #${gone.id} (${gone.ts}) signed seq ${gone.seq}, but the ledger ends at seq ${ev.head.seq}: ${span(ev.head.seq + 1, gone.seq, 'event')} ${gone.seq > ev.head.seq + 1 ? 'were' : 'was'} deleted`
          : `checkpoint #${gone.id} (${gone.ts}) signed seq ${gone.seq}, and that event is gone (deleted)`,
    });
  }
  const first = rewritten[0];
  if (first) {
    const others = rewritten.length - 1;
    problems.push({
      kind: 'rewritten',
      checkpoint: first.cp.id,
      seq: first.cp.seq,
      reason: `event seq ${first.cp.seq} hashes to ${short(ev.hash_at[first.cp.seq]!)}, but checkpoint #${first.cp.id} (${first.cp.ts}) signed ${short(first.cp.hash)}: the chain was edited and its hashes recomputed at or before seq ${first.cp.seq}${others ? ` (${others} later checkpoint${others === 1 ? ' disagrees' : 's disagree'} too)` : ''}`,
    });
  }

  const newest = valid.at(-1);
  let tail: CheckpointCheck['tail'] = null;
  if (newest && ev.head.seq > newest.cp.seq) {
    const expected = ev.lock_held_live !== null && ev.unfinished_runs.length > 0;
    tail = {from_seq: newest.cp.seq + 1, to_seq: ev.head.seq, count: ev.head.seq - newest.cp.seq, expected, run_ids: ev.unfinished_runs};
    const events = span(tail.from_seq, tail.to_seq, 'event');
    if (expected) {
      const who = ev.lock_held_live!;
      notes.push(
        `${events} ${tail.count === 1 ? 'comes' : 'come'} after checkpoint #${newest.cp.id}: run ${ev.unfinished_runs.join(', ')} is in progress (pid ${who.pid} on ${who.host}) and signs a checkpoint when it ends.`,
      );
    } else {
      const killed = ev.unfinished_runs.length ? ` (run ${ev.unfinished_runs.join(', ')} never finished: its process is gone)` : '';
      problems.push({
        kind: 'unsigned_tail',
        checkpoint: newest.cp.id,
        seq: tail.from_seq,
        reason: `${events} ${tail.count === 1 ? 'was' : 'were'} written after checkpoint #${newest.cp.id} (seq ${newest.cp.seq}) and no checkpoint signs the head seq ${ev.head.seq}${killed}: a run that could not sign (its warning says why), or events added or recomputed since`,
      });
    }
  } else if (!newest && cps.length > 0 && keyCount > 0) {
    notes.push('No checkpoint signature verifies, so nothing vouches for any part of the chain.');
  }
  return {count: cps.length, verified: valid.length, newest: newest ? summary(newest.cp, newest.fingerprint) : null, tail, problems, notes};
}

/**
 * The keys checkpoints are checked with: the workspace's own (.orx/keys, or signing_key in
 * orchestration.yml), plus any --trusted-key (an old key after `orx keys init --force`, or the
 * public half of a signing_key_ref key). What made a key unusable is returned, never thrown.
 */
export async function checkpointVerifyKeys(dir: string, extraKeyFiles: string[] = []): Promise<{keys: TrustedKey[]; error: string | null}> {
  const found = verificationKeys(dir, extraKeyFiles);
  const keys = found.keys;
  let error: string | null = found.error === null ? null : found.error instanceof Error ? found.error.message : String(found.error);
  try {
    // loaded only here: every command that reads the ledger imports this module
    const {loadConfig} = await import('../config/load.js');
    const file = loadConfig(dir).config.signing_key;
    if (file) keys.push(trustedKeyOf(loadWorkspaceKey(dir, {keyFile: file})));
  } catch (err) {
    // a configuration that does not load names no other key; a key file that does not is said
    if (err instanceof OrxError && err.code.startsWith('key_')) error ??= err.message;
  }
  const unique = [...new Map(keys.map((k) => [k.fingerprint, k])).values()];
  return {keys: unique, error: unique.length ? null : error};
}

// ---- a head kept elsewhere (`orx audit head --signed > head.json`) ------------------------

export interface HeadFileCheck {
  file: string;
  ok: boolean;
  /** the head the file holds */
  checkpoint: number | null;
  seq: number | null;
  hash: string | null;
  ts: string | null;
  signed_by: string | null;
  reason: string | null;
}

const MAX_HEAD_FILE = 1 << 20;

/** Reads a signed head: the document `orx audit head --signed` prints, or its --json form. Bounded: a device or a huge file is refused. */
export function readSignedHead(file: string, label = file): SignedHead {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      if (!fs.fstatSync(fd).isFile()) throw new OrxError({code: 'invalid_head', message: `${label} is not a regular file`, data: {file}});
      const buf = Buffer.alloc(MAX_HEAD_FILE + 1);
      let n = 0;
      for (let r = 1; r > 0 && n < buf.length; n += r) r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (n > MAX_HEAD_FILE)
        throw new OrxError({
          code: 'invalid_head',
          message: `${label} is larger than ${MAX_HEAD_FILE} bytes: not a signed head`,
          data: {file},
        });
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if (err instanceof OrxError) throw err;
    throw new OrxError({code: 'not_found', message: `Cannot read ${label}: ${(err as Error).message}`, data: {file}});
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new OrxError({
      code: 'invalid_head',
      message: `${label} is not JSON (${(err as Error).message}).`,
      actions: ['Pass a file written by `orx audit head --signed > FILE`.'],
      data: {file},
    });
  }
  const inner = doc && typeof doc === 'object' && (doc as {checkpoint?: unknown}).checkpoint;
  const read = parseSignedHead(inner && typeof inner === 'object' ? inner : doc);
  if ('error' in read) {
    throw new OrxError({
      code: 'invalid_head',
      message: `${label} is not a signed chain head (${read.error}).`,
      actions: ['Pass a file written by `orx audit head --signed > FILE`.'],
      data: {file},
    });
  }
  return read.head;
}

/** A parsed document read as a signed head, or why it is not one. */
export function parseSignedHead(d: unknown): {head: SignedHead} | {error: string} {
  if (!d || typeof d !== 'object' || Array.isArray(d)) return {error: 'not a JSON object'};
  const r = d as Record<string, unknown>;
  if (r.format !== CHECKPOINT_FORMAT) return {error: `no "format": "${CHECKPOINT_FORMAT}"`};
  if (r.version !== CHECKPOINT_VERSION) return {error: `version ${preview(String(r.version))} is not ${CHECKPOINT_VERSION}`};
  for (const k of ['id', 'seq'] as const)
    if (!Number.isSafeInteger(r[k]) || (r[k] as number) < 1) return {error: `${k} is not a positive integer`};
  for (const k of ['lineage', 'hash', 'ts', 'reason'] as const) if (typeof r[k] !== 'string') return {error: `${k} is not a string`};
  if (r.run_id !== null && typeof r.run_id !== 'string') return {error: 'run_id is not a string or null'};
  if (!r.signature || typeof r.signature !== 'object' || Array.isArray(r.signature)) return {error: 'it has no signature'};
  // every field of the statement was checked above
  return {head: d as SignedHead};
}

/** Whether this ledger still holds the head in the file: same lineage, the event at its seq with its hash, a signature by a trusted key. */
export async function checkHeadFile(
  file: string,
  head: SignedHead,
  ledger: {lineage: string; head: {seq: number}; hashAt: string | null},
  keys: TrustedKey[],
): Promise<HeadFileCheck> {
  const base = {file, checkpoint: head.id, seq: head.seq, hash: head.hash, ts: head.ts, signed_by: null as string | null};
  const fail = (reason: string): HeadFileCheck => ({...base, ok: false, reason});
  if (keys.length === 0) return fail('no trusted key to check its signature with (pass --trusted-key)');
  const {verifyBlob} = await import('../trust/blob.js');
  try {
    base.signed_by = (await verifyBlob(checkpointBytes(head), head.signature, keys)).fingerprint;
  } catch (err) {
    return fail(`its signature does not verify with the workspace key: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (head.lineage !== ledger.lineage)
    return fail(`it is a head of ledger lineage ${head.lineage}; this ledger is ${ledger.lineage} (replaced by another ledger)`);
  if (ledger.head.seq < head.seq) {
    return fail(
      `the ledger ends at seq ${ledger.head.seq}, before the kept head seq ${head.seq} (signed ${head.ts}): it was rolled back to an older copy or truncated`,
    );
  }
  if (ledger.hashAt === null) return fail(`the event at the kept head seq ${head.seq} is missing (deleted)`);
  if (ledger.hashAt !== head.hash)
    return fail(
      `the event at seq ${head.seq} hashes to ${short(ledger.hashAt)}, not the kept ${short(head.hash)}: the history up to it was rewritten`,
    );
  return {...base, ok: true, reason: null};
}
