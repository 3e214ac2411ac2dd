// Key-by-key differences between two applied configurations (`orx history diff A B`).
import {deepEqual} from '../resources/diff.js';

export type ConfigChange =
  | {op: 'add'; path: string; after: unknown}
  | {op: 'remove'; path: string; before: unknown}
  | {op: 'change'; path: string; before: unknown; after: unknown};

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `agents.researcher.env.LOG_LEVEL`; keys that are not plain names are bracketed: `labels["a.b"]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (IDENT.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Objects are compared key by key (in sorted order, so the output is stable); arrays of the
 * same length whose items are objects are compared item by item; any other differing value
 * (a scalar, a list that grew or shrank) is one change of the whole value.
 */
export function diffConfigs(before: unknown, after: unknown, base = ''): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(before, after, base, out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: ConfigChange[]): void {
  if (deepEqual(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const p = joinPath(path, key);
      if (!Object.hasOwn(b, key) || b[key] === undefined) {
        if (a[key] !== undefined) out.push({op: 'remove', path: p, before: a[key]});
      } else if (!Object.hasOwn(a, key) || a[key] === undefined) out.push({op: 'add', path: p, after: b[key]});
      else walk(a[key], b[key], p, out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.some(isObject)) {
    a.forEach((v, i) => walk(v, b[i], joinPath(path, i), out));
    return;
  }
  out.push({op: 'change', path: path || '(root)', before: a, after: b});
}

const show = (v: unknown): string => JSON.stringify(v) ?? 'undefined';

/** One line per change: `+ path: value`, `- path: value`, `~ path: old -> new`. */
export function formatChange(ch: ConfigChange): string {
  switch (ch.op) {
    case 'add':
      return `+ ${ch.path}: ${show(ch.after)}`;
    case 'remove':
      return `- ${ch.path}: ${show(ch.before)}`;
    case 'change':
      return `~ ${ch.path}: ${show(ch.before)} -> ${show(ch.after)}`;
  }
}
