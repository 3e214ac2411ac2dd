// Where a manifests entry or a Kubernetes agent goes, as recorded in its attributes: portable
// (the workspace's own kubeconfig is found from the workspace directory at apply time).
import type {KubeTarget} from '../config/types.js';
import type {KubeContext} from '../drivers/kubectl.js';
import {objectName} from '../util/labels.js';
import {workspaceKubeconfig} from './kubeconfig.js';

export interface KubeAttr {
  /** a cluster of this workspace (its kubeconfig is .orx/kubeconfig), or null */
  cluster: string | null;
  context: string;
  /** an explicit kubeconfig for a context; null: the workspace's (cluster) or kubectl's default */
  kubeconfig: string | null;
}

export function kubeAttr(workspace: string, target: KubeTarget): KubeAttr {
  if (target.cluster !== undefined)
    return {cluster: target.cluster, context: `kind-${objectName(workspace, target.cluster)}`, kubeconfig: null};
  return {cluster: null, context: target.context, kubeconfig: target.kubeconfig};
}

export function kubeContext(dir: string, k: KubeAttr): KubeContext {
  return {kubeconfig: k.cluster !== null ? workspaceKubeconfig(dir) : k.kubeconfig, context: k.context};
}

/** One key per API server a plan talks to. */
export function contextKey(k: KubeAttr): string {
  return `${k.kubeconfig ?? (k.cluster !== null ? '(workspace)' : '(default)')}\0${k.context}`;
}

export function isKubeAttr(v: unknown): v is KubeAttr {
  const k = v as KubeAttr | null;
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof k.context === 'string' &&
    (k.cluster === null || typeof k.cluster === 'string') &&
    (k.kubeconfig === null || typeof k.kubeconfig === 'string')
  );
}
