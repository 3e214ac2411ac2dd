// What a replace does when the new container cannot take over: the new one goes, the old one
// runs again with its own files and token, and the step says so (RolledBack); when that too
// fails, the step names what was left behind (RollbackFailed). Shared by recreate and blue-green.
import type Dockerode from 'dockerode';
import {engineMessage, isNotFound, statusCode} from '../../drivers/docker.js';
import {forceRemove} from './container-ops.js';
import {LABEL} from '../../util/labels.js';
import type {ApplyContext, PlannedStep} from '../types.js';

/** The replace failed and everything it touched is as it was: the old container runs, the new one is gone. */
export class RolledBack extends Error {}

/** The replace failed and so did putting the old container back: the message names what was left. */
export class RollbackFailed extends Error {}

export async function stopQuietly(c: Dockerode.Container): Promise<void> {
  try {
    await c.stop({t: 10});
  } catch (err) {
    // 304: already stopped
    if (!isNotFound(err) && statusCode(err) !== 304) throw new Error(`cannot stop the old container: ${engineMessage(err)}`, {cause: err});
  }
}

export interface PutBack {
  /** the new container, when it was created */
  created: {id: string; name: string} | null;
  old: Dockerode.Container;
  oldName: string;
  /** the old container was stopped for the new one: it is started again */
  startOld: boolean;
  /** why the new container could not take over (the step's error) */
  why: string;
  /** how the success reads: "rolled back: X runs again ..." */
  kept: string;
  /** for the ledger event */
  payload: Record<string, unknown>;
}

/** Removes the new container, starts the old one again, records it, and throws what the step ends with. */
export async function putBack(step: PlannedStep, ctx: ApplyContext, p: PutBack): Promise<never> {
  const left: string[] = [];
  if (p.created) {
    try {
      await forceRemove(ctx.docker.getContainer(p.created.id));
    } catch (err) {
      left.push(`the new container ${p.created.name} (${p.created.id.slice(0, 12)}) is left behind: ${(err as Error).message}`);
    }
    ctx.secrets.discard(p.created.name, 'replace rolled back');
  }
  if (p.startOld) {
    try {
      await p.old.start();
    } catch (err) {
      if (statusCode(err) !== 304)
        left.push(`the old container ${p.oldName} is left stopped: cannot start it again: ${engineMessage(err)}`);
    }
  }
  const ok = left.length === 0;
  ctx.ledger.appendEvent({
    run_id: ctx.runId,
    level: ok ? 'warn' : 'error',
    message: ok
      ? `${step.address}: ${String(p.payload.strategy)} rolled back: ${p.why}; ${p.oldName} keeps running`
      : `${step.address}: ${String(p.payload.strategy)} rollback failed: ${left.join('; ')}`,
    payload: {
      address: step.address,
      rollback: {...p.payload, ok, kept: p.oldName, removed: p.created?.name ?? null, ...(ok ? {} : {left_behind: left})},
    },
  });
  if (ok) throw new RolledBack(`${p.why}; ${p.kept}`);
  throw new RollbackFailed(`${p.why}; the rollback failed too: ${left.join('; ')}`);
}

/**
 * This workspace's containers, listed once per apply for every replace in it (one list call,
 * not one per agent). A step's own containers are made after the list came back, so it holds
 * what earlier applies left, and every old container as it was before this apply.
 */
function workspaceContainers(ctx: ApplyContext): Promise<Dockerode.ContainerInfo[]> {
  let listed = ctx.memo.get('replace:containers') as Promise<Dockerode.ContainerInfo[]> | undefined;
  if (!listed) {
    listed = ctx.docker.listContainers({all: true, filters: {label: [`${LABEL.workspace}=${ctx.workspace}`]}});
    ctx.memo.set('replace:containers', listed);
  }
  return listed;
}

/**
 * Containers of this agent left by replace steps that were cut short (the plan notes them):
 * gone before a new one is made, so that two never serve at once. Returns the old container
 * as listed (null when it is gone).
 */
export async function removeLeftovers(step: PlannedStep, keep: string[], ctx: ApplyContext): Promise<Dockerode.ContainerInfo | null> {
  const labelled = (await workspaceContainers(ctx)).filter((c) => c.Labels?.[LABEL.address] === step.address);
  const oldName = `/${String(step.before?.name)}`;
  for (const c of labelled) {
    if (c.Id === step.object_id || keep.some((n) => c.Names?.[0] === `/${n}`) || c.Labels?.[LABEL.step] === undefined) continue;
    const name = c.Names?.[0]?.slice(1);
    ctx.log.info(`${step.address}: removing ${name ?? c.Id}, left by an interrupted update`);
    await forceRemove(ctx.docker.getContainer(c.Id));
    if (name) ctx.secrets.remove(null, name, 'left by an interrupted update');
  }
  return labelled.find((c) => (step.object_id ? c.Id === step.object_id : c.Names?.[0] === oldName)) ?? null;
}
