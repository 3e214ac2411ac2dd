// An agent with `target: kubernetes`: a ServiceAccount and a Deployment rendered with the
// Docker agents' hardening, and a Secret (made at apply, never planned) with its secret files
// and identity token, mounted read-only at /run/secrets.
import {createHash} from 'node:crypto';
import {canonicalJson} from '../../util/canonical-json.js';
import {loadKindImage} from '../../drivers/kind.js';
import {applyObjects, deleteObjects, rolloutStatus} from '../../drivers/kubectl.js';
import {tool} from '../../drivers/tools.js';
import {objectId, parseObjectId, type KubeObject} from '../../k8s/objects.js';
import {renderAgentObjects, renderAgentSecret, type KubeAgentInput} from '../../k8s/render-agent.js';
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
  egress: boolean;
  /** what policy messages name as the agent's networks */
  networks: string[];
  cpus: number;
  memory_bytes: number;
  hardening: Record<string, unknown>;
  /** ServiceAccount and Deployment by object id, as applied */
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

export function renderedObjects(spec: Omit<KubeAgentInput, 'secrets_revision'>, revision: string | null): Record<string, KubeObject> {
  const r = renderAgentObjects({...spec, secrets_revision: revision});
  const objs = [r.serviceAccount, r.deployment] as KubeObject[];
  return Object.fromEntries(objs.map((o) => [objectId(o), o]));
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
  const secret = renderAgentSecret(after.spec, files);
  const ordered = Object.values(objects).sort((a) => (a.kind === 'ServiceAccount' ? -1 : 1));
  await applyObjects(kubectl, t, [ordered[0], secret as KubeObject, ...ordered.slice(1)], ctx.signal);
  ctx.progress?.(`kubectl rollout status deployment/${after.name}`);
  await rolloutStatus(kubectl, t, after.namespace, after.name, after.rollout_timeout_ms, ctx.signal);
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

/** `orx halt`: no pod left running, no secret left in the cluster; nothing else is deleted. */
export async function stopKubeAgent(dir: string, a: KubeAgentAttrs): Promise<void> {
  const kubectl = tool('kubectl');
  const t = kubeContext(dir, a.kube);
  const deployment = Object.values(a.objects).find((o) => o.kind === 'Deployment');
  if (deployment) await applyObjects(kubectl, t, [{...deployment, spec: {...(deployment.spec as object), replicas: 0}}]);
  await deleteObjects(kubectl, t, [secretRef(a)]);
}
