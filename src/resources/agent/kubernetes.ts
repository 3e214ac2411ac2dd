// An agent with `target: kubernetes`: a ServiceAccount and a Deployment rendered with the
// Docker agents' hardening, a NetworkPolicy isolating its pods, its own egress gateway when it
// has egress (src/k8s/render-network.ts), and a Secret (made at apply, never planned) with its
// secret files and identity token, mounted read-only at /run/secrets.
import {createHash} from 'node:crypto';
import {canonicalJson} from '../../util/canonical-json.js';
import {loadKindImage} from '../../drivers/kind.js';
import {applyObjects, deleteObjects, rolloutStatus} from '../../drivers/kubectl.js';
import {tool} from '../../drivers/tools.js';
import {objectId, parseObjectId, type KubeObject} from '../../k8s/objects.js';
import {gatewayName, renderAgentObjects, renderAgentSecret, type KubeAgentInput} from '../../k8s/render-agent.js';
import {renderAgentNetworkPolicy, renderGatewayObjects} from '../../k8s/render-network.js';
import {CONFIG_DIR_IN_CONTAINER, CONFIG_FILE, GUARDED} from '../../egress/squid-config.js';
import {renderKubeSquidConfig} from '../../egress/squid-kube.js';
import {isKubeAttr, kubeContext, type KubeAttr} from '../../k8s/target.js';
import {OrxError} from '../../errors.js';
import {targetExists, withObjectChanges} from '../manifests.js';
import {obj} from '../check.js';
import {planByDiff} from '../plan-helper.js';
import type {AgentTarget, ApplyContext, Attrs, DesiredResource, ObservedResource, PlannedStep, StepOutcome} from '../types.js';

export interface KubeAgentAttrs extends Attrs {
  target: 'kubernetes';
  name: string;
  kube: KubeAttr;
  namespace: string;
  image: string;
  image_ref: string;
  /** a built image goes into the kind cluster's nodes (`kind load docker-image`) before the rollout */
  load_image: boolean;
  /** what the objects were rendered from (KubeAgentInput without the revision) */
  spec: Omit<KubeAgentInput, 'secrets_revision'>;
  /** the keyed fingerprints the pod template's revision annotation was made from */
  secrets_revision: string | null;
  secrets: Record<string, string>;
  token: {ttl_ms: number; scopes: string[]; audience: string};
  rollout_timeout_ms: number;
  /** what policy reads of every agent, as for Docker agents */
  user: string | null;
  image_user: string | null;
  allow_root: {reason: string} | null;
  /**
   * A route out that no allowlist governs: false, as for a Docker agent on internal networks.
   * Its NetworkPolicy lets the pods reach only DNS, their own gateway and their talks_to peers;
   * that holds where the cluster's network plugin enforces NetworkPolicy, which orx cannot see.
   */
  egress: boolean;
  /** its allowlist as plans and policy show it ("any" for egress: any), as on Docker agents; absent without egress */
  egress_allow?: string[];
  /** the agents its pods may connect to directly; absent when none */
  talks_to?: string[];
  /** what policy messages name as the agent's networks */
  networks: string[];
  cpus: number;
  memory_bytes: number;
  hardening: Record<string, unknown>;
  /** ServiceAccount, Deployment, NetworkPolicy and the gateway's objects by object id, as applied */
  objects: Record<string, KubeObject>;
}

/** A rollout pulls and starts pods: more time than a container start (budgets.agent overrides). */
export const KUBE_AGENT_BUDGET_MS = 300_000;

export function isKubeAgent(a: Attrs | null | undefined): boolean {
  return a?.target === 'kubernetes';
}

/** The revision annotation's value: changes when a secret's value does (never derived from a value itself). */
export function secretsRevision(fingerprints: Record<string, string> | null | undefined): string | null {
  if (!fingerprints || Object.keys(fingerprints).length === 0) return null;
  return createHash('sha256').update(canonicalJson(fingerprints)).digest('hex').slice(0, 16);
}

