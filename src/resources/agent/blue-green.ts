// A blue-green replace of an agent: the new container starts beside the old one (its own
// name, derived from the step's idempotency key, so a re-run after a crash finds it), and
// takes over the network aliases only once healthy; otherwise it goes and the old one stays.
// Published host ports cannot be held by two containers: then the old one is stopped first
// and kept, and started again on rollback (the documented gap).
import {isNotFound} from '../../drivers/docker.js';
import {UPDATE_DEFAULTS} from '../../config/agent.js';
import {excerpt} from '../../util/redact.js';
import {agentAttrs, agentConfigHash, type AgentAttrs} from './attrs.js';
import {agentNetworks, connectNetworks, createAgent, forceRemove, secretsMountSource} from './container-ops.js';
import {waitHealthy} from './health.js';
import {putBack, removeLeftovers, stopQuietly} from './rollback.js';
import {objectName} from '../../util/labels.js';
import type {ApplyContext, PlannedStep, StepOutcome} from '../types.js';

export function wantsBlueGreen(step: PlannedStep): boolean {
  const u = step.after?.update as AgentAttrs['update'];
  return (
    step.kind === 'agent' &&
    step.action === 'replace' &&
    u?.strategy === 'blue-green' &&
    step.before !== null &&
    step.before.target !== 'kubernetes' &&
    step.after?.target !== 'kubernetes'
  );
}

/**
 * How a blue-green replace goes: beside the old container, or stop-first when both versions
 * publish host ports (two containers cannot hold one); null when the step is no blue-green.
 */
export function blueGreenMode(step: PlannedStep): 'beside' | 'stop-first' | null {
  if (!wantsBlueGreen(step)) return null;
  const published = (a: PlannedStep['before']): boolean => ((a?.ports as unknown[] | undefined) ?? []).length > 0;
  return published(step.before) && published(step.after) ? 'stop-first' : 'beside';
}

/** The new container's name: the agent's, plus a part of the step's key (stable across a re-run). */
export function blueGreenName(step: PlannedStep, workspace: string): string {
  return `${objectName(workspace, step.address.slice('agent.'.length))}-${step.idempotency_key.slice(0, 8)}`;
}

const SETTLE_MS = 1500;

export async function blueGreenReplace(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const before = agentAttrs(step.before);
  const desired = agentAttrs(step.after);
  const update = desired.update ?? UPDATE_DEFAULTS;
  const name = blueGreenName(step, ctx.workspace);
  // the name is part of what the config hash covers: the label and the record must agree
  const after: AgentAttrs = {...desired, name, config_hash: agentConfigHash({...desired, name})};
  const old = ctx.docker.getContainer(step.object_id ?? before.name);
  await removeLeftovers(step, [name, before.name], ctx);
  const stopFirst = blueGreenMode(step) === 'stop-first';
  const back = (why: string, created: StepOutcome | null, kept: string, payload: Record<string, unknown>): Promise<never> =>
    putBack(step, ctx, {
      created: created ? {id: created.object_id!, name} : null,
      old,
      oldName: before.name,
      startOld: stopFirst,
      why,
      kept,
      payload: {strategy: 'blue-green', ...payload},
    });
  if (stopFirst) {
    ctx.progress?.('stopping the old container first: it holds the published host ports');
    await stopQuietly(old);
  }
  let created: StepOutcome;
  try {
    // on no network yet: nothing reaches it by the agent's name before it is healthy (with host
    // ports the old one is stopped already, and the ports need the network now)
    created = await createAgent({...step, action: 'create', after}, ctx, {aliases: stopFirst});
  } catch (err) {
    // createAgent leaves nothing of the new container behind: only a stopped old one needs putting back
    if (!stopFirst) throw err;
    return back(`blue-green: ${(err as Error).message}`, null, `rolled back, ${before.name} keeps running.`, {reason: 'start'});
  }
  const health = await waitHealthy(ctx.docker, created.object_id!, after.health, {
    timeoutMs: update.health_timeout_ms,
    progress: ctx.progress,
    signal: ctx.signal,
    forceUnhealthy: ctx.chaos?.unhealthy === true,
  });
  // a stopped container cannot take over, whatever rollback_on says
  if (!health.ok && (health.reason === 'exit' || update.rollback_on.includes(health.reason))) {
    const last = health.output ? ` Last check: ${excerpt(health.output, {max: 300})}` : '';
    return back(
      `blue-green: the new container was not healthy (${health.reason}: ${health.detail})`,
      created,
      `rolled back, ${before.name} keeps running.${last}`,
      {
        reason: health.reason,
        detail: health.detail,
        attempts: health.attempts,
        health_output: health.output,
      },
    );
  }
  if (!health.ok) ctx.log.warn(`${step.address}: promoted although ${health.detail} (update.rollback_on leaves out ${health.reason})`);
  // the new container takes the agent's name on every network (both answer to it for a moment),
  // then the old one leaves the networks, then goes
  if (!stopFirst && agentNetworks(after).length > 0) {
    ctx.progress?.('moving the network aliases to the new container');
    await takeAliases(created.object_id!, step.address, after, ctx);
    // a container that just joined a network can take a moment to answer there: the old one keeps
    // serving under the same name meanwhile
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
  const mountedAt = await secretsMountSource(old, before.secrets_mount);
  await retire(old, ctx);
  ctx.secrets.retire(step.address, before.name, name, 'replaced by blue-green', mountedAt);
  return created;
}

// Off the networks first: from then on the agent's name resolves to the new container only.
async function retire(old: ReturnType<ApplyContext['docker']['getContainer']>, ctx: ApplyContext): Promise<void> {
  try {
    const info = await old.inspect();
    for (const net of Object.keys(info.NetworkSettings.Networks ?? {})) {
      if (net !== 'none')
        await ctx.docker
          .getNetwork(net)
          .disconnect({Container: info.Id, Force: true})
          .catch(() => undefined);
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return;
  }
  await stopQuietly(old);
  await forceRemove(old);
}

async function takeAliases(id: string, address: string, after: AgentAttrs, ctx: ApplyContext): Promise<void> {
  await ctx.docker.getNetwork('none').disconnect({Container: id, Force: true});
  await connectNetworks(ctx.docker.getContainer(id), address, after, [], ctx);
}
