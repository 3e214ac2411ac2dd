import {OrxError} from '../errors.js';
import type {Attrs} from './types.js';

// Plan files travel (CI artefacts, reviews): attributes read back from one are checked
// before orx acts on them, the same way config is.

export function bad(kind: string, field: string, expected: string): never {
  throw new OrxError({
    code: 'plan_invalid',
    message: `plan file: ${kind} attribute "${field}" must be ${expected}`,
    actions: ['Make a new plan with `orx plan -out FILE`.'],
  });
}

export function obj(kind: string, input: unknown): Attrs {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) bad(kind, '(attributes)', 'an object');
  return input as Attrs;
}

export function str(kind: string, a: Attrs, k: string, nullable = false): string {
  const v = a[k];
  if (typeof v === 'string' || (nullable && v === null)) return v as string;
  return bad(kind, k, nullable ? 'a string or null' : 'a string');
}

export function num(kind: string, a: Attrs, k: string): number {
  const v = a[k];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return bad(kind, k, 'a number');
}

export function bool(kind: string, a: Attrs, k: string): boolean {
  const v = a[k];
  if (typeof v === 'boolean') return v;
  return bad(kind, k, 'true or false');
}

export function strMap(kind: string, a: Attrs, k: string): Record<string, string> {
  const v = a[k];
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) {
    return v as Record<string, string>;
  }
  return bad(kind, k, 'a map of strings');
}

export function strList(kind: string, a: Attrs, k: string): string[];
export function strList(kind: string, a: Attrs, k: string, nullable: true): string[] | null;
export function strList(kind: string, a: Attrs, k: string, nullable = false): string[] | null {
  const v = a[k];
  if (nullable && v === null) return null;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  return bad(kind, k, 'a list of strings');
}
