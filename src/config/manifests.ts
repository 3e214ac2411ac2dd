// manifests.NAME -> ManifestsSpec: every object of its files checked for what orx relies on
// (apiVersion, kind, name: its identity), given its namespace and labelled with the workspace
// and the entry's address, and otherwise kept exactly as written.
import {createHash} from 'node:crypto';
import {preview} from '../errors.js';
import {RESERVED_LABEL_PREFIX} from './agent.js';
import type {Problems} from './diagnostics.js';
import {DEFAULT_NAMESPACE, kubeTarget, type KubeRefs} from './kube-target.js';
import {manifestFiles, readManifestFile, type RawObject} from './manifest-files.js';
import {NAME_RULE} from './patterns.js';
import {bool, entries, put, rec, str, type Raw} from './raw.js';
import {describeValue} from './schema-errors.js';
import type {KubeTarget, ManifestObject, ManifestsSpec} from './types.js';
import {locate} from './yaml-source.js';

/** Kinds whose objects live in no namespace. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'CSIDriver',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
]);

export const MANIFEST_LABELS = {workspace: `${RESERVED_LABEL_PREFIX}workspace`, address: `${RESERVED_LABEL_PREFIX}address`} as const;

// DNS subdomain, plus ":" which RBAC names such as "system:viewer" use
const OBJECT_NAME = /^[a-z0-9]([a-z0-9.:-]{0,251}[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

interface Placed {
  obj: ManifestObject;
  raw: RawObject;
}

export function normalizeManifests(raw: unknown, refs: KubeRefs, workspace: string, problems: Problems): Record<string, ManifestsSpec> {
  const out: Record<string, ManifestsSpec> = {};
  const byTarget = new Map<string, {entry: string; placed: Placed}>();
  for (const [name, v] of entries(raw)) {
    const e = rec(v);
    if (!e) continue;
    const path = ['manifests', name];
    const target = kubeTarget(e, path, refs, problems);
    const labels = {[MANIFEST_LABELS.workspace]: workspace, [MANIFEST_LABELS.address]: `manifests.${name}`};
    const namespace = str(e.namespace) ?? DEFAULT_NAMESPACE;
    const digest = createHash('sha256');
    const files: string[] = [];
    const placed: Placed[] = [];
    const first = new Map<string, Placed>();
    for (const mf of manifestFiles(refs.dir, e.path, [...path, 'path'], problems)) {
      const read = readManifestFile(mf, problems);
      if (!read) continue;
      files.push(mf.file.rel);
      digest.update(mf.file.rel).update('\0').update(read.bytes).update('\0');
      for (const r of read.objects) {
        const obj = manifestObject(r, namespace, labels, problems);
        if (!obj) continue;
        const earlier = first.get(obj.id);
        if (earlier) {
          report(problems, r, `${describe(r, obj)} is defined twice in manifests.${name}; first at ${place(earlier.raw)}`);
          continue;
        }
        const p = {obj, raw: r};
        first.set(obj.id, p);
        placed.push(p);
      }
    }
    if (target) crossCheck(name, target, placed, byTarget, problems);
    put<ManifestsSpec>(out, name, {
      target: target ?? {context: '', kubeconfig: null},
      files,
      objects: placed.map((p) => p.obj),
      digest: digest.digest('hex'),
      prune: bool(e.prune, true),
    });
  }
  return out;
}

// Two entries applying the same object to the same cluster would overwrite each other's and prune each other's.
function crossCheck(
  name: string,
  target: KubeTarget,
  placed: Placed[],
  seen: Map<string, {entry: string; placed: Placed}>,
  problems: Problems,
): void {
  const key = target.cluster !== undefined ? `cluster\0${target.cluster}` : `context\0${target.kubeconfig ?? ''}\0${target.context}`;
  const what = target.cluster !== undefined ? `cluster "${target.cluster}"` : `context ${JSON.stringify(preview(target.context, 60))}`;
  for (const p of placed) {
    const id = `${key}\0${p.obj.id}`;
    const other = seen.get(id);
    if (other && other.entry !== name)
      report(
        problems,
        p.raw,
        `${describe(p.raw, p.obj)} is also in manifests.${other.entry} (${place(other.placed.raw)}), which targets the same ${what}`,
      );
    else if (!other) seen.set(id, {entry: name, placed: p});
  }
}

function manifestObject(r: RawObject, namespace: string, labels: Record<string, string>, problems: Problems): ManifestObject | undefined {
  const o = rec(r.data);
  const n = `object ${r.n}`;
  if (!o) return void report(problems, r, `${n} must be a mapping with apiVersion, kind and metadata (got ${describeValue(r.data)})`);
  const apiVersion = field(o, 'apiVersion', r, problems);
  const kind = field(o, 'kind', r, problems);
  const meta = rec(o.metadata);
  if (o.metadata !== undefined && !meta)
    return void report(problems, r, `${n}: metadata must be a mapping (got ${describeValue(o.metadata)})`, ['metadata']);
  if (typeof meta?.name !== 'string') {
    if (meta?.name === undefined) return void report(problems, r, `${n} has no metadata.name`, meta ? ['metadata'] : []);
    return void report(problems, r, `${n}: metadata.name must be a string (got ${describeValue(meta.name)})`, ['metadata', 'name']);
  }
  const name = meta.name;
  if (name.length > 253 || !OBJECT_NAME.test(name))
    return void report(
      problems,
      r,
      `${n}: metadata.name ${JSON.stringify(preview(name, 60))} must be 1-253 lowercase letters, digits, "-", "." and ":", starting and ending with a letter or digit`,
      ['metadata', 'name'],
    );
  if (apiVersion === undefined || kind === undefined) return undefined;
  const who = `${n} (${kind} "${name}")`;

  let ns = '';
  if (CLUSTER_SCOPED_KINDS.has(kind)) {
    if (meta.namespace !== undefined)
      return void report(problems, r, `${who}: a ${kind} is cluster-scoped; remove metadata.namespace`, ['metadata', 'namespace'], 'key');
  } else if (meta.namespace === undefined) ns = namespace;
  else if (typeof meta.namespace === 'string' && NAMESPACE.test(meta.namespace)) ns = meta.namespace;
  else
    return void report(problems, r, `${who}: metadata.namespace ${describeValue(meta.namespace)} is not a valid namespace: ${NAME_RULE}`, [
      'metadata',
      'namespace',
    ]);

  const own = rec(meta.labels);
  if (meta.labels !== undefined && !own)
    return void report(problems, r, `${who}: metadata.labels must be a mapping (got ${describeValue(meta.labels)})`, [
      'metadata',
      'labels',
    ]);
  const reserved = Object.keys(own ?? {}).filter((k) => k.startsWith(RESERVED_LABEL_PREFIX));
  for (const k of reserved)
    report(
      problems,
      r,
      `${who}: label ${JSON.stringify(preview(k, 60))} uses the reserved prefix "${RESERVED_LABEL_PREFIX}" (orx sets these labels itself)`,
      ['metadata', 'labels', k],
      'key',
    );
  if (reserved.length > 0) return undefined;

  const metadata: Raw = {...meta, labels: {...own, ...labels}};
  if (ns !== '' && meta.namespace === undefined) metadata.namespace = ns;
  return {id: `${apiVersion}/${kind}/${ns}/${name}`, object: {...o, metadata}, file: r.file.label};
}

function field(o: Raw, key: 'apiVersion' | 'kind', r: RawObject, problems: Problems): string | undefined {
  const v = o[key];
  if (typeof v === 'string' && v !== '' && !v.includes('\n')) return v;
  if (v === undefined) report(problems, r, `object ${r.n} has no ${key}`);
  else report(problems, r, `object ${r.n}: ${key} must be a non-empty string (got ${describeValue(v)})`, [key]);
  return undefined;
}

function describe(r: RawObject, obj: ManifestObject): string {
  return `object ${r.n} (${obj.id})`;
}

function report(
  problems: Problems,
  r: RawObject,
  message: string,
  sub: ReadonlyArray<string | number> = [],
  at: 'key' | 'value' = 'value',
): void {
  problems.add([...r.at, ...sub], message, at, r.file);
}

/** file:line:col of an object, for messages that point at two places. */
function place(r: RawObject): string {
  const offset = r.file.source ? locate(r.file.source, r.at) : undefined;
  if (offset === undefined) return r.file.label;
  const {line, col} = r.file.lines.linePos(offset);
  return `${r.file.label}:${line}:${col}`;
}
