import {engineMessage, isNotFound} from '../drivers/docker.js';
import {bool, obj, str, strMap} from './check.js';
import {ownLabels} from './labels.js';
import {assertOurs} from './network.js';
import {planByDiff} from './plan-helper.js';
import type {Action, ApplyContext, PlannedStep, StepOutcome} from './types.js';

export interface VolumeAttrs extends Record<string, unknown> {
  name: string;
  labels: Record<string, string>;
  backup: boolean;
}

export const volumeAction: Action<VolumeAttrs> = {
  kind: 'volume',
  version: '1.0.0',
  safety: {category: 'WRITE', budget: {timeMs: 30_000, network: 'none'}},
  // whether a volume is backed up is orx's own bookkeeping: no Docker change needed
  updatable: new Set(['backup']),
  computed: new Set(['name']),

  validate(input) {
    const a = obj('volume', input);
    return {name: str('volume', a, 'name'), labels: strMap('volume', a, 'labels'), backup: bool('volume', a, 'backup')};
  },

  // replacing a volume loses its data: that is a DESTROY, never a quiet WRITE
  plan(desired, base) {
    return planByDiff(this, desired, base, 'DESTROY');
  },

  async apply(step, ctx) {
    if (step.action === 'delete') {
      await removeVolume(step, ctx);
      return {object_id: null, attributes: null};
    }
    if (step.action === 'update') return {object_id: step.object_id, attributes: volumeAction.validate(step.after)};
    if (step.action === 'replace') await removeVolume(step, ctx);
    return createVolume(step, ctx);
  },

  async rollback(outcome, ctx) {
    if (outcome.object_id) await removeByName(outcome.object_id, ctx);
  },
};

export async function removeVolume(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  const name = step.object_id ?? (step.before?.name as string | undefined);
  if (name) await removeByName(name, ctx);
}

async function removeByName(name: string, ctx: ApplyContext): Promise<void> {
  try {
    await ctx.docker.getVolume(name).remove();
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot remove volume ${name}: ${engineMessage(err)}`);
  }
}

export async function createVolume(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = volumeAction.validate(step.after);
  try {
    const existing = await ctx.docker.getVolume(after.name).inspect();
    assertOurs('volume', after.name, existing.Labels, ctx, step.address);
    return {object_id: existing.Name, attributes: after, adopted: true};
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await ctx.docker.createVolume({
    Name: after.name,
    Labels: {...after.labels, ...ownLabels(ctx.workspace, step.address, step.idempotency_key)},
  });
  return {object_id: after.name, attributes: after};
}
