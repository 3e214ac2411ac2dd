// The egress gateway resource: one squid container per workspace, on its uplink and on each
// agent's link network. A change of allowlists or talks_to is a reload, never a new container.
import type Dockerode from 'dockerode';
import {isNotFound, statusCode} from '../drivers/docker.js';
import {planByDiff} from '../resources/plan-helper.js';
import type {Action, ApplyContext, PlannedStep, StepOutcome} from '../resources/types.js';
import {LABEL} from '../util/labels.js';
import {ingestEgressLog} from './ingest.js';
import {GATEWAY_UPDATABLE, gatewayConfigHash, validateGatewayAttrs, type GatewayAttrs} from './attrs.js';
import {
  attachedNetworks,
  connectLinks,
  dropLink,
  ensureImage,
  ensureLink,
  ensureUplink,
  gatewaySpec,
  reload,
  startAndWait,
  writeConfig,
} from './gateway-docker.js';

async function findContainer(ctx: ApplyContext, ref: string | null): Promise<Dockerode.ContainerInspectInfo | null> {
  if (!ref) return null;
  try {
    return await ctx.docker.getContainer(ref).inspect();
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Its access log goes with the container: what is not yet in the ledger is recorded first. */
async function removeContainer(ctx: ApplyContext, ref: string | null): Promise<void> {
  if (!ref) return;
  await ingestEgressLog(ctx.docker, ctx.ledger, ctx.runId, ref);
  try {
    await ctx.docker.getContainer(ref).remove({force: true});
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Links the gateway is on that no agent of `keep` has: left, and removed once empty. */
async function dropStaleLinks(
  ctx: ApplyContext,
  name: string | null,
  keep: GatewayAttrs | null,
  before: GatewayAttrs | null,
): Promise<void> {
  const wanted = new Set(Object.values(keep?.agents ?? {}).map((a) => a.link.network));
  for (const a of Object.values(before?.agents ?? {}))
    if (!wanted.has(a.link.network)) await dropLink(ctx.docker, ctx.workspace, a.link.network, name);
}

async function converge(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = validateGatewayAttrs(step.after);
  const before = step.before ? validateGatewayAttrs(step.before) : null;
  ctx.progress?.('networks');
  await ensureUplink(ctx.docker, after, step.address, step.idempotency_key);
  for (const a of Object.values(after.agents)) await ensureLink(ctx.docker, ctx.workspace, a.link, step.address, step.idempotency_key);
  writeConfig(ctx.dir, after);

  let info = await findContainer(ctx, step.object_id ?? after.name);
  // another image or uplink than the container was made with: a new container (the plan said replace)
  if (info && (step.action === 'replace' || info.Config.Labels?.[LABEL.configHash] !== gatewayConfigHash(after))) {
    await removeContainer(ctx, info.Id);
    info = null;
  }
  let c: Dockerode.Container;
  if (!info) {
    ctx.progress?.('image');
    await ensureImage(ctx.docker, after.image, ctx.signal);
    c = await ctx.docker.createContainer(gatewaySpec(ctx.dir, after, step.address, step.idempotency_key));
    try {
      await connectLinks(ctx.docker, c, after, await attachedNetworks(c));
      ctx.progress?.('starting');
      await startAndWait(c);
    } catch (err) {
      await removeContainer(ctx, c.id);
      throw err;
    }
  } else {
    c = ctx.docker.getContainer(info.Id);
    await connectLinks(ctx.docker, c, after, await attachedNetworks(c));
    ctx.progress?.('reloading');
    if (info.State.Running) await reload(c);
    else {
      // a halt took its restart policy away with it
      await c.update({RestartPolicy: {Name: 'unless-stopped'}});
      await startAndWait(c);
    }
  }
  await dropStaleLinks(ctx, after.name, after, before);
  return {object_id: c.id, attributes: after};
}

export const gatewayAction: Action<GatewayAttrs> = {
  kind: 'gateway',
  version: '1.0.0',
  safety: {category: 'WRITE', budget: {timeMs: 120_000, network: 'internet'}},
  updatable: GATEWAY_UPDATABLE,
  computed: new Set(['name']),

  validate: validateGatewayAttrs,

  plan(desired, base) {
    return planByDiff(this, desired, base, 'WRITE');
  },

  async apply(step, ctx) {
    if (step.action !== 'delete') return converge(step, ctx);
    const before = step.before ? validateGatewayAttrs(step.before) : null;
    await removeContainer(ctx, step.object_id ?? before?.name ?? null);
    await dropStaleLinks(ctx, null, null, before);
    if (before?.uplink_managed)
      await ctx.docker
        .getNetwork(before.uplinks[0])
        .remove()
        .catch((err: unknown) => {
          if (!isNotFound(err) && statusCode(err) !== 403) throw err;
        });
    return {object_id: null, attributes: null};
  },

  async rollback(outcome, ctx) {
    // a gateway that did not take is removed; the next apply makes it again from the plan
    if (outcome.object_id) await removeContainer(ctx, outcome.object_id);
  },
};
