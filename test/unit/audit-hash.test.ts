// The fast paths of the ledger's hashing (canonical JSON built directly, the append-time
// event hash) must give exactly the bytes and digests of the plain definitions.
import {createHash} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {appendedEventHash, canonicalJson, eventHash, eventHashWithPayloadJson, GENESIS_HASH, isHexDigest} from '../../src/ledger/hash.js';

/**
 * The definition, written plainly (as the ledger first had it): JSON.stringify semantics for
 * each value, object keys sorted by code unit at every depth.
 */
function reference(value: unknown, inArray = false): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as {toJSON?: unknown}).toJSON === 'function') value = (value as {toJSON: () => unknown}).toJSON();
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return inArray ? 'null' : undefined;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${Array.from(value, (v) => reference(v, true)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = reference(obj[key]);
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

/** A small deterministic PRNG, so a failure can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const STRINGS = ['', 'a', 'Z', '_', 'ü', '😀', '\ud800', '\u2028', 'quote"', 'back\\slash', 'nl\n', '\u0000', '__proto__', 'constructor', '10', '9', 'a.b', 'A', 'ab', 'aB'];

function randomValue(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth > 3 || pick < 0.4) {
    const p = r();
    if (p < 0.3) return STRINGS[Math.floor(r() * STRINGS.length)]! + (r() < 0.5 ? String(Math.floor(r() * 100)) : '');
    if (p < 0.5) return [0, -0, 1.5, -7, 1e21, 1e-7, 2 ** 53, NaN, Infinity][Math.floor(r() * 9)];
    if (p < 0.6) return r() < 0.5;
    if (p < 0.7) return null;
    if (p < 0.8) return undefined;
    if (p < 0.9) return new Date(Math.floor(r() * 2e12));
    return () => 1;
  }
  if (pick < 0.6) return Array.from({length: Math.floor(r() * 5)}, () => randomValue(r, depth + 1));
  const n = r() < 0.1 ? 30 + Math.floor(r() * 20) : Math.floor(r() * 8);
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = STRINGS[Math.floor(r() * STRINGS.length)]! + (r() < 0.6 ? String(i) : '');
    Object.defineProperty(obj, key, {value: randomValue(r, depth + 1), enumerable: true, configurable: true, writable: true});
  }
  if (r() < 0.1) return {toJSON: () => obj};
  return obj;
}

describe('canonical JSON and event hashes (fast paths)', () => {
  it('canonicalJson equals the definition on 3,000 random values', () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const v = randomValue(r, 0);
      const ref = reference(v);
      if (ref === undefined) expect(() => canonicalJson(v)).toThrow();
      else expect(canonicalJson(v), JSON.stringify(v)).toBe(ref);
    }
  });

  it('ignores inherited properties, and treats array holes as null', () => {
    const proto = {inherited: 1};
    const obj = Object.create(proto) as Record<string, unknown>;
    obj.own = 2;
    expect(canonicalJson(obj)).toBe('{"own":2}');
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalJson([1, , 3])).toBe(JSON.stringify([1, , 3]));
    expect(canonicalJson({d: new Date(0), n: {toJSON: () => ({b: 1, a: {toJSON: () => 'x'}})}})).toBe('{"d":"1970-01-01T00:00:00.000Z","n":{"a":"x","b":1}}');
  });

  it('appendedEventHash equals eventHash for the fields the ledger stamps', () => {
    const r = rng(7);
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= 500; seq++) {
      const candidate = r() < 0.2 ? null : randomValue(r, 1);
      const payload = candidate == null || reference(candidate) === undefined ? null : candidate;
      const e = {
        prev_hash: prev,
        seq,
        run_id: r() < 0.3 ? null : `run-${STRINGS[seq % STRINGS.length]}`,
        step_id: r() < 0.5 ? null : `step-${STRINGS[(seq * 7) % STRINGS.length]}`,
        ts: new Date(Math.floor(r() * 2e12)).toISOString(),
        level: ['debug', 'info', 'warn', 'error', 'odd"level'][seq % 5]!,
        message: STRINGS[(seq * 3) % STRINGS.length]! + ' happened',
        payload,
      };
      const payloadJson = payload == null ? 'null' : canonicalJson(payload);
      const expected = createHash('sha256').update(canonicalJson(e), 'utf8').digest('hex');
      expect(eventHash(e)).toBe(expected);
      expect(eventHashWithPayloadJson(e, payloadJson)).toBe(expected);
      expect(appendedEventHash(e.prev_hash, e.seq, e.run_id, e.step_id, e.ts, e.level, e.message, payloadJson)).toBe(expected);
      prev = expected;
    }
  });

  it('isHexDigest', () => {
    expect(isHexDigest(GENESIS_HASH)).toBe(true);
    expect(isHexDigest('A'.repeat(64))).toBe(false);
    expect(isHexDigest('a'.repeat(63))).toBe(false);
    expect(isHexDigest(`${'a'.repeat(63)}"`)).toBe(false);
  });
});