/** The squid command of the Docker gateway (src/egress/gateway-docker.ts): the same image runs on both. */
const SQUID_COMMAND = ['/usr/sbin/squid', '-N', '-f', `${CONFIG_DIR_IN_CONTAINER}/${CONFIG_FILE}`];

export function renderedObjects(spec: Omit<KubeAgentInput, 'secrets_revision'>, revision: string | null): Record<string, KubeObject> {
  const input = {...spec, secrets_revision: revision};
  const r = renderAgentObjects(input);
  const g = spec.network.gateway;
  const gateway = g
    ? renderGatewayObjects(input, {
        config: renderKubeSquidConfig({workspace: spec.workspace, address: spec.address, any: g.any, allow: g.allow}),
        configDir: CONFIG_DIR_IN_CONTAINER,
        configFile: CONFIG_FILE,
        command: SQUID_COMMAND,
        guarded: GUARDED,
      })
    : [];
  const objs = [r.serviceAccount, r.deployment, renderAgentNetworkPolicy(input), ...gateway] as KubeObject[];
  return Object.fromEntries(objs.map((o) => [objectId(o), o]));
}

/**
 * What kubectl gets, in order: identities and configuration first, the NetworkPolicies before
 * any pod they govern, the gateway's Deployment before the agent's.
 */
const APPLY_ORDER = ['ServiceAccount', 'Secret', 'ConfigMap', 'Service', 'NetworkPolicy', 'Deployment'];

function applyOrder(objects: KubeObject[], agentName: string): KubeObject[] {
  const rank = (o: KubeObject) => APPLY_ORDER.indexOf(o.kind) * 2 + (o.metadata.name === agentName ? 1 : 0);
  return [...objects].sort((x, y) => rank(x) - rank(y));
}

// the cluster, context and namespace are where the objects are: moving them is a new agent
const FORCING = new Set(['target', 'name', 'kube', 'namespace']);

export function validateKubeAgent(a: Attrs): KubeAgentAttrs {
  if (
    !isKubeAttr(a.kube) ||
    typeof a.name !== 'string' ||
    typeof a.namespace !== 'string' ||
    typeof a.spec !== 'object' ||
    a.spec === null ||
    typeof a.objects !== 'object' ||
    a.objects === null
  ) {
    throw new OrxError({
      code: 'plan_invalid',
      message: 'plan file: a kubernetes agent needs kube, name, namespace, spec and objects',
      actions: ['Make a new plan with `orx plan -out FILE`.'],
    });
  }
  return a as KubeAgentAttrs;
}

export function planKubeAgent(desired: DesiredResource | null, base: ObservedResource | null) {
  const updatable = new Set(Object.keys({...desired?.attributes, ...base?.attributes}).filter((k) => !FORCING.has(k)));
  const planned = planByDiff(
    {
      kind: 'agent',
      safety: {category: 'DEPLOY', budget: {timeMs: KUBE_AGENT_BUDGET_MS, network: 'internal'}},
      updatable,
      computed: new Set(['name']),
    },
    desired,
    base,
    'DEPLOY',
    new Set(['objects', 'secrets_revision']),
  );
  // the rendered objects restate the spec: shown (one line per object) only when nothing else explains the change
  const onlyObjects =
    planned.changes.length > 0 && planned.changes.every((c) => c.path.startsWith('objects.') || c.path === 'secrets_revision');
  if (!desired || !base || !onlyObjects) return planned;
  return {
    ...planned,
    changes: withObjectChanges(
      planned.changes.filter((c) => c.path !== 'secrets_revision'),
      base.attributes,
      desired.attributes,
    ),
  };
}

function secretRef(a: KubeAgentAttrs) {
  return {apiVersion: 'v1', kind: 'Secret', namespace: a.namespace, name: a.name};
}

