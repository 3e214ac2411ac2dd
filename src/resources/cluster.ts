// cluster.NAME: a kind cluster. kind cannot label its node containers, so orx marks its
// clusters with a read-only file mounted into every node (OWNER_MOUNT): Docker's container
// list shows the mount, and the file says which workspace and address made the cluster.
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {stringify} from 'yaml';
import type Dockerode from 'dockerode';
import {OrxError} from '../errors.js';
import {excerpt} from '../util/redact.js';
import {writePrivateFile} from '../util/private-file.js';
import {canonicalJson} from '../util/canonical-json.js';
import {createKindCluster, deleteKindCluster, exportKindKubeconfig, kindClusters, kindKubeconfig} from '../drivers/kind.js';
import {forgetContext} from '../drivers/kubectl.js';
import {tool} from '../drivers/tools.js';
import {readBoundedText} from '../util/bounded-file.js';
import {removeClusterKubeconfig, saveClusterKubeconfig} from '../k8s/kubeconfig.js';
import {bool, num, obj, str, strList} from './check.js';
import {planByDiff} from './plan-helper.js';
import {diffDeep} from './diff.js';
import type {Action, ApplyContext, Attrs, PlannedStep, StepOutcome} from './types.js';

export const KIND_CLUSTER_LABEL = 'io.x-k8s.kind.cluster';
export const KIND_ROLE_LABEL = 'io.x-k8s.kind.role';
export const OWNER_MOUNT = '/etc/orchestrix/owner';

export interface ClusterAttrs extends Attrs {
  /** the kind cluster's name, orx-<workspace>-<NAME> */
  name: string;
  node_image: string;
  config: Record<string, unknown>;
  /** node roles in the order kind names them (control planes first): what Docker can show */
  nodes: string[];
  wait_ms: number;
  export_kubeconfig: boolean;
  /** the kubeconfig context kind gives it */
  context: string;
  config_hash: string;
}

export interface OwnerRecord {
  workspace: string;
  address: string;
  step: string;
  config_hash: string;
}

const UPDATABLE = new Set(['wait_ms', 'export_kubeconfig']);

/** Node roles as kind orders its node containers: control planes, then workers. */
export function nodeRoles(config: Record<string, unknown>): string[] {
  const nodes = Array.isArray(config.nodes) ? (config.nodes as Array<{role?: string}>) : [{role: 'control-plane'}];
  const roles = nodes.map((n) => n.role ?? 'control-plane');
  return [...roles.filter((r) => r === 'control-plane'), ...roles.filter((r) => r !== 'control-plane')];
}

export function clusterConfigHash(nodeImage: string, config: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson({node_image: nodeImage, config}))
    .digest('hex')
    .slice(0, 24);
}

function kindDir(dir: string): string {
  return path.join(dir, '.orx', 'kind');
}

export function ownerFile(dir: string, name: string): string {
  return path.join(kindDir(dir), `${name}.owner`);
}

/** Who made a kind cluster, from the owner mount of its node containers (null: not orx, or unreadable). */
export function clusterOwner(nodes: Dockerode.ContainerInfo[]): OwnerRecord | null {
  for (const n of nodes) {
    const m = (n.Mounts ?? []).find((x) => x.Destination === OWNER_MOUNT);
    if (!m) continue;
    try {
      // the mount source is whatever the container says: read it only if it is a small regular file
      const rec = JSON.parse(readBoundedText(m.Source, 64 * 1024)) as OwnerRecord;
      if (typeof rec.workspace === 'string' && typeof rec.address === 'string') return rec;
    } catch {
      // the workspace moved or the file was removed: the ledger's record still binds it
    }
  }
  return null;
}

/** The config kind is given: the owner file mounted read-only into every node. */
export function kindConfigFor(dir: string, attrs: ClusterAttrs): Record<string, unknown> {
  const nodes = Array.isArray(attrs.config.nodes) ? (attrs.config.nodes as Array<Record<string, unknown>>) : [{role: 'control-plane'}];
  const mount = {hostPath: ownerFile(dir, attrs.name), containerPath: OWNER_MOUNT, readOnly: true};
  return {...attrs.config, nodes: nodes.map((n) => ({...n, extraMounts: [...((n.extraMounts as unknown[] | undefined) ?? []), mount]}))};
}

export const clusterAction: Action<ClusterAttrs> = {
  kind: 'cluster',
  version: '1.0.0',
  safety: {category: 'DEPLOY', budget: {timeMs: 600_000, network: 'internet'}},
  updatable: UPDATABLE,
  computed: new Set(['name', 'context']),

  validate(input) {
    const a = obj('cluster', input);
    return {
      name: str('cluster', a, 'name'),
      node_image: str('cluster', a, 'node_image'),
      config: obj('cluster', a.config),
      nodes: strList('cluster', a, 'nodes') ?? [],
      wait_ms: num('cluster', a, 'wait_ms'),
      export_kubeconfig: bool('cluster', a, 'export_kubeconfig'),
      context: str('cluster', a, 'context'),
      config_hash: str('cluster', a, 'config_hash'),
    };
  },

  plan(desired, base) {
    const planned = planByDiff(this, desired, base, 'DEPLOY', new Set(['config_hash', 'nodes']));
    if (!desired || !base || !planned.changes.some((c) => c.path === 'config' || c.path.startsWith('config.'))) return planned;
    // kind changes nothing in place: name the very field of the config that forces the new cluster
    const fine = diffDeep(base.attributes.config, desired.attributes.config, 'config', true);
    return {...planned, changes: [...fine, ...planned.changes.filter((c) => c.path !== 'config' && !c.path.startsWith('config.'))]};
  },

  async apply(step, ctx) {
    if (step.action === 'delete') {
      await removeCluster(step, ctx);
      return {object_id: null, attributes: null};
    }
    if (step.action === 'update') return updateCluster(step, ctx);
    return createCluster(step, ctx);
  },

  async rollback(outcome, ctx) {
    if (!outcome.attributes) return;
    const after = clusterAction.validate(outcome.attributes);
    await deleteKindCluster(tool('kind'), after.name, scratchKubeconfig(ctx.dir, after.name));
    cleanupFiles(ctx, after.name);
  },
};

