// manifests.NAME: Kubernetes objects from files, applied server-side with orx as the field
// manager. The plan is per object: created, updated (kubectl diff said so, or the files
// changed) or deleted (gone from the files, found by label or in the ledger).
import {createHash} from 'node:crypto';
import {OrxError} from '../errors.js';
import {canonicalJson} from '../util/canonical-json.js';
import {applyObjects, deleteObjects} from '../drivers/kubectl.js';
import {tool} from '../drivers/tools.js';
import {parseObjectId, type KubeObject} from '../k8s/objects.js';
import {isKubeAttr, kubeContext, type KubeAttr} from '../k8s/target.js';
import {deepEqual, diffAttrs} from './diff.js';
import {KIND_CLUSTER_LABEL} from './cluster.js';
import {bool, obj, str, strList} from './check.js';
import type {Action, ApplyContext, AttrChange, Attrs, PlannedStep, StepOutcome} from './types.js';

export interface ManifestsAttrs extends Attrs {
  kube: KubeAttr;
  files: string[];
  prune: boolean;
  digest: string;
  /** object id (apiVersion/Kind/namespace/name) -> the object as applied */
  objects: Record<string, KubeObject>;
}

/** A live object orx knows only by its identity (changed outside orx, or not from these files). */
export const LIVE_MARK = '$live';

