// Where Kubernetes objects go (manifests entries, agents with target kubernetes): a kind
// cluster of this workspace, or a context of a kubeconfig. kind names a cluster's context
// kind-CLUSTER, so people write `context: kind-dev` for the workspace's cluster dev; that
// is read as the cluster (whose real kind name is orx-WORKSPACE-dev).
import {resolve} from 'node:path';
import {preview} from '../errors.js';
import {checkRef} from './crossref.js';
import {commandRunningUser} from './kubeconfig-users.js';
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import {str, type Raw} from './raw.js';
import type {AgentSpec, KubeTarget} from './types.js';

export const DEFAULT_NAMESPACE = 'default';

export interface KubeRefs {
  /** absolute workspace directory, which kubeconfig paths are relative to */
  dir: string;
  clusters: ReadonlySet<string>;
}

/** The target named by `raw`'s cluster / context / kubeconfig keys, or undefined after reporting why not. */
export function kubeTarget(raw: Raw, path: ConfigPath, refs: KubeRefs, problems: Problems): KubeTarget | undefined {
  const cluster = str(raw.cluster);
  const context = str(raw.context);
  const kubeconfig = str(raw.kubeconfig);
  if (raw.cluster !== undefined && raw.context !== undefined) {
    problems.add([...path, 'context'], `${formatPath(path)} must have only one of "cluster" or "context" (found both)`, 'key');
    return undefined;
  }
  if (raw.cluster === undefined && raw.context === undefined) {
    problems.add(path, `${formatPath(path)} needs one of "cluster" (a name under clusters) or "context" (a kubeconfig context)`, 'key');
    return undefined;
  }
  if (raw.kubeconfig !== undefined && raw.context === undefined) {
    const at = [...path, 'kubeconfig'];
    problems.add(at, `${formatPath(at)} is only for a "context": a cluster of this workspace has its own kubeconfig`, 'key');
    return undefined;
  }
  if (cluster !== undefined) return checkRef(cluster, refs.clusters, 'clusters', [...path, 'cluster'], problems) ? {cluster} : undefined;
  if (context === undefined) return undefined; // a wrong type: the schema reported it
  // with an explicit kubeconfig, kind-X is a context of that file, not this workspace's cluster
  const kindCluster = /^kind-(.+)$/.exec(context)?.[1];
  if (raw.kubeconfig === undefined && kindCluster !== undefined && refs.clusters.has(kindCluster)) return {cluster: kindCluster};
  if (kubeconfig === undefined) return {context, kubeconfig: null};
  const file = resolve(refs.dir, kubeconfig);
  const refused = commandRunningUser(file, kubeconfig);
  if (refused !== null) {
    problems.add(
      [...path, 'kubeconfig'],
      `${refused}: a kubeconfig named in orchestration.yml may hold only token or certificate users. Put such a context in your own kubeconfig ($KUBECONFIG or ~/.kube/config) and leave kubeconfig: out`,
    );
    return undefined;
  }
  return {context, kubeconfig: file};
}

const KUBE_ONLY = ['cluster', 'context', 'kubeconfig', 'namespace'] as const;

const DOCKER_ONLY: Readonly<Record<string, string>> = {
  networks: 'Docker networks do not apply to target kubernetes (pods use the cluster network); remove it',
  volumes: 'Docker volumes do not apply to target kubernetes; remove it',
  ports: 'target kubernetes publishes no host ports; use a Service in manifests',
};

export interface AgentKubeRefs extends KubeRefs {
  /** images with a `build`: they exist only on this machine's Docker engine */
  builtImages: ReadonlySet<string>;
}

/** An agent's target and, for kubernetes, where it goes; the keys of the other target are refused. */
export function agentPlacement(raw: Raw, path: ConfigPath, refs: AgentKubeRefs, problems: Problems): Pick<AgentSpec, 'target' | 'kube'> {
  // an unknown target was reported by the schema; which keys it allows is anyone's guess
  if (raw.target !== undefined && raw.target !== 'docker' && raw.target !== 'kubernetes') return {target: 'docker', kube: null};
  if (raw.target !== 'kubernetes') {
    for (const k of KUBE_ONLY) {
      if (raw[k] === undefined) continue;
      const at = [...path, k];
      problems.add(at, `${formatPath(at)}: only with target: kubernetes (this agent runs on Docker)`, 'key');
    }
    return {target: 'docker', kube: null};
  }
  for (const [k, why] of Object.entries(DOCKER_ONLY)) {
    if (raw[k] === undefined) continue;
    const at = [...path, k];
    problems.add(at, `${formatPath(at)}: ${why}`, 'key');
  }
  const target = kubeTarget(raw, path, refs, problems);
  const image = str(raw.image);
  // a workspace kind cluster is fine: orx loads built images into its nodes
  if (target?.context !== undefined && image !== undefined && refs.builtImages.has(image)) {
    const at = [...path, 'image'];
    const ctx = JSON.stringify(preview(target.context, 60));
    problems.add(
      at,
      `${formatPath(at)}: image "${image}" is built, and a built image exists only on this machine's Docker engine; for context ${ctx} use an image \`ref\` the cluster can pull`,
    );
  }
  return {target: 'kubernetes', kube: target ? {target, namespace: str(raw.namespace) ?? DEFAULT_NAMESPACE} : null};
}
