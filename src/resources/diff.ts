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
export function diffAttrs(before: Attrs, after: Attrs, updatable: ReadonlySet<string>, skip: ReadonlySet<string> = new Set()): AttrChange[] {
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
