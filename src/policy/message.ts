// Decision messages: "agent {{step.address}} is privileged". Plain substitution of a value from
// the rule's context, never an expression, so a message cannot fail or run anything.
import {preview} from '../errors.js';

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*$/;

export interface PlaceholderProblem {
  /** offset of the problem within the message */
  index: number;
  message: string;
}

function segments(path: string): string[] {
  return path.match(/[A-Za-z0-9_-]+/g) ?? [];
}

/** Problems with the {{...}} of a message: malformed paths, variables the rule cannot read. */
export function checkPlaceholders(message: string, variables: readonly string[]): PlaceholderProblem[] {
  const out: PlaceholderProblem[] = [];
  for (const m of message.matchAll(PLACEHOLDER)) {
    const path = m[1];
    if (!PATH.test(path)) {
      out.push({
        index: m.index,
        message: `message placeholder {{${preview(path, 40)}}} must be a path such as {{step.address}} or {{step.after.mounts[0].source}}`,
      });
      continue;
    }
    const root = segments(path)[0];
    if (!variables.includes(root))
      out.push({
        index: m.index,
        message: `message placeholder {{${path}}} names "${root}", which this rule cannot read (it can read ${variables.join(', ')})`,
      });
  }
  return out;
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '(none)';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? String(value);
}

/**
 * Fills in a message. A missing or null value shows as "(none)"; values are cut to 200
 * characters with control characters replaced, since they come from resource attributes.
 */
export function renderMessage(message: string, vars: Record<string, unknown>): string {
  if (!message.includes('{{')) return message;
  return message.replace(PLACEHOLDER, (whole, path: string) => {
    if (!PATH.test(path)) return whole;
    let cur: unknown = vars;
    for (const seg of segments(path)) {
      if (cur === null || typeof cur !== 'object') {
        cur = undefined;
        break;
      }
      cur = Array.isArray(cur) ? cur[Number(seg)] : (cur as Record<string, unknown>)[seg];
    }
    return preview(show(cur), 200);
  });
}
