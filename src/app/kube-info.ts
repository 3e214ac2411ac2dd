// What `orx kubeconfig` and `orx render agent` show: read-only, nothing reaches a cluster.
import fs from 'node:fs';
import {stringify} from 'yaml';
import {loadConfig} from '../config/load.js';
import type {LoadedConfig} from '../config/types.js';
import type {OrxContext} from '../engine/context.js';
import {suggestion} from '../config/suggest.js';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import {clusterKubeconfig, workspaceKubeconfig} from '../k8s/kubeconfig.js';
import {objectName} from '../util/labels.js';
import {buildDesired} from '../engine/desired.js';
import {withLedger} from '../ledger/session.js';

export interface KubeconfigInfo {
  path: string;
  cluster: string | null;
  context: string | null;
  exists: boolean;
}

/** NAME: that cluster's own kubeconfig (its context current); no NAME: the workspace's, every cluster in it. */
export function kubeconfigInfo(loaded: LoadedConfig, name?: string): KubeconfigInfo {
  if (name === undefined) {
    const path = workspaceKubeconfig(loaded.dir);
    return {path, cluster: null, context: null, exists: fs.existsSync(path)};
  }
  if (!(name in loaded.config.clusters)) {
    throw new OrxError({
      code: 'not_in_config',
      message: `no cluster "${name}" in orchestration.yml${suggestion(name, Object.keys(loaded.config.clusters))}`,
      actions: ['See `clusters:` in orchestration.yml.'],
    });
  }
  const path = clusterKubeconfig(loaded.dir, name);
  if (!fs.existsSync(path)) {
    throw new OrxError({
      code: 'not_created',
      message: `cluster ${name} has no kubeconfig yet: it has not been created`,
      actions: ['Create it with `orx apply` (the plan shows cluster.' + name + ').'],
    });
  }
  return {path, cluster: name, context: `kind-${objectName(loaded.config.workspace, name)}`, exists: true};
}

export interface RenderedAgentView {
  address: string;
  context: string;
  namespace: string;
  objects: Record<string, unknown>[];
  yaml: string;
}

/** The objects orx applies for a Kubernetes agent: ServiceAccount, Deployment, NetworkPolicy, and its egress gateway's when it has egress (its Secret is made at apply). */
export function renderAgentView(loaded: LoadedConfig, ledger: Ledger, name: string): RenderedAgentView {
  const spec = loaded.config.agents[name];
  if (!spec)
    throw new OrxError({
      code: 'not_in_config',
      message: `no agent "${name}" in orchestration.yml${suggestion(name, Object.keys(loaded.config.agents))}`,
    });
  if (spec.target !== 'kubernetes') {
    throw new OrxError({
      code: 'not_kubernetes',
      message: `agent.${name} runs on the Docker engine (target: docker); only Kubernetes agents are rendered`,
      actions: [`Set \`target: kubernetes\` and a cluster or context on agents.${name}, or see its container with \`orx plan\`.`],
    });
  }
  const recorded = new Map(ledger.listResources().map((r) => [r.address, r]));
  const address = `agent.${name}`;
  const desired = buildDesired({loaded, recorded}).resources.find((r) => r.address === address)!;
  const objects = Object.values(desired.attributes.objects as Record<string, Record<string, unknown>>);
  const kube = desired.attributes.kube as {context: string};
  return {
    address,
    context: kube.context,
    namespace: String(desired.attributes.namespace),
    objects,
    yaml: objects.map((o) => `---\n${stringify(o)}`).join(''),
  };
}

/** `orx kubeconfig [CLUSTER]`: where the workspace's kubeconfig (or a cluster's) is. */
export function kubeconfigFor(ctx: OrxContext, name?: string): KubeconfigInfo {
  return kubeconfigInfo(loadConfig(ctx.dir, {vars: ctx.vars}), name);
}

/** `orx render agent NAME`: the Kubernetes objects orx would apply for an agent. */
export function renderAgent(ctx: OrxContext, name: string): Promise<RenderedAgentView> {
  const loaded = loadConfig(ctx.dir, {vars: ctx.vars});
  return withLedger(ctx.dir, (ledger) => renderAgentView(loaded, ledger, name));
}