export async function applyKubeAgent(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  if (step.action === 'delete') {
    await removeKubeAgent(step, ctx);
    return {object_id: null, attributes: null};
  }
  const after = validateKubeAgent(step.after!);
  const kubectl = tool('kubectl');
  const t = kubeContext(ctx.dir, after.kube);
  if (after.load_image && after.kube.cluster !== null) {
    ctx.progress?.(`kind load docker-image ${after.image_ref}`);
    await loadKindImage(tool('kind'), after.kube.context.slice('kind-'.length), after.image_ref, ctx.signal);
  }
  const {files, fingerprints} = await ctx.secrets.issue(step.address, after);
  const revision = secretsRevision(fingerprints);
  const objects = renderedObjects(after.spec, revision);
  const secret = renderAgentSecret(after.spec, files) as KubeObject;
  await applyObjects(kubectl, t, applyOrder([...Object.values(objects), secret], after.name), ctx.signal);
  // what an earlier apply made and this one no longer renders (a gateway after `egress: none`)
  const before = step.before && isKubeAgent(step.before) ? validateKubeAgent(step.before) : null;
  const gone = Object.keys(before?.objects ?? {})
    .filter((id) => !(id in objects))
    .map(parseObjectId);
  await deleteObjects(kubectl, t, gone, ctx.signal);
  const deadline = Date.now() + after.rollout_timeout_ms;
  // the gateway first: an agent that starts before it has nowhere to send its requests
  const deployments = Object.values(objects).filter((o) => o.kind === 'Deployment');
  for (const d of applyOrder(deployments, after.name)) {
    ctx.progress?.(`kubectl rollout status deployment/${d.metadata.name}`);
    await rolloutStatus(kubectl, t, after.namespace, d.metadata.name, Math.max(5_000, deadline - Date.now()), ctx.signal);
  }
  return {
    object_id: `${after.namespace}/${after.name}`,
    attributes: {...after, secrets_revision: revision, objects},
    secret_fingerprints: fingerprints,
  };
}

async function removeKubeAgent(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  const before = step.before ? validateKubeAgent(step.before) : null;
  if (!before) return;
  if (await targetExists(before.kube, ctx)) {
    const refs = [...Object.keys(before.objects).map(parseObjectId), secretRef(before)].reverse();
    await deleteObjects(tool('kubectl'), kubeContext(ctx.dir, before.kube), refs, ctx.signal);
  }
  ctx.secrets.remove(step.address, before.name, step.action === 'replace' ? 'agent replaced' : 'agent deleted');
}

export async function rollbackKubeAgent(outcome: StepOutcome, ctx: ApplyContext): Promise<void> {
  if (!outcome.attributes) return;
  await removeKubeAgent({address: '', before: outcome.attributes, action: 'delete'} as PlannedStep, ctx);
}

export const kubeAgent: AgentTarget<KubeAgentAttrs> = {
  // a replace in the cluster is a rollout of the Deployment; from or to a container, a delete then a create
  ownsReplace: () => false,
  validate: (input) => validateKubeAgent(obj('agent', input)),
  plan: planKubeAgent,
  apply: applyKubeAgent,
  rollback: rollbackKubeAgent,
};

/** `orx halt`: no pod left running (the gateway's first), no secret left in the cluster; nothing else is deleted. */
export async function stopKubeAgent(dir: string, a: KubeAgentAttrs): Promise<void> {
  const kubectl = tool('kubectl');
  const t = kubeContext(dir, a.kube);
  const deployments = Object.values(a.objects)
    .filter((o) => o.kind === 'Deployment')
    .sort((x, y) => Number(y.metadata.name === gatewayName(a.name)) - Number(x.metadata.name === gatewayName(a.name)));
  for (const d of deployments) await applyObjects(kubectl, t, [{...d, spec: {...(d.spec as object), replicas: 0}}]);
  await deleteObjects(kubectl, t, [secretRef(a)]);
}
