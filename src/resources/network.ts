import {engineMessage, isNotFound} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import {bool, obj, str, strMap} from './check.js';
import {LABEL, ownLabels} from '../util/labels.js';
import {planByDiff} from './plan-helper.js';
import type {Action, ApplyContext, PlannedStep, StepOutcome} from './types.js';

export interface NetworkAttrs extends Record<string, unknown> {
  name: string;
  internal: boolean;
  labels: Record<string, string>;
  /** the IPv4 subnet Docker gave it (computed: recorded at create, e.g. for an output) */
  subnet?: string | null;
}

type NetworkInspect = {IPAM?: {Config?: Array<{Subnet?: string}> | null} | null};

/** The first subnet Docker's IPAM gave a network, as `172.18.0.0/16`. */
export function networkSubnet(n: NetworkInspect): string | null {
  return n.IPAM?.Config?.find((c) => c.Subnet)?.Subnet ?? null;
}

/** Refuses to touch an object of the same name that another owner made. */
export function assertOurs(
  kind: string,
  name: string,
  labels: Record<string, string> | null | undefined,
  ctx: ApplyContext,
  address: string,
): boolean {
  const l = labels ?? {};
  if (l[LABEL.workspace] === ctx.workspace && l[LABEL.address] === address) return true;
  throw new OrxError({
    code: 'name_conflict',
    message: `${address}: a ${kind} named "${name}" already exists and orx does not manage it`,
    actions: [`Remove it, or adopt it with \`orx import ${address} ${name}\`.`],
  });
}

export const networkAction: Action<NetworkAttrs> = {
  kind: 'network',
  version: '1.0.0',
  safety: {category: 'WRITE', budget: {timeMs: 30_000, network: 'none'}},
  updatable: new Set(),
  computed: new Set(['name', 'subnet']),

  validate(input) {
    const a = obj('network', input);
    return {name: str('network', a, 'name'), internal: bool('network', a, 'internal'), labels: strMap('network', a, 'labels')};
  },

  plan(desired, base) {
    return planByDiff(this, desired, base, 'WRITE');
  },

  async apply(step, ctx) {
    if (step.action === 'delete') {
      await removeNetwork(step, ctx);
      return {object_id: null, attributes: null};
    }
    if (step.action === 'replace') await removeNetwork(step, ctx);
    return createNetwork(step, ctx);
  },

  async rollback(outcome, ctx) {
    if (outcome.object_id) await removeById(outcome.object_id, ctx);
  },
};

export async function removeNetwork(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  const name = (step.before?.name as string | undefined) ?? step.object_id;
  if (name) await removeById(step.object_id ?? name, ctx);
}

async function removeById(id: string, ctx: ApplyContext): Promise<void> {
  try {
    await ctx.docker.getNetwork(id).remove();
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot remove network: ${engineMessage(err)}`, {cause: err});
  }
}

export async function createNetwork(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = networkAction.validate(step.after);
  try {
    const existing = await ctx.docker.getNetwork(after.name).inspect();
    assertOurs('network', after.name, existing.Labels, ctx, step.address);
    if (existing.Internal === after.internal)
      return {object_id: existing.Id, attributes: {...after, subnet: networkSubnet(existing)}, adopted: true};
    await removeById(existing.Id, ctx);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const net = await ctx.docker.createNetwork({
    Name: after.name,
    Driver: 'bridge',
    Internal: after.internal,
    CheckDuplicate: true,
    Labels: {...after.labels, ...ownLabels(ctx.workspace, step.address, step.idempotency_key)},
  });
  // the subnet is Docker's choice: read back once, so outputs can use it without the engine
  const made = await net.inspect().catch(() => ({}));
  return {object_id: net.id, attributes: {...after, subnet: networkSubnet(made)}};
}