/** `ConfigMap lab/settings`: how plans name an object. */
export function describeObject(id: string): string {
  const ref = parseObjectId(id);
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** Kinds other objects live in or are typed by go first, and last when deleting. */
const FIRST = new Set(['Namespace', 'CustomResourceDefinition']);

export function applyOrder(ids: string[]): string[] {
  return [...ids.filter((id) => FIRST.has(parseObjectId(id).kind)), ...ids.filter((id) => !FIRST.has(parseObjectId(id).kind))];
}

export function objectDigest(o: unknown): string {
  return createHash('sha256').update(canonicalJson(o)).digest('hex').slice(0, 12);
}

/**
 * Attribute changes with the `objects` map said per object (one line each) instead of field by
 * field inside them: for drift, and for Kubernetes agents whose only change is their objects.
 */
export function withObjectChanges(changes: AttrChange[], before: Attrs, after: Attrs): AttrChange[] {
  if (!changes.some((c) => c.path.startsWith('objects.'))) return changes;
  const asObjects = (a: Attrs): Record<string, unknown> => (a.objects ?? {}) as Record<string, unknown>;
  return [...objectChanges(asObjects(before), asObjects(after)), ...changes.filter((c) => !c.path.startsWith('objects.'))];
}

/** Per-object changes: `objects.<id>` with short digests (null = absent), so the plan says create/update/delete per object. */
export function objectChanges(before: Record<string, unknown>, after: Record<string, unknown>): AttrChange[] {
  const out: AttrChange[] = [];
  for (const id of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const b = before[id];
    const a = after[id];
    if (b !== undefined && a !== undefined && deepEqual(b, a)) continue;
    out.push({
      path: `objects.${id}`,
      before: b === undefined ? null : objectDigest(b),
      after: a === undefined ? null : objectDigest(a),
      forces_replacement: false,
    });
  }
  return out;
}

export const manifestsAction: Action<ManifestsAttrs> = {
  kind: 'manifests',
  version: '1.0.0',
  safety: {category: 'DEPLOY', budget: {timeMs: 120_000, network: 'internal'}},
  updatable: new Set(['files', 'prune', 'digest', 'objects']),
  computed: new Set(),

  validate(input) {
    const a = obj('manifests', input);
    if (!isKubeAttr(a.kube))
      throw new OrxError({code: 'plan_invalid', message: 'plan file: manifests attribute "kube" must be a cluster or context'});
    const objects = obj('manifests', a.objects) as Record<string, KubeObject>;
    for (const o of Object.values(objects)) obj('manifests', o);
    return {
      kube: a.kube,
      files: strList('manifests', a, 'files') ?? [],
      prune: bool('manifests', a, 'prune'),
      digest: str('manifests', a, 'digest'),
      objects,
    };
  },

  plan(desired, base) {
    const common = {kind: 'manifests' as const, reasons: [] as string[]};
    if (!desired || !base) {
      const attrs = (desired ?? base)!.attributes;
      const objs = (attrs.objects ?? {}) as Record<string, unknown>;
      const changes = desired ? objectChanges({}, objs) : objectChanges(objs, {});
      return desired
        ? {
            ...common,
            address: desired.address,
            action: 'create',
            category: 'DEPLOY',
            before: null,
            after: desired.attributes,
            changes,
            object_id: null,
          }
        : {
            ...common,
            address: base!.address,
            action: 'delete',
            category: 'DESTROY',
            before: base!.attributes,
            after: null,
            changes,
            object_id: base!.object_id,
          };
    }
    const after = desired.attributes as ManifestsAttrs;
    const before = base.attributes as ManifestsAttrs;
    if (!deepEqual(before.kube, after.kube)) {
      return {
        ...common,
        address: desired.address,
        action: 'replace',
        category: 'DEPLOY',
        before,
        after,
        changes: [{path: 'kube', before: before.kube, after: after.kube, forces_replacement: true}],
        object_id: base.object_id,
      };
    }
    // without prune, objects gone from the files are left on the cluster and no longer tracked
    const untracked = after.prune ? [] : Object.keys(before.objects).filter((id) => !(id in after.objects));
    const kept = Object.fromEntries(Object.entries(before.objects).filter(([id]) => !untracked.includes(id)));
    const objects = objectChanges(kept, after.objects);
    // the file list restates the objects: said only when no object changes (a digest alone, from a comment, is only recorded)
    const others = diffAttrs({...before, objects: null, digest: null}, {...after, objects: null, digest: null}, this.updatable).filter(
      (c) => objects.length === 0 || c.path !== 'files',
    );
    const changes = [...objects, ...others];
    const reasons = untracked.map((id) => `${describeObject(id)} is no longer in the files and stays on the cluster (prune: false)`);
    const action = changes.length > 0 ? 'update' : 'noop';
    return {
      ...common,
      reasons,
      address: desired.address,
      action,
      category: action === 'noop' ? 'READ' : 'DEPLOY',
      before,
      after,
      changes,
      object_id: base.object_id,
    };
  },

  async apply(step, ctx) {
    if (step.action === 'delete') {
      await removeAll(step, ctx);
      return {object_id: null, attributes: null};
    }
    return applyAll(step, ctx);
  },

  async rollback() {
    // applied objects stay: the ledger records what was applied and the next plan converges
  },
};

async function applyAll(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = manifestsAction.validate(step.after);
  const t = kubeContext(ctx.dir, after.kube);
  const kubectl = tool('kubectl');
  const ids = applyOrder(Object.keys(after.objects));
  ctx.progress?.(`kubectl apply --server-side: ${ids.length} object${ids.length === 1 ? '' : 's'} on ${after.kube.context}`);
  await applyObjects(
    kubectl,
    t,
    ids.map((id) => after.objects[id]),
    ctx.signal,
  );
  const before = (step.before?.objects ?? {}) as Record<string, unknown>;
  const gone = after.prune ? Object.keys(before).filter((id) => !(id in after.objects)) : [];
  if (gone.length > 0) await deleteObjects(kubectl, t, applyOrder(gone).reverse().map(parseObjectId), ctx.signal);
  return {object_id: after.kube.context, attributes: after};
}

async function removeAll(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  const before = step.before;
  if (!before || !isKubeAttr(before.kube)) return;
  const ids = Object.keys(before.objects ?? {});
  if (!(await targetExists(before.kube, ctx))) return;
  await deleteObjects(tool('kubectl'), kubeContext(ctx.dir, before.kube), applyOrder(ids).reverse().map(parseObjectId), ctx.signal);
}

/** A workspace cluster that is gone took its objects with it: nothing to delete, nothing to reach. */
export async function targetExists(k: KubeAttr, ctx: ApplyContext): Promise<boolean> {
  if (k.cluster === null) return true;
  const nodes = await ctx.docker.listContainers({
    all: true,
    filters: {label: [`${KIND_CLUSTER_LABEL}=${k.context.slice('kind-'.length)}`]},
  });
  return nodes.length > 0;
}
