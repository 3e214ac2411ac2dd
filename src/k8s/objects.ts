// Identities of Kubernetes objects in the forms orx, kubectl and `kubectl diff` each use.

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: {name: string; namespace?: string; labels?: Record<string, string>};
};

/** apiVersion/Kind/namespace/name: the key orx records an object under. */
export function objectId(o: KubeObject): string {
  return `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export function parseObjectId(id: string): ObjectRef {
  const parts = id.split('/');
  const name = parts.pop()!;
  const namespace = parts.pop()!;
  const kind = parts.pop()!;
  return {apiVersion: parts.join('/'), kind, namespace, name};
}

function groupVersion(apiVersion: string): {group: string; version: string} {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? {group: '', version: apiVersion} : {group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1)};
}

/** How `kubectl diff` names an object's file in its LIVE and MERGED directories. */
export function diffName(ref: ObjectRef): string {
  const {group, version} = groupVersion(ref.apiVersion);
  return `${group ? `${group}.` : ''}${version}.${ref.kind}.${ref.namespace}.${ref.name}`;
}

/** The resource type argument of `kubectl get` for objects of this kind. */
export function kubectlType(apiVersion: string, kind: string): string {
  const {group, version} = groupVersion(apiVersion);
  return group ? `${kind.toLowerCase()}.${version}.${group}` : kind.toLowerCase();
}

/** What `kubectl delete -f -` needs to find an object. */
export function identityOnly(ref: ObjectRef): KubeObject {
  return {apiVersion: ref.apiVersion, kind: ref.kind, metadata: {name: ref.name, ...(ref.namespace ? {namespace: ref.namespace} : {})}};
}

/** One stdin document for kubectl: a List keeps the objects in order. */
export function listDocument(objects: readonly unknown[]): string {
  return JSON.stringify({apiVersion: 'v1', kind: 'List', items: objects});
}

/** `kubectl apply -o json` prints one object, or a List of several. */
export function itemsOf(json: string): KubeObject[] {
  const text = json.trim();
  if (!text) return [];
  const doc = JSON.parse(text) as {kind?: string; items?: KubeObject[]};
  return doc.kind === 'List' || Array.isArray(doc.items) ? (doc.items ?? []) : [doc as KubeObject];
}
