// The event row hash: SHA-256 over the row's fields in a JSON array followed by the payload
// exactly as the ledger stores it.
//
//   hash = sha256( UTF-8( JSON.stringify([prev_hash, seq, run_id, step_id, ts, level, message])
//                         + ("\n" + payload text, or nothing when the payload is NULL) ) )
//
// JSON.stringify never emits a raw newline, so the first "\n" ends the array and no two rows
// (not even a NULL and an empty payload) encode alike; and nothing is re-serialised: the stored payload text is hashed as it is, so
// appending costs one native JSON.stringify of the payload and one of seven short fields.
import {sha256Hex} from '../util/canonical-json.js';

/** prev_hash of the first event: there is nothing before it to point at. */
export const GENESIS_HASH = '0'.repeat(64);

/** A lowercase sha256 hex digest, as every stored hash is. */
export function isHexDigest(s: string): boolean {
  return s.length === 64 && /^[0-9a-f]{64}$/.test(s);
}

export interface HashedEventFields {
  prev_hash: string;
  seq: number;
  run_id: string | null;
  step_id: string | null;
  ts: string;
  level: string;
  message: string;
  payload: unknown;
}

/** The fields of a row as they are stored, but for prev_hash: payload is the stored JSON text (or null). */
export interface EventRowFields extends Omit<HashedEventFields, 'prev_hash' | 'payload'> {
  payload: string | null;
}

interface StoredEventFields extends EventRowFields {
  prev_hash: string;
}

/** The text a row hash is taken over. */
export function eventHashInput(prevHash: string, e: EventRowFields): string {
  const head = JSON.stringify([prevHash, e.seq, e.run_id, e.step_id, e.ts, e.level, e.message]);
  return e.payload === null ? head : `${head}\n${e.payload}`;
}

/** The hash of a row as stored. */
export function storedEventHash(e: StoredEventFields): string {
  return sha256Hex(eventHashInput(e.prev_hash, e));
}

/**
 * The hash of an event whose payload is a parsed value (as audit bundles carry it): it hashes
 * JSON.stringify of it, which reproduces the stored text exactly (the ledger stores
 * JSON.stringify output, and parse-then-stringify gives back the same text).
 */
export function eventHash(e: HashedEventFields): string {
  return sha256Hex(eventHashInput(e.prev_hash, {...e, payload: e.payload == null ? null : JSON.stringify(e.payload)}));
}
