// Defensive readers for the parsed YAML. Normalisation runs even when the schema found
// errors (so every problem is reported at once); a value of the wrong shape is skipped
// here because the schema already reported it.

export type Raw = Record<string, unknown>;

export function rec(v: unknown): Raw | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined;
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

export function bool(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}

/** Entries of a map-valued key; null and wrong shapes read as empty. */
export function entries(v: unknown): Array<[string, unknown]> {
  const r = rec(v);
  return r ? Object.entries(r) : [];
}

/**
 * Sets an own property even for keys like "__proto__" (allowed as an env or build-arg
 * name), which plain assignment would turn into a prototype change.
 */
export function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, {value, enumerable: true, writable: true, configurable: true});
}

/** A map of plain string values, keeping only the entries that are strings. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of entries(v)) if (typeof val === 'string') put(out, k, val);
  return out;
}
