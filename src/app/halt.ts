import {withLedger} from '../ledger/session.js';
import os from 'node:os';
import {loadConfig} from '../config/load.js';
import {connectDocker, engineMessage, isNotFound, labelFilter, statusCode} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import {pidAlive} from '../ledger/locks.js';
import {clearHalt, haltState, setHalt, type HaltState} from '../ledger/halt.js';
import {LABEL} from '../util/labels.js';
import {isKubeAgent, stopKubeAgent, validateKubeAgent} from '../resources/agent/kubernetes.js';
import {revokeTokens} from '../ledger/tokens.js';
import {removeWorkspaceSecrets, secretsRoot} from '../secrets/delivery.js';
import {SECRETS_MOUNT} from '../config/mounts.js';
import type {OrxContext} from '../engine/context.js';
import {checkpointChain} from '../engine/checkpoint.js';

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
}

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
 * in parallel. Nothing is deleted: resume starts exactly what was stopped.
 */
export async function haltWorkspace(ctx: OrxContext, ledger: Ledger, opts: HaltOptions): Promise<HaltResult> {
  const state: HaltState = {at: new Date().toISOString(), by: ctx.actor, reason: opts.reason, stopped: []};
  setHalt(ledger, state);

  const lock = ledger.currentLock();
  let interrupted: HaltResult['interrupted_apply'] = null;
  if (lock && lock.host === os.hostname() && lock.pid !== process.pid && pidAlive(lock.pid)) {
    interrupted = {pid: lock.pid, command: lock.command};
    try {
      process.kill(lock.pid, 'SIGUSR2');
    } catch {
      // gone meanwhile: nothing to wait for
    }
    await waitForLockRelease(ledger, lock.id, opts.waitMs ?? 120_000);
  }

  const docker = await connectDocker();
  const ws = workspaceName(ctx.dir);
  const byId = new Map(
    ledger
      .listResources()
      .filter((r) => r.kind === 'agent' && r.object_id)
      .map((r) => [r.object_id!, r.address]),
  );
  const [labelled, bound] = await Promise.all([
    ws ? docker.listContainers({filters: {...labelFilter({[LABEL.workspace]: ws}), status: ['running']}}) : Promise.resolve([]),
    byId.size ? docker.listContainers({filters: {id: [...byId.keys()], status: ['running']}}) : Promise.resolve([]),
  ]);
  const running = new Map([...labelled, ...bound].map((c) => [c.Id, byId.get(c.Id) ?? c.Labels?.[LABEL.address] ?? c.Names?.[0] ?? c.Id]));
  const failures: HaltResult['failures'] = [];
  await Promise.all(
    [...running].map(async ([id, address]) => {
      try {
        await docker.getContainer(id).stop({t: 10});
        state.stopped.push({address, object_id: id});
      } catch (err) {
        if (statusCode(err) === 304 || isNotFound(err)) return;
        failures.push({address, error: engineMessage(err)});
      }
    }),
  );
  // Kubernetes agents: scaled to zero, their Secret deleted; resume's apply brings both back
  await Promise.all(
    ledger
      .listResources()
      .filter((r) => r.kind === 'agent' && isKubeAgent(r.attributes))
      .map(async (r) => {
        try {
          await stopKubeAgent(ctx.dir, validateKubeAgent(r.attributes));
          state.stopped.push({address: r.address, object_id: r.object_id ?? r.address});
        } catch (err) {
          failures.push({address: r.address, error: err instanceof Error ? err.message : String(err)});
        }
      }),
  );
  state.stopped.sort((a, b) => (a.address < b.address ? -1 : 1));
  setHalt(ledger, state);
  // a halted agent keeps no secret in RAM and no identity that still verifies: resume
  // delivers both afresh
  const mounts = [...labelled, ...bound].flatMap(
    (c) => c.Mounts?.filter((m) => m.Type === 'bind' && m.Destination === SECRETS_MOUNT).map((m) => m.Source) ?? [],
  );
  const secretsRemoved = removeWorkspaceSecrets(secretsRoot(), ctx.dir, ws, mounts).length;
  const tokensRevoked = revokeTokens(ledger, {all: true}, {actor: ctx.actor, reason: `workspace halted: ${opts.reason}`}).length;
  await checkpointChain(ctx, ledger, undefined, {reason: 'halt'});
  return {state, interrupted_apply: interrupted, failures, secrets_removed: secretsRemoved, tokens_revoked: tokensRevoked};
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
