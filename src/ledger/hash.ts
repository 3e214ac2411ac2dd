import crypto, {createHash} from 'node:crypto';

/** prev_hash of the first event: there is nothing before it to point at. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every depth and no whitespace, so the same value always
 * gives the same bytes (the hash chain and signed artefacts depend on that). Follows
 * JSON.stringify for undefined, functions, toJSON and non-finite numbers so that a value
 * and its JSON round trip canonicalise identically.
 */
export function canonicalJson(value: unknown): string {
  const out = encode(value, false);
  if (out === undefined) throw new TypeError('canonicalJson: value has no JSON representation');
  return out;
}

// Strings JSON.stringify would leave as they are (no quote, backslash, control character or
// surrogate) skip it: most ledger strings are plain, and this is the hot path of appending.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const jsonString = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);
const jsonNullable = (s: string | null | undefined): string => (s == null ? 'null' : jsonString(s));

function encode(value: unknown, inArray: boolean): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as {toJSON?: unknown}).toJSON === 'function') {
    value = (value as {toJSON: () => unknown}).toJSON();
  }
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'bigint':
      throw new TypeError('canonicalJson: BigInt is not representable in JSON');
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : undefined;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => encode(v, true)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  // Code-unit order (not localeCompare) so the ordering never depends on the host's locale.
  for (const key of Object.keys(obj).sort()) {
    const v = encode(obj[key], false);
    if (v !== undefined) parts.push(`${jsonString(key)}:${v}`);
  }
  return `{${parts.join(',')}}`;
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

// One-shot crypto.hash (Node >= 20.12) is markedly faster than createHash on the append path.
const oneShot = (crypto as {hash?: (alg: string, data: string, enc: 'hex') => string}).hash;

export function sha256Hex(data: string): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data, 'utf8').digest('hex');
}

/** The hash of one event row; seq is inside it, so moving a row breaks its own hash. */
export function eventHash(e: HashedEventFields): string {
  return eventHashWithPayloadJson(e, e.payload == null ? 'null' : canonicalJson(e.payload));
}

/**
 * Same digest as eventHash, for a payload already in canonical JSON (as the ledger stores
 * it), so appending and verifying never re-encode it. The literal below is exactly
 * canonicalJson of the eight fields: keys in sorted order.
 */
export function eventHashWithPayloadJson(e: Omit<HashedEventFields, 'payload'>, payloadJson: string): string {
  const seq = Number.isFinite(e.seq) ? String(e.seq) : 'null';
  return sha256Hex(
    `{"level":${jsonString(e.level)},"message":${jsonString(e.message)},"payload":${payloadJson},` +
      `"prev_hash":${jsonString(e.prev_hash)},"run_id":${jsonNullable(e.run_id)},"seq":${seq},` +
      `"step_id":${jsonNullable(e.step_id)},"ts":${jsonString(e.ts)}}`,
  );
}
