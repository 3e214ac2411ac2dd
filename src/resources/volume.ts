import {engineMessage, isNotFound, statusCode} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import {effectiveUser} from './agent/user.js';
import {bad, bool, obj, str, strMap} from './check.js';
import {ownLabels} from '../util/labels.js';
import {assertOurs} from './network.js';
import {planByDiff} from './plan-helper.js';
import type {Action, ApplyContext, Attrs, DesiredResource, ObservedResource, PlannedStep, StepOutcome} from './types.js';
import {handOver, parseOwner, removeLeftoverHelpers} from './volume-owner.js';

/** An agent that mounts the volume read-write and whose uid is known only once its image is on the engine. */
export interface OwnerSource {
  agent: string;
  user: string | null;
  image_ref: string;
}

export interface VolumeAttrs extends Record<string, unknown> {
  name: string;
  labels: Record<string, string>;
  backup: boolean;
  /** "uid:gid" of the volume's root: the one orx hands a volume it creates to, then the one it has; absent: nobody needs it */
  owner?: string;
  /** instead of owner: the agents whose user decides it at apply */
  owner_from?: OwnerSource[];
}

const OWNER_RE = /^\d{1,10}:\d{1,10}$/;
const OWNER_ATTRS = ['owner', 'owner_from'];

export const volumeAction: Action<VolumeAttrs> = {
  kind: 'volume',
  version: '1.0.0',
  safety: {category: 'WRITE', budget: {timeMs: 30_000, network: 'none'}},
  // whether a volume is backed up is orx's own bookkeeping: no Docker change needed
  updatable: new Set(['backup']),
  computed: new Set(['name']),

  validate(input) {
    const a = obj('volume', input);
    const out: VolumeAttrs = {name: str('volume', a, 'name'), labels: strMap('volume', a, 'labels'), backup: bool('volume', a, 'backup')};
    if (a.owner !== undefined) {
      if (typeof a.owner !== 'string' || !OWNER_RE.test(a.owner)) bad('volume', 'owner', 'a numeric "uid:gid"');
      out.owner = a.owner;
    }
    if (a.owner_from !== undefined) {
      if (!Array.isArray(a.owner_from)) bad('volume', 'owner_from', 'a list');
      out.owner_from = a.owner_from.map((x) => {
        const o = obj('volume', x);
        return {agent: str('volume', o, 'agent'), user: str('volume', o, 'user', true), image_ref: str('volume', o, 'image_ref')};
      });
    }
    return out;
  },

  // replacing a volume loses its data: that is a DESTROY, never a quiet WRITE. orx hands only a
  // volume it creates to an owner: one that exists keeps the owner it has (a plan note says
  // when that is not what its agents need)
  plan(desired, base) {
    const step = planByDiff(this, desired && withoutOwner(desired), base && withoutOwner(base), 'DESTROY');
    if (base) step.before = base.attributes;
    if (!step.after || !desired) return step;
    const fresh = step.action === 'create' || step.action === 'replace';
    const owner = pickOwner(fresh ? desired.attributes : base!.attributes);
    step.after = {...step.after, ...owner};
    if (fresh && owner.owner_from) {
      const agents = owner.owner_from.map((f) => f.agent);
      step.reasons.push(
        `owner decided at apply: the uid ${agents.join(', ')} run${agents.length === 1 ? 's' : ''} as (not known before the image is on the engine)`,
      );
    }
    return step;
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
    if (isNotFound(err)) return;
    // in use: perhaps only by an owner helper an interrupted orx left behind
    if (statusCode(err) === 409 && (await removeLeftoverHelpers(ctx.docker, name, ctx.workspace))) return removeByName(name, ctx);
    throw new Error(`cannot remove volume ${name}: ${engineMessage(err)}`, {cause: err});
  }
}

function withoutOwner<T extends DesiredResource | ObservedResource>(r: T): T {
  return {...r, attributes: Object.fromEntries(Object.entries(r.attributes).filter(([k]) => !OWNER_ATTRS.includes(k)))};
}

function pickOwner(a: Attrs): Pick<VolumeAttrs, 'owner' | 'owner_from'> {
  return Object.fromEntries(Object.entries(a).filter(([k, v]) => OWNER_ATTRS.includes(k) && v !== undefined));
}

export async function createVolume(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = volumeAction.validate(step.after);
  let adopted = false;
  try {
    const existing = await ctx.docker.getVolume(after.name).inspect();
    // left by an interrupted apply of this step: handed over below like a new one (the engine
    // copies an owner only onto an empty volume, so data is never re-owned)
    adopted = assertOurs('volume', after.name, existing.Labels, ctx, step.address);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!adopted) {
    await ctx.docker.createVolume({
      Name: after.name,
      Labels: {...after.labels, ...ownLabels(ctx.workspace, step.address, step.idempotency_key)},
    });
  }
  const {owner_from: from, owner: wanted, ...attrs} = after;
  const owner = from ? await ownerAtApply(step.address, from, ctx) : wanted;
  const recorded: Attrs = {...attrs};
  if (owner !== undefined) {
    // a fresh volume is root's already; an adopted one is read to record what it is
    const ids = parseOwner(owner);
    recorded.owner =
      ids.uid === 0 && ids.gid === 0 && !adopted ? owner : (await handOver(ctx.docker, after.name, ids, ctx.workspace)).owner;
    if (recorded.owner !== owner)
      ctx.log.warn(`${step.address}: volume ${after.name} holds data owned by ${String(recorded.owner)}; it was not handed to ${owner}`);
  }
  return {object_id: after.name, attributes: recorded, ...(adopted ? {adopted} : {})};
}

/** The one uid:gid the agents that mount the volume read-write run as, now that their images are on the engine. */
async function ownerAtApply(address: string, from: OwnerSource[], ctx: ApplyContext): Promise<string> {
  const seen: Array<{agent: string; owner: string}> = [];
  for (const f of from) {
    const who = await effectiveUser(f, ctx);
    if (who.uid === null || who.gid === null) {
      throw new OrxError({
        code: 'volume_owner_unknown',
        message: `${address}: orx cannot tell which uid ${f.agent} runs as (user "${who.user}" is not in its image's /etc/passwd), so it cannot hand the volume to it`,
        actions: [`Give ${f.agent} a numeric \`user\` (e.g. "1000:1000"), or set volumes.${address.slice('volume.'.length)}.owner.`],
      });
    }
    seen.push({agent: f.agent, owner: `${who.uid}:${who.gid}`});
  }
  const other = seen.find((s) => s.owner !== seen[0].owner);
  if (other) {
    throw new OrxError({
      code: 'volume_owner_conflict',
      message: `${address}: ${seen[0].agent} runs as ${seen[0].owner} and ${other.agent} as ${other.owner}, and both mount it read-write; only one uid can own it`,
      actions: [
        `Set volumes.${address.slice('volume.'.length)}.owner in orchestration.yml to the uid:gid that should own it, or run them as one user.`,
      ],
    });
  }
  return seen[0].owner;
}
