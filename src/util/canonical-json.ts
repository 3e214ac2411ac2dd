// Canonical JSON: the same value always gives the same bytes, so hashes and signatures over
// it (the event chain, plan and bundle signatures, content-addressed snapshots) are stable.
import crypto, {createHash} from 'node:crypto';

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
// surrogate) skip it: most strings are plain, and every plan digest and resource row is encoded here.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const jsonString = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

// Object keys repeat endlessly (every payload has "address", "action", ...): their encoded
// form is cached, up to a bound so hostile input cannot grow it without limit.
const keyCache = new Map<string, string>();
function jsonKey(key: string): string {
  let out = keyCache.get(key);
  if (out === undefined) {
    out = jsonString(key);
    if (keyCache.size < 4096) keyCache.set(key, out);
  }
  return out;
}

// Builds the string directly (no intermediate arrays), for the same reason.
function encode(value: unknown, inArray: boolean): string | undefined {
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
  // toJSON is called once, as JSON.stringify does: what it returns is not asked again
  if (typeof (value as {toJSON?: unknown}).toJSON === 'function') {
    const replaced = (value as {toJSON: () => unknown}).toJSON();
    return replaced !== null && typeof replaced === 'object' ? encodeObject(replaced) : encode(replaced, inArray);
  }
  return encodeObject(value as object);
}

function encodeObject(value: object): string {
  if (Array.isArray(value)) {
    // holes and undefined items are null, as JSON.stringify has them
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + encode(value[i], true);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  // Code-unit order (not localeCompare) so the ordering never depends on the host's locale.
  // Payloads have a handful of keys: an insertion sort while collecting them beats
  // Object.keys + sort; big objects are sorted the ordinary way.
  let keys: string[] = [];
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    let j = keys.length;
    if (j >= 32) {
      keys = Object.keys(obj).sort();
      break;
    }
    while (j > 0 && keys[j - 1] > key) {
      keys[j] = keys[j - 1]!;
      j--;
    }
    keys[j] = key;
  }
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const v = encode(obj[key], false);
    if (v === undefined) continue;
    out += `${first ? '' : ','}${jsonKey(key)}:${v}`;
    first = false;
  }
  return `${out}}`;
}

// One-shot crypto.hash (Node >= 20.12) is markedly faster than createHash for small inputs.
const oneShot = (crypto as {hash?: (alg: string, data: string, enc: 'hex') => string}).hash;

/** SHA-256 of the UTF-8 text as lowercase hex: the digest taken of canonical JSON and of event rows. */
export function sha256Hex(data: string): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data, 'utf8').digest('hex');
}
