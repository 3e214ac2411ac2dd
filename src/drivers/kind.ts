// The kind commands orx runs, and nothing else (test/fixtures/bin/README.md documents the
// same list for the stand-in).
import type {Tool} from './tools.js';

export async function kindClusters(kind: Tool, signal?: AbortSignal): Promise<string[]> {
  const out = await kind.run(['get', 'clusters'], {signal, timeoutMs: 30_000});
  return out.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export interface CreateCluster {
  name: string;
  configFile: string;
  image: string;
  waitMs: number;
  /** where kind writes its kubeconfig: a scratch file, so ~/.kube/config is never touched */
  kubeconfig: string;
}

export async function createKindCluster(kind: Tool, c: CreateCluster, signal?: AbortSignal): Promise<void> {
  await kind.run(
    [
      'create',
      'cluster',
      '--name',
      c.name,
      '--config',
      c.configFile,
      '--image',
      c.image,
      '--wait',
      `${Math.ceil(c.waitMs / 1000)}s`,
      '--kubeconfig',
      c.kubeconfig,
    ],
    {signal},
  );
}

/** kubeconfig null: kind cleans the user's default kubeconfig (the cluster was exported there). */
export async function deleteKindCluster(kind: Tool, name: string, kubeconfig: string | null, signal?: AbortSignal): Promise<void> {
  await kind.run(['delete', 'cluster', '--name', name, ...(kubeconfig ? ['--kubeconfig', kubeconfig] : [])], {signal, timeoutMs: 300_000});
}

export async function kindKubeconfig(kind: Tool, name: string, signal?: AbortSignal): Promise<string> {
  return (await kind.run(['get', 'kubeconfig', '--name', name], {signal, timeoutMs: 60_000})).stdout;
}

/** Writes the cluster's context into the user's default kubeconfig (export_kubeconfig: true only). */
export async function exportKindKubeconfig(kind: Tool, name: string, signal?: AbortSignal): Promise<void> {
  await kind.run(['export', 'kubeconfig', '--name', name], {signal, timeoutMs: 60_000});
}

export async function loadKindImage(kind: Tool, name: string, image: string, signal?: AbortSignal): Promise<void> {
  await kind.run(['load', 'docker-image', image, '--name', name], {signal});
}
