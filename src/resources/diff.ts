import type {AttrChange, Attrs} from '../resources/types.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Leaf-level differences: maps and nested objects are walked key by key (so a diff
 * says `env.LOG_LEVEL`), lists and scalars compare whole (like `terraform plan` for a
 * list of primitives).
 */
export function diffAttrs(
  before: Attrs,
  after: Attrs,
  updatable: ReadonlySet<string>,
  skip: ReadonlySet<string> = new Set(),
): AttrChange[] {
  const out: AttrChange[] = [];
  const walk = (b: unknown, a: unknown, path: string, top: string): void => {
    if (deepEqual(b, a)) return;
    if (isPlainObject(b) && isPlainObject(a)) {
      for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) walk(b[k], a[k], `${path}.${k}`, top);
      return;
    }
    out.push({path, before: b ?? null, after: a ?? null, forces_replacement: !updatable.has(top)});
  };
  for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (skip.has(k)) continue;
    walk(before[k], after[k], k, k);
  }
  return out;
}

/** Differences down to list items too (`config.nodes[1].extraPortMappings[0].hostPort`): for documents like a kind config. */
export function diffDeep(before: unknown, after: unknown, path: string, forces: boolean): AttrChange[] {
  if (deepEqual(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .sort()
      .flatMap((k) => diffDeep(before[k], after[k], `${path}.${k}`, forces));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    return Array.from({length: Math.max(before.length, after.length)}, (_, i) =>
      diffDeep(before[i], after[i], `${path}[${i}]`, forces),
    ).flat();
  }
  return [{path, before: before ?? null, after: after ?? null, forces_replacement: forces}];
}
