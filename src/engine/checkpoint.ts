// The one way a run (apply, approval, halt, resume, DR, and the commands that write the ledger
// outside a run) ends: a checkpoint of the chain head signed with the workspace key.
import fs from 'node:fs';
import {loadConfig} from '../config/load.js';
import type {WorkspaceConfig} from '../config/types.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  checkpointBytes,
  latestCheckpoint,
  nextCheckpointId,
  storeCheckpoint,
  type CheckpointRecord,
  type CheckpointStatement,
} from '../ledger/checkpoints.js';
import {eventHashAt} from '../ledger/events.js';
import type {Ledger} from '../ledger/ledger.js';
import {withLedger} from '../ledger/session.js';
import {keyPaths, loadWorkspaceKey, type WorkspaceKey} from '../trust/keys.js';
import type {Logger} from '../util/logger.js';
import {workspaceKey} from './workspace-key.js';

/** What signing needs of the command's context (an OrxContext has it). */
export interface CheckpointContext {
  dir: string;
  version: string;
  log: Logger;
}

export interface CheckpointWhat {
  /** what ended: apply, destroy, backup, restore, prune, approve, halt, resume, state-rm, ... */
  reason: string;
  run_id?: string | null;
}

export type CheckpointOutcome =
  | {status: 'signed'; checkpoint: CheckpointRecord}
  /** the head was already signed: nothing was written since the last checkpoint */
  | {status: 'current'; checkpoint: CheckpointRecord}
  /** nothing signed; `orx audit verify` reports the events after the last checkpoint */
  | {status: 'skipped'; reason: string};

// Two processes may sign at once; each retry takes the next id. Bounded: a checkpoint that
// loses three races in a row is left to the next run.
const STORE_ATTEMPTS = 3;

/**
 * Starts loading the signing code, and parsing the workspace key if it is in .orx/keys (the
 * first key a process parses costs OpenSSL several milliseconds), while a run does its slow
 * work, so the run's end does not wait for either. Failures are left for the checkpoint to report.
 */
export function preloadCheckpointSigner(dir: string): void {
  void import('../trust/sign-message.js')
    .then(() => {
      if (fs.existsSync(keyPaths(dir).privateKey)) loadWorkspaceKey(dir);
    })
    .catch(() => undefined);
}

/**
 * Signs the chain head with the workspace key and stores the checkpoint in one transaction,
 * after the run's events. Never throws: the run it ends has already happened, so a key that
 * cannot be loaded (or anything else) is a warning, and the unsigned tail stays visible to
 * `orx audit verify`. It also refuses to vouch for a chain that no longer matches the last
 * checkpoint or whose newer rows do not verify: that is left for `orx audit verify` to name.
 * `config` undefined: loaded here (a configuration that does not load uses .orx/keys only).
 */
export async function checkpointChain(
  ctx: CheckpointContext,
  ledger: Ledger,
  config: WorkspaceConfig | null | undefined,
  what: CheckpointWhat,
): Promise<CheckpointOutcome> {
  const skip = (reason: string): CheckpointOutcome => {
    ctx.log.warn(
      `no checkpoint of the ledger's chain head was signed: ${reason}. \`orx audit verify\` reports the events after the last checkpoint as unsigned until a later run signs one.`,
    );
    return {status: 'skipped', reason};
  };
  try {
    const head = ledger.chainHead();
    if (head.seq === 0) return {status: 'skipped', reason: 'the ledger has no events yet'};
    const lineage = ledger.meta().lineage;
    const last = latestCheckpoint(ledger);
    if (last && last.seq === head.seq && last.hash === head.hash && last.lineage === lineage) return {status: 'current', checkpoint: last};
    const broken = chainSinceCheckpoint(ledger, last, lineage);
    if (broken) return skip(`${broken}; orx does not sign a chain that was changed`);
    const key = await checkpointKey(ctx, config);
    const {signMessage} = await import('../trust/sign-message.js');
    for (let attempt = 0; attempt < STORE_ATTEMPTS; attempt++) {
      const statement: CheckpointStatement = {
        format: CHECKPOINT_FORMAT,
        version: CHECKPOINT_VERSION,
        id: nextCheckpointId(ledger),
        lineage,
        seq: head.seq,
        hash: head.hash,
        ts: new Date().toISOString(),
        reason: what.reason,
        run_id: what.run_id ?? null,
      };
      const cp: CheckpointRecord = {...statement, key_fingerprint: key.fingerprint, bundle: signMessage(checkpointBytes(statement), key)};
      if (storeCheckpoint(ledger, cp)) {
        ctx.log.debug(`checkpoint #${cp.id}: seq ${cp.seq} ${cp.hash} signed by ${cp.key_fingerprint}`);
        return {status: 'signed', checkpoint: cp};
      }
    }
    return skip('other processes kept storing checkpoints at the same time');
  } catch (err) {
    return skip(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Why the chain may not be signed now, or null: the last checkpoint's row is gone or changed,
 * the lineage changed, or a row after it does not verify. Only the rows since the last
 * checkpoint are hashed (a run's worth), so this costs little; without one, the whole chain.
 */
function chainSinceCheckpoint(ledger: Ledger, last: CheckpointRecord | null, lineage: string): string | null {
  if (last) {
    if (last.lineage !== lineage) return `checkpoint #${last.id} belongs to ledger lineage ${last.lineage}, not ${lineage}`;
    const stored = eventHashAt(ledger, last.seq);
    if (stored === null) return `event seq ${last.seq}, signed by checkpoint #${last.id}, is missing`;
    if (stored !== last.hash) return `event seq ${last.seq} no longer has the hash checkpoint #${last.id} signed`;
  }
  const v = ledger.verifyChain(last ? {seq: last.seq, hash: last.hash} : undefined);
  return v.ok ? null : `the chain is broken at seq ${v.seq} (${v.reason})`;
}

/** The workspace key as every signer finds it; with no loadable configuration, only .orx/keys (never a new key). */
async function checkpointKey(ctx: CheckpointContext, config: WorkspaceConfig | null | undefined): Promise<WorkspaceKey> {
  let cfg = config;
  if (cfg === undefined) {
    try {
      cfg = loadConfig(ctx.dir).config;
    } catch {
      cfg = null;
    }
  }
  return cfg ? workspaceKey(ctx, cfg) : loadWorkspaceKey(ctx.dir);
}

/**
 * For commands that write the ledger outside a run (approve, state rm, import, force-unlock,
 * token revoke): the write, then a checkpoint of the head, with the ledger open once.
 */
export async function withCheckpointedLedger<T>(
  ctx: CheckpointContext,
  what: CheckpointWhat,
  fn: (ledger: Ledger) => Promise<T> | T,
): Promise<T> {
  return withLedger(ctx.dir, async (ledger) => {
    const out = await fn(ledger);
    await checkpointChain(ctx, ledger, undefined, what);
    return out;
  });
}
