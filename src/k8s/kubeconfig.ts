// The workspace's kubeconfig: .orx/kubeconfig holds every cluster of the workspace, and
// .orx/kube/NAME.kubeconfig just one (current-context set), which `orx kubeconfig NAME`
// prints for `KUBECONFIG=$(orx kubeconfig dev) kubectl ...`. Never ~/.kube/config.
import fs from 'node:fs';
import path from 'node:path';
import {parse, stringify} from 'yaml';
import {writePrivateFile} from '../util/private-file.js';

interface Named {
  name: string;
  [k: string]: unknown;
}
interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  contexts?: Named[];
  users?: Named[];
  'current-context'?: string;
  preferences?: unknown;
}

export function workspaceKubeconfig(dir: string): string {
  return path.join(dir, '.orx', 'kubeconfig');
}

export function clusterKubeconfig(dir: string, cluster: string): string {
  return path.join(dir, '.orx', 'kube', `${cluster}.kubeconfig`);
}

/** Stores what `kind get kubeconfig` printed for one cluster and rebuilds the merged file. */
export function saveClusterKubeconfig(dir: string, cluster: string, text: string): void {
  const doc = parse(text) as KubeconfigDoc;
  if (!doc || !Array.isArray(doc.contexts) || doc.contexts.length === 0)
    throw new Error(`kind printed no kubeconfig for cluster ${cluster}`);
  writePrivateFile(clusterKubeconfig(dir, cluster), stringify(doc));
  rebuildMerged(dir);
}

export function removeClusterKubeconfig(dir: string, cluster: string): void {
  fs.rmSync(clusterKubeconfig(dir, cluster), {force: true});
  rebuildMerged(dir);
}

function rebuildMerged(dir: string): void {
  const kubeDir = path.join(dir, '.orx', 'kube');
  const files = fs.existsSync(kubeDir)
    ? fs
        .readdirSync(kubeDir)
        .filter((f) => f.endsWith('.kubeconfig'))
        .sort()
    : [];
  if (files.length === 0) {
    fs.rmSync(workspaceKubeconfig(dir), {force: true});
    return;
  }
  const merged: KubeconfigDoc = {apiVersion: 'v1', kind: 'Config', clusters: [], contexts: [], users: [], preferences: {}};
  for (const f of files) {
    const doc = parse(fs.readFileSync(path.join(kubeDir, f), 'utf8')) as KubeconfigDoc;
    merged.clusters!.push(...(doc.clusters ?? []));
    merged.contexts!.push(...(doc.contexts ?? []));
    merged.users!.push(...(doc.users ?? []));
    merged['current-context'] ??= doc['current-context'];
  }
  writePrivateFile(workspaceKubeconfig(dir), stringify(merged));
}
