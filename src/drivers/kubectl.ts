// The kubectl commands orx runs, and nothing else (test/fixtures/bin/README.md documents the
// same list for the stand-in). Objects go in on stdin, never as arguments.
import {identityOnly, itemsOf, listDocument, type KubeObject, type ObjectRef} from '../k8s/objects.js';
import type {Tool} from './tools.js';

export const FIELD_MANAGER = 'orchestrix';

export interface KubeContext {
  /** absolute path; null: kubectl's own default */
  kubeconfig: string | null;
  context: string;
}

function globals(t: KubeContext): string[] {
  return [...(t.kubeconfig ? ['--kubeconfig', t.kubeconfig] : []), '--context', t.context];
}

export async function applyObjects(
  kubectl: Tool,
  t: KubeContext,
  objects: readonly KubeObject[],
  signal?: AbortSignal,
): Promise<KubeObject[]> {
  if (objects.length === 0) return [];
  const out = await kubectl.run(
    [...globals(t), 'apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', '-', '-o', 'json'],
    {input: listDocument(objects), signal},
  );
  return itemsOf(out.stdout);
}

/** The objects a server-side apply would change, by kubectl diff's file name (exit 1 = differences). */
export async function diffObjects(
  kubectl: Tool,
  t: KubeContext,
  objects: readonly KubeObject[],
  signal?: AbortSignal,
): Promise<{changed: Set<string>; text: string}> {
  if (objects.length === 0) return {changed: new Set(), text: ''};
  const out = await kubectl.run(
    [...globals(t), 'diff', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', '-'],
    {input: listDocument(objects), okCodes: [1], signal, timeoutMs: 120_000},
  );
  const changed = new Set<string>();
  for (const m of out.stdout.matchAll(/^diff .* \S*\/LIVE-[^/\s]*\/(\S+) \S*\/MERGED-[^/\s]*\/(\S+)$/gm)) changed.add(m[1]);
  return {changed, text: out.stdout};
}

export async function listLabelled(
  kubectl: Tool,
  t: KubeContext,
  types: readonly string[],
  selector: string,
  signal?: AbortSignal,
): Promise<KubeObject[]> {
  if (types.length === 0) return [];
  const out = await kubectl.run(
    [...globals(t), '--request-timeout', '15s', 'get', [...types].sort().join(','), '-A', '-l', selector, '-o', 'json'],
    {signal, timeoutMs: 60_000},
  );
  return itemsOf(out.stdout);
}

export async function deleteObjects(kubectl: Tool, t: KubeContext, refs: readonly ObjectRef[], signal?: AbortSignal): Promise<void> {
  if (refs.length === 0) return;
  await kubectl.run([...globals(t), 'delete', '--ignore-not-found=true', '--wait=false', '-f', '-'], {
    input: listDocument(refs.map(identityOnly)),
    signal,
    timeoutMs: 120_000,
  });
}

export async function rolloutStatus(
  kubectl: Tool,
  t: KubeContext,
  namespace: string,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  await kubectl.run(
    [...globals(t), 'rollout', 'status', `deployment/${name}`, '-n', namespace, `--timeout=${Math.max(1, Math.ceil(timeoutMs / 1000))}s`],
    {signal, timeoutMs: timeoutMs + 30_000},
  );
}

/** Removes a context exported into the user's default kubeconfig (export_kubeconfig turned off). */
export async function forgetContext(kubectl: Tool, name: string): Promise<void> {
  for (const what of ['context', 'cluster', 'user'])
    await kubectl.run(['config', `delete-${what}`, name], {okCodes: [1], timeoutMs: 30_000});
}
