// `outputs:` in orchestration.yml: named CEL expressions over the recorded state.
import {entries, rec, str} from './raw.js';
import type {OutputDecl} from './types.js';

export function readOutputs(raw: unknown): Record<string, OutputDecl> {
  const out: Record<string, OutputDecl> = {};
  for (const [name, v] of entries(raw)) {
    const o = rec(v);
    const value = str(o?.value);
    if (value !== undefined) Object.defineProperty(out, name, {value: {value, description: str(o?.description) ?? null}, enumerable: true});
  }
  return out;
}
