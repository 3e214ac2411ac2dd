// What every repository writes the same way: timestamps, ids, JSON columns, "not found".
import {randomInt} from 'node:crypto';
import {OrxError} from '../errors.js';
import {canonicalJson} from '../util/canonical-json.js';
import {redact} from '../util/redact.js';

// Date#toISOString costs about a microsecond; events come many to a millisecond when batched.
let lastMs = Number.NaN;
let lastIso = '';
export const now = (): string => {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
};

/** Ids sort by creation time: a fixed-width base36 millisecond stamp, then randomness. */
export function newId(prefix: string): string {
  let rand = '';
  for (let i = 0; i < 6; i++) rand += randomInt(36).toString(36);
  return `${prefix}-${Date.now().toString(36).padStart(9, '0')}${rand}`;
}

export const parseJson = <T>(text: string | null): T | null => (text == null ? null : (JSON.parse(text) as T));

// Secret values never enter the ledger: every text written is redacted (a no-op until a
// value has been resolved in this process).
export const toJson = (v: unknown): string | null => (v == null ? null : redact(canonicalJson(v)));

export function notFound(what: string, id: string): OrxError {
  return new OrxError({code: 'not_found', message: `No ${what} with id "${id}" in the ledger.`, data: {[what]: id}});
}
