// A recreate replace of a Docker agent, new container first. The new container is created (not
// started) under a name of its own, so a bad image or configuration fails while the old one
// still runs untouched; then the old one stops (it holds the ports and the name on the
// networks), the new one starts and must stay up (or pass its health check), and only then
// does the old one go and the new one take the agent's name. A failed start or health wait
// removes the new container and starts the old one again with its own secrets and token.
import {UPDATE_DEFAULTS} from '../../config/agent.js';
import type Dockerode from 'dockerode';
import {engineMessage, isNotFound} from '../../drivers/docker.js';
import {NEXT_SUFFIX} from '../../secrets/delivery.js';
import {excerpt} from '../../util/redact.js';
import {agentAttrs, type AgentAttrs} from './attrs.js';
import {createStopped, forceRemove, secretsMountOf} from './container-ops.js';
import {waitHealthy} from './health.js';
import {putBack, removeLeftovers, stopQuietly} from './rollback.js';
import type {ApplyContext, PlannedStep, StepOutcome} from '../types.js';

// without a health check: how long the new container must keep running to count as started.
// A command that exits at once is caught: by then it is stopped, being restarted, or restarted
// (its restart count says so; the engine's first restart comes 100 ms after the exit).
export const RECREATE_SETTLE_MS = 500;

/** The new container's name until it takes over: the agent's, plus a part of the step's key. */
export function nextName(after: AgentAttrs, step: PlannedStep): string {
  return `${after.name}${NEXT_SUFFIX}${step.idempotency_key.slice(0, 8)}`;
}

export async function recreateReplace(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  // the old container's record may not meet today's attributes (an imported one was never
  // hardened): only its name and secrets mount are read from it
  const before = {
    name: typeof step.before?.name === 'string' ? step.before.name : (step.object_id ?? ''),
    secrets_mount: step.before?.secrets_mount,
  };
  const after = agentAttrs(step.after);
  const update = after.update ?? UPDATE_DEFAULTS;
  const temp = nextName(after, step);
  const old = ctx.docker.getContainer(step.object_id ?? before.name);
  const oldInfo = (await removeLeftovers(step, [before.name], ctx)) ?? (await unlabelled(old));
  const oldMount = oldInfo ? secretsMountOf(oldInfo, before.secrets_mount) : null;
  const wasRunning = oldInfo?.State === 'running';

  const {container, fingerprints} = await createStopped(step, after, ctx, temp);
  // from here on a failure puts the old container back as it was: running if it ran
  const back = (why: string, payload: Record<string, unknown>): Promise<never> =>
    putBack(step, ctx, {
      created: {id: container.id, name: temp},
      old,
      oldName: before.name,
      startOld: wasRunning,
      why,
      kept: wasRunning
        ? `rolled back: ${before.name} runs again with the old configuration`
        : `rolled back: ${before.name} is left as it was (stopped)`,
      payload: {strategy: 'recreate', ...payload},
    });

  if (oldInfo) {
    ctx.progress?.('stopping the old container');
    try {
      await stopQuietly(old);
    } catch (err) {
      return back((err as Error).message, {reason: 'stop'});
    }
  }
  try {
    await container.start();
  } catch (err) {
    return back(`the new container did not start: ${engineMessage(err)}`, {reason: 'start'});
  }
  const health = await waitHealthy(ctx.docker, container.id, after.health, {
    timeoutMs: update.health_timeout_ms,
    settleMs: RECREATE_SETTLE_MS,
    progress: ctx.progress,
    signal: ctx.signal,
    forceUnhealthy: ctx.chaos?.unhealthy === true,
  });
  // a container that exited cannot take over, whatever rollback_on says
  if (!health.ok && (health.reason === 'exit' || update.rollback_on.includes(health.reason))) {
    const last = health.output ? ` Last output: ${excerpt(health.output, {max: 300})}` : '';
    return back(
      `the new container ${health.reason === 'exit' ? 'did not stay up' : 'was not healthy'} (${health.reason}: ${health.detail}).${last}`,
      {reason: health.reason, detail: health.detail, attempts: health.attempts, health_output: health.output},
    );
  }
  if (!health.ok) ctx.log.warn(`${step.address}: kept although ${health.detail} (update.rollback_on leaves out ${health.reason})`);

  // the new container serves: the old one goes, and its name is free for the new one
  try {
    if (oldInfo) await forceRemove(old);
    ctx.secrets.retire(step.address, before.name, temp, 'agent replaced', oldMount);
    await container.rename({name: after.name});
  } catch (err) {
    // the new container serves under its temporary name: the agent is up, the name is cosmetic
    ctx.log.warn(`${step.address}: the new container serves as ${temp}: ${(err as Error).message}`);
  }
  return {object_id: container.id, attributes: after, secret_fingerprints: fingerprints};
}

/** An old container without orx's labels (imported): the labelled list does not show it. */
async function unlabelled(
  old: Dockerode.Container,
): Promise<{State: string; Mounts?: Array<{Type?: string; Destination: string; Source: string}>} | null> {
  try {
    const info = await old.inspect();
    return {State: info.State.Status, Mounts: info.Mounts};
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}
