// The event row hash, format 2: SHA-256 over the row's fields in a JSON array followed by the
// payload exactly as the ledger stores it. Rows before the ledger's `chain_v2_from` seq keep
// format 1 (a canonical JSON envelope; see hash.ts), so history written by earlier versions
// still verifies unchanged.
//
//   hash = sha256( UTF-8( JSON.stringify([prev_hash, seq, run_id, step_id, ts, level, message])
//                         + ("\n" + payload text, or nothing when the payload is NULL) ) )
//
// JSON.stringify never emits a raw newline, so the first "\n" ends the array and no two rows
// (not even a NULL and an empty payload) encode alike; and nothing is re-serialised: the stored payload text is hashed as it is, so
// appending costs one native JSON.stringify of the payload and one of seven short fields.
import {canonicalJson, legacyEventHash, sha256Hex, type HashedEventFields} from './hash.js';

/** The fields of a row as they are stored, but for prev_hash: payload is the stored JSON text (or null). */
export interface EventRowFields extends Omit<HashedEventFields, 'prev_hash' | 'payload'> {
  payload: string | null;
}

export interface StoredEventFields extends EventRowFields {
  prev_hash: string;
}

/** The text a format-2 row hash is taken over. */
export function eventHashInput(prevHash: string, e: EventRowFields): string {
  const head = JSON.stringify([prevHash, e.seq, e.run_id, e.step_id, e.ts, e.level, e.message]);
  return e.payload === null ? head : `${head}\n${e.payload}`;
}

/** The format-2 hash of a row as stored. */
export function storedEventHash(e: StoredEventFields): string {
  return sha256Hex(eventHashInput(e.prev_hash, e));
}

/**
 * The hash of an event whose payload is a parsed value (as audit bundles carry it): format 2
 * hashes JSON.stringify of it, which reproduces the stored text exactly (the ledger stores
 * JSON.stringify output, and parse-then-stringify gives back the same text); format 1 hashed
 * its canonical JSON. v2From is the first seq written in format 2.
 */
export function eventHash(e: HashedEventFields, v2From = 1): string {
  if (e.seq < v2From) return legacyEventHash(e, e.payload == null ? 'null' : canonicalJson(e.payload));
  return sha256Hex(eventHashInput(e.prev_hash, {...e, payload: e.payload == null ? null : JSON.stringify(e.payload)}));
}
