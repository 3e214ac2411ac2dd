import {withLedger} from '../ledger/session.js';
import os from 'node:os';
import {loadConfig} from '../config/load.js';
import {connectDocker} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import {pidAlive} from '../ledger/locks.js';
import {clearHalt, haltState, setHalt, type HaltState} from '../ledger/halt.js';
import {stopAllAgents} from '../resources/agent/halt.js';
import {revokeTokens} from '../ledger/tokens.js';
import {removeWorkspaceSecrets, secretsRoot} from '../secrets/delivery.js';
import type {OrxContext} from '../engine/context.js';
import {checkpointChain} from '../engine/checkpoint.js';
import {cutEgress} from '../egress/halt.js';
import {GATEWAY_ADDRESS} from '../egress/attrs.js';
import {ingestEgressLog} from '../egress/ingest.js';

export interface HaltOptions {
  reason: string;
  /** how long to wait for a running apply to finish its in-flight steps */
  waitMs?: number;
}

export interface HaltResult {
  state: HaltState;
  /** the apply that was running when the halt came, if any */
  interrupted_apply: {pid: number; command: string} | null;
  failures: Array<{address: string; error: string}>;
  /** agents' secrets directories removed from the host tmpfs */
  secrets_removed: number;
  /** identity tokens revoked */
  tokens_revoked: number;
  /** when the egress gateway was killed (null: the workspace has none running) */
  egress_cut_at: string | null;
}

export {GATEWAY_ADDRESS};

function workspaceName(dir: string): string | null {
  try {
    return loadConfig(dir).config.workspace;
  } catch {
    // a kill switch must work with a broken configuration too: the ledger's bindings remain
    return null;
  }
}

async function waitForLockRelease(ledger: Ledger, lockId: string, waitMs: number): Promise<void> {
  const until = Date.now() + waitMs;
  while (Date.now() < until && ledger.currentLock()?.id === lockId) await new Promise((r) => setTimeout(r, 100));
}

/**
 * `orx halt`: safe mode first (so a running apply stops starting steps), then a nudge to
 * that apply, then, once its in-flight steps are done, every running agent is stopped
 * (resources/agent/halt.ts), its secrets removed and its tokens revoked.
 */
export async function haltWorkspace(ctx: OrxContext, ledger: Ledger, opts: HaltOptions): Promise<HaltResult> {
  const state: HaltState = {at: new Date().toISOString(), by: ctx.actor, reason: opts.reason, stopped: []};
  setHalt(ledger, state);
  // the running apply is told at once, as it ever was: one that sees the halt soon lets the lock go
  const lock = ledger.currentLock();
  let interrupted: HaltResult['interrupted_apply'] = null;
  if (lock && lock.host === os.hostname() && lock.pid !== process.pid && pidAlive(lock.pid)) {
    interrupted = {pid: lock.pid, command: lock.command};
    try {
      process.kill(lock.pid, 'SIGUSR2');
    } catch {
      // gone meanwhile: nothing to wait for
    }
  }
  // egress goes next, before waiting for anything: from here on no agent reaches the outside
  const ws = workspaceName(ctx.dir);
  const docker = await connectDocker();
  const cut = await cutEgress(docker, ws, ledger.listResources());
  const egressCutAt = cut.stopped.length > 0 ? new Date().toISOString() : null;
  state.stopped.push(...cut.stopped);
  if (cut.stopped.length > 0) setHalt(ledger, state);
  if (interrupted && lock) await waitForLockRelease(ledger, lock.id, opts.waitMs ?? 120_000);

  const agents = await stopAllAgents(docker, ctx.dir, ws, ledger.listResources());
  state.stopped.push(...agents.stopped);
  setHalt(ledger, state);
  // what agents reached for up to the halt is on the record
  await ingestEgressLog(docker, ledger, null).catch((err: unknown) => ctx.log.warn(`egress log not recorded: ${String(err)}`));
  // a halted agent keeps no secret in RAM and no identity that still verifies: resume
  // delivers both afresh
  const secretsRemoved = removeWorkspaceSecrets(secretsRoot(), ctx.dir, ws, agents.secrets_mounts).length;
  const tokensRevoked = revokeTokens(ledger, {all: true}, {actor: ctx.actor, reason: `workspace halted: ${opts.reason}`}).length;
  await checkpointChain(ctx, ledger, undefined, {reason: 'halt'});
  return {
    state,
    interrupted_apply: interrupted,
    failures: [...cut.failures, ...agents.failures],
    secrets_removed: secretsRemoved,
    tokens_revoked: tokensRevoked,
    egress_cut_at: egressCutAt,
  };
}

export async function liftHalt(ctx: OrxContext, ledger: Ledger, reason: string): Promise<HaltState> {
  const was = haltState(ledger);
  if (!was)
    throw new OrxError({
      code: 'not_halted',
      message: 'the workspace is not halted',
      actions: ['Nothing to resume; `orx plan` shows what differs.'],
    });
  clearHalt(ledger, ctx.actor, reason);
  await checkpointChain(ctx, ledger, undefined, {reason: 'resume'});
  return was;
}

/** `orx halt`: the kill switch, thrown now. */
export function haltNow(ctx: OrxContext, opts: HaltOptions): Promise<HaltResult> {
  return withLedger(ctx.dir, (l) => haltWorkspace(ctx, l, opts));
}
