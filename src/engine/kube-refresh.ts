// What is live on each Kubernetes target the workspace uses: one `kubectl get` by the
// workspace label and one `kubectl diff --server-side` of the desired objects that exist,
// per API server. A target that is a workspace cluster not (yet) on the engine has nothing.
import fs from 'node:fs';
import {OrxError} from '../errors.js';
import {kindKubeconfig} from '../drivers/kind.js';
import {clusterKubeconfig, saveClusterKubeconfig} from '../k8s/kubeconfig.js';
import {diffObjects, listLabelled} from '../drivers/kubectl.js';
import {tool} from '../drivers/tools.js';
import type {ResourceRecord} from '../ledger/types.js';
import {diffName, kubectlType, objectId, parseObjectId, type KubeObject} from '../k8s/objects.js';
import {contextKey, isKubeAttr, kubeContext, type KubeAttr} from '../k8s/target.js';
import {deepEqual} from '../resources/diff.js';
import {LABEL} from '../util/labels.js';
import {LIVE_MARK, objectDigest} from '../resources/manifests.js';
import type {Attrs, DesiredResource, ObservedResource, ResourceKind} from '../resources/types.js';

export interface KubeRefreshInput {
  dir: string;
  workspace: string;
  desired: Map<string, DesiredResource>;
  recorded: Map<string, ResourceRecord>;
  /** the Docker observation, clusters included; Kubernetes observations are added to it */
  observed: Map<string, ObservedResource>;
}

interface Member {
  address: string;
  kind: ResourceKind;
  desired: Attrs | null;
  recorded: ResourceRecord | null;
}

function isKube(kind: string, a: Attrs | undefined): boolean {
  return kind === 'manifests' || (kind === 'agent' && a?.target === 'kubernetes');
}

export function hasKubeResources(desired: Iterable<DesiredResource>, recorded: Iterable<ResourceRecord>): boolean {
  for (const d of desired) if (isKube(d.kind, d.attributes)) return true;
  for (const r of recorded) if (isKube(r.kind, r.attributes)) return true;
  return false;
}

export async function observeKubernetes(input: KubeRefreshInput): Promise<void> {
  const groups = new Map<string, {kube: KubeAttr; members: Member[]}>();
  const addresses = new Set([...input.desired.keys(), ...input.recorded.keys()]);
  for (const address of addresses) {
    const d = input.desired.get(address) ?? null;
    const r = input.recorded.get(address) ?? null;
    const kind = (d?.kind ?? r?.kind) as ResourceKind;
    if (!isKube(kind, d?.attributes ?? r?.attributes)) continue;
    // objects are where the ledger says they were put; a new target is planned as a replace
    const kube = (r && isKubeAttr(r.attributes.kube) ? r.attributes.kube : d?.attributes.kube) as KubeAttr;
    if (!isKubeAttr(kube)) continue;
    const g = groups.get(contextKey(kube)) ?? groups.set(contextKey(kube), {kube, members: []}).get(contextKey(kube))!;
    g.members.push({address, kind, desired: d?.attributes ?? null, recorded: r});
  }
  const kubectl = tool('kubectl');
  await Promise.all(
    [...groups.values()].map(async ({kube, members}) => {
      // a cluster not there, or not yet recorded (to be created or adopted), has none of our objects
      if (kube.cluster !== null && (!input.observed.has(`cluster.${kube.cluster}`) || !input.recorded.has(`cluster.${kube.cluster}`)))
        return;
      if (kube.cluster !== null) await restoreKubeconfig(input, kube.cluster);
      const t = kubeContext(input.dir, kube);
      const objectsOf = (a: Attrs | null | undefined): Record<string, KubeObject> => (a?.objects ?? {}) as Record<string, KubeObject>;
      const types = new Set<string>();
      for (const m of members)
        for (const id of [...Object.keys(objectsOf(m.desired)), ...Object.keys(objectsOf(m.recorded?.attributes))]) {
          const ref = parseObjectId(id);
          types.add(kubectlType(ref.apiVersion, ref.kind));
        }
      let live: KubeObject[];
      try {
        live = await listLabelled(kubectl, t, [...types], `${LABEL.workspace}=${input.workspace}`);
      } catch (err) {
        if (!(err instanceof OrxError) || err.code !== 'kubectl_failed') throw err;
        throw new OrxError({
          code: 'cluster_unreachable',
          kind: 'external',
          message: `cannot refresh ${members.map((m) => m.address).join(', ')} on context ${kube.context}: ${err.message}`,
          actions: [
            kube.cluster !== null
              ? `Check the cluster's nodes (docker ps --filter label=io.x-k8s.kind.cluster), or plan from the ledger's record with \`orx plan --refresh=false\`.`
              : "Check the context and that its API server answers, or plan from the ledger's record with `orx plan --refresh=false`.",
          ],
        });
      }
      const liveBy = new Map<string, Map<string, KubeObject>>();
      for (const o of live) {
        const a = o.metadata.labels?.[LABEL.address];
        if (!a) continue;
        (liveBy.get(a) ?? liveBy.set(a, new Map()).get(a)!).set(objectId(o), o);
      }
      const toDiff: KubeObject[] = [];
      for (const m of members)
        for (const [id, o] of Object.entries(objectsOf(m.desired))) if (liveBy.get(m.address)?.has(id)) toDiff.push(o);
      const {changed} = await diffObjects(kubectl, t, toDiff);

      for (const m of members) {
        const liveObjs = liveBy.get(m.address) ?? new Map<string, KubeObject>();
        const want = objectsOf(m.desired);
        const rec = objectsOf(m.recorded?.attributes);
        // labelled objects neither wanted nor recorded are orx's to delete only where it prunes
        const prunes = m.kind === 'manifests' && (m.desired ?? m.recorded?.attributes)?.prune !== false;
        const tracked = (id: string): boolean => id in want || id in rec || prunes;
        const ids = [...liveObjs.keys()].filter(tracked);
        if (ids.length === 0 && !m.recorded) continue;
        const objects: Record<string, unknown> = {};
        for (const id of ids) {
          const same = id in want && !changed.has(diffName(parseObjectId(id)));
          // a file edit since the last apply explains a difference; anything else changed outside orx
          objects[id] = same
            ? want[id]
            : id in rec && !deepEqual(rec[id], want[id])
              ? rec[id]
              : {[LIVE_MARK]: objectDigest(liveObjs.get(id))};
        }
        const allSame = m.desired !== null && ids.length === Object.keys(want).length && ids.every((id) => objects[id] === want[id]);
        const attributes = allSame ? m.desired! : {...(m.recorded?.attributes ?? m.desired ?? {}), objects};
        const objectIdOf = m.kind === 'manifests' ? kube.context : `${String(attributes.namespace)}/${String(attributes.name)}`;
        input.observed.set(m.address, {address: m.address, kind: m.kind, object_id: m.recorded?.object_id ?? objectIdOf, attributes});
      }
    }),
  );
}

/** The workspace kubeconfig is kind's to give: rewritten from `kind get kubeconfig` when someone removed it. */
async function restoreKubeconfig(input: KubeRefreshInput, cluster: string): Promise<void> {
  if (fs.existsSync(clusterKubeconfig(input.dir, cluster))) return;
  const name = input.observed.get(`cluster.${cluster}`)!.object_id;
  saveClusterKubeconfig(input.dir, cluster, await kindKubeconfig(tool('kind'), name));
}