function scratchKubeconfig(dir: string, name: string): string {
  return path.join(kindDir(dir), `${name}.kind-kubeconfig`);
}

function cleanupFiles(ctx: ApplyContext, name: string): void {
  for (const f of [ownerFile(ctx.dir, name), path.join(kindDir(ctx.dir), `${name}.yaml`), scratchKubeconfig(ctx.dir, name)])
    fs.rmSync(f, {force: true});
  removeClusterKubeconfig(ctx.dir, clusterKey(ctx, name));
}

/** The workspace's name for the cluster (dev), from its kind name (orx-<workspace>-dev). */
function clusterKey(ctx: ApplyContext, name: string): string {
  const prefix = `orx-${ctx.workspace}-`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

async function nodesOf(ctx: ApplyContext, name: string): Promise<Dockerode.ContainerInfo[]> {
  return ctx.docker.listContainers({all: true, filters: {label: [`${KIND_CLUSTER_LABEL}=${name}`]}});
}

async function createCluster(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = clusterAction.validate(step.after);
  const kind = tool('kind');
  const key = clusterKey(ctx, after.name);
  if ((await kindClusters(kind, ctx.signal)).includes(after.name)) {
    const owner = clusterOwner(await nodesOf(ctx, after.name));
    if (!owner || owner.workspace !== ctx.workspace || owner.address !== step.address) {
      throw new OrxError({
        code: 'name_conflict',
        message: `a kind cluster named "${after.name}" already exists and orx did not create it (its nodes carry no orchestrix owner mark for this workspace)`,
        actions: [
          `orx never deletes a cluster it did not make: remove it yourself with \`kind delete cluster --name ${after.name}\`, or rename the cluster in orchestration.yml.`,
        ],
      });
    }
    // ours, left by an interrupted apply: adopted when kind can still report it, else made anew
    try {
      saveClusterKubeconfig(ctx.dir, key, await kindKubeconfig(kind, after.name, ctx.signal));
      if (after.export_kubeconfig) await exportKindKubeconfig(kind, after.name, ctx.signal);
      ctx.log.info(`${step.address}: adopted kind cluster ${after.name} left by an interrupted apply`);
      return {object_id: after.name, attributes: after, adopted: true};
    } catch (err) {
      ctx.log.warn(
        `${step.address}: kind cluster ${after.name} was left half-made (${excerpt((err as Error).message, {max: 300, lines: 1})}); creating it again`,
      );
      await deleteKindCluster(kind, after.name, scratchKubeconfig(ctx.dir, after.name), ctx.signal);
    }
  }
  const owner: OwnerRecord = {workspace: ctx.workspace, address: step.address, step: step.idempotency_key, config_hash: after.config_hash};
  writePrivateFile(ownerFile(ctx.dir, after.name), `${JSON.stringify(owner)}\n`);
  const configFile = path.join(kindDir(ctx.dir), `${after.name}.yaml`);
  writePrivateFile(configFile, stringify(kindConfigFor(ctx.dir, after)));
  ctx.progress?.(`kind create cluster ${after.name} (waits up to ${Math.round(after.wait_ms / 1000)}s for the control plane)`);
  try {
    await createKindCluster(
      kind,
      {name: after.name, configFile, image: after.node_image, waitMs: after.wait_ms, kubeconfig: scratchKubeconfig(ctx.dir, after.name)},
      ctx.signal,
    );
    saveClusterKubeconfig(ctx.dir, key, await kindKubeconfig(kind, after.name, ctx.signal));
    if (after.export_kubeconfig) await exportKindKubeconfig(kind, after.name, ctx.signal);
  } finally {
    fs.rmSync(scratchKubeconfig(ctx.dir, after.name), {force: true});
  }
  return {object_id: after.name, attributes: after};
}

async function updateCluster(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = clusterAction.validate(step.after);
  const before = step.before ? clusterAction.validate(step.before) : null;
  if (after.export_kubeconfig && !before?.export_kubeconfig) await exportKindKubeconfig(tool('kind'), after.name, ctx.signal);
  if (!after.export_kubeconfig && before?.export_kubeconfig) await forgetContext(tool('kubectl'), after.context);
  return {object_id: step.object_id ?? after.name, attributes: after};
}

async function removeCluster(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  const before = step.before ? clusterAction.validate({...step.before}) : null;
  const name = before?.name ?? step.object_id;
  if (!name) return;
  const owner = clusterOwner(await nodesOf(ctx, name));
  if (owner && owner.workspace !== ctx.workspace) {
    throw new OrxError({code: 'name_conflict', message: `kind cluster ${name} belongs to workspace ${owner.workspace}; not deleted`});
  }
  // an exported context is cleaned from the user's kubeconfig by kind itself
  await deleteKindCluster(tool('kind'), name, before?.export_kubeconfig ? null : scratchKubeconfig(ctx.dir, name), ctx.signal);
  cleanupFiles(ctx, name);
}
