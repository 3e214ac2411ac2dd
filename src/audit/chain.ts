// `orx audit verify` and `orx audit head`: the hash chain of the ledger's events.
import {OrxError} from '../errors.js';
import {latestCheckpoint, toSignedHead, type SignedHead} from '../ledger/checkpoints.js';
import {countEventsBefore, eventHashAt, highestEventSeqEver, type ChainHead} from '../ledger/events.js';
import type {Ledger} from '../ledger/ledger.js';
import {
  checkHeadFile,
  checkpointVerifyKeys,
  checkSignatures,
  gatherCheckpointEvidence,
  judgeCheckpoints,
  readSignedHead,
  type CheckpointCheck,
  type HeadFileCheck,
} from './checkpoint-check.js';

export interface AuditVerification {
  ok: boolean;
  /** events whose hash and link were checked and found intact */
  count: number;
  /** the newest stored event (what signed artefacts pin the history to) */
  head: ChainHead;
  /** the first broken link: the seq where the chain stops being trustworthy, and why */
  break: {seq: number; reason: string} | null;
}

/**
 * Recomputes every event hash and link from the genesis hash. Beyond Ledger.verifyChain it
 * also notices rows deleted from the end of the chain: the events table is AUTOINCREMENT,
 * so SQLite remembers the highest seq it ever held.
 */
export function verifyAudit(ledger: Ledger): AuditVerification {
  return ledger.read(() => {
    const head = ledger.chainHead();
    const v = ledger.verifyChain();
    if (!v.ok) {
      return {ok: false, count: countEventsBefore(ledger, v.seq), head, break: {seq: v.seq, reason: v.reason}};
    }
    const highest = highestEventSeqEver(ledger);
    if (highest > v.count) {
      const first = v.count + 1;
      const what = highest > first ? `events ${first}..${highest} are` : `event ${first} is`;
      return {
        ok: false,
        count: v.count,
        head,
        break: {seq: first, reason: `${what} missing at the end of the chain (deleted): the ledger once held seq ${highest}`},
      };
    }
    return {ok: true, count: v.count, head, break: null};
  });
}

/** `orx audit verify`: the hash chain, the signed checkpoints, and optionally a head kept elsewhere. */
export interface LedgerVerification extends AuditVerification {
  /** the hash links hold (what `ok` alone meant before checkpoints) */
  chain_ok: boolean;
  checkpoints: CheckpointCheck;
  head_file: HeadFileCheck | null;
}

export interface VerifyLedgerOptions {
  /** extra public keys (PEM files) checkpoints may be signed with */
  trustedKeyFiles?: string[];
  /** a signed head kept elsewhere (`orx audit head --signed`): the ledger must still hold it */
  headFile?: {path: string; label: string};
}

/**
 * The chain from the genesis hash, then every checkpoint: its signature (workspace key, or
 * --trusted-key), its head against the events, deleted checkpoints, and the events after the
 * newest one. Everything is read in one read transaction; signatures are checked after it.
 */
export async function verifyLedger(ledger: Ledger, dir: string, opts: VerifyLedgerOptions = {}): Promise<LedgerVerification> {
  const kept: SignedHead | null = opts.headFile ? readSignedHead(opts.headFile.path, opts.headFile.label) : null;
  const {chain, evidence, keptHashAt} = ledger.read(() => ({
    chain: verifyAudit(ledger),
    evidence: gatherCheckpointEvidence(ledger),
    keptHashAt: kept ? eventHashAt(ledger, kept.seq) : null,
  }));
  const needKeys = evidence.checkpoints.length > 0 || kept !== null;
  const {keys, error} = needKeys ? await checkpointVerifyKeys(dir, opts.trustedKeyFiles) : {keys: [], error: null};
  const checkpoints = judgeCheckpoints(evidence, await checkSignatures(evidence.checkpoints, keys), keys.length, error);
  const headFile = kept
    ? await checkHeadFile(opts.headFile!.label, kept, {lineage: evidence.lineage, head: evidence.head, hashAt: keptHashAt}, keys)
    : null;
  const ok = chain.ok && checkpoints.problems.length === 0 && (headFile?.ok ?? true);
  return {...chain, ok, chain_ok: chain.ok, checkpoints, head_file: headFile};
}

/** The newest checkpoint as a document to keep elsewhere; an error when there is none yet. */
export function signedHead(ledger: Ledger): SignedHead {
  const cp = ledger.read(() => latestCheckpoint(ledger));
  if (!cp) {
    throw new OrxError({
      code: 'not_found',
      message: 'No signed checkpoint in this ledger yet: one is signed when an apply, approval, halt or resume ends.',
      actions: ['Run `orx apply` (or another command that records a run), then retry.'],
    });
  }
  return toSignedHead(cp);
}

export function chainHead(ledger: Ledger): ChainHead & {lineage: string} {
  return ledger.read(() => ({...ledger.chainHead(), lineage: ledger.meta().lineage}));
}
