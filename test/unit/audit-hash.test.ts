// The fast paths of the ledger's hashing (canonical JSON built directly, the event hash
// encoded into a reused buffer) must give exactly the bytes and digests of the plain definitions.
import {createHash} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {eventHash, GENESIS_HASH, isHexDigest, storedEventHash} from '../../src/ledger/event-hash.js';
import {canonicalJson} from '../../src/util/canonical-json.js';

/**
 * The definition, written plainly (as the ledger first had it): JSON.stringify semantics for
 * each value, object keys sorted by code unit at every depth.
 */
function reference(value: unknown, inArray = false): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as {toJSON?: unknown}).toJSON === 'function')
    value = (value as {toJSON: () => unknown}).toJSON();
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
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const STRINGS = [
  '',
  'a',
  'Z',
  '_',
  'ü',
  '😀',
  '\ud800',
  '\u2028',
  'quote"',
  'back\\slash',
  'nl\n',
  '\u0000',
  '__proto__',
  'constructor',
  '10',
  '9',
  'a.b',
  'A',
  'ab',
  'aB',
];

function randomValue(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth > 3 || pick < 0.4) {
    const p = r();
    if (p < 0.3) return STRINGS[Math.floor(r() * STRINGS.length)] + (r() < 0.5 ? String(Math.floor(r() * 100)) : '');
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
    const key = STRINGS[Math.floor(r() * STRINGS.length)] + (r() < 0.6 ? String(i) : '');
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
    expect(canonicalJson({d: new Date(0), n: {toJSON: () => ({b: 1, a: {toJSON: () => 'x'}})}})).toBe(
      '{"d":"1970-01-01T00:00:00.000Z","n":{"a":"x","b":1}}',
    );
  });

  /** Format 2 written plainly: the seven fields as a JSON array, then a newline and the stored payload text if there is one. */
  function format2(e: {
    prev_hash: string;
    seq: number;
    run_id: string | null;
    step_id: string | null;
    ts: string;
    level: string;
    message: string;
    payload: string | null;
  }): string {
    const head = JSON.stringify([e.prev_hash, e.seq, e.run_id, e.step_id, e.ts, e.level, e.message]);
    const tail = e.payload === null ? [] : [Buffer.from([0x0a]), Buffer.from(e.payload, 'utf8')];
    return createHash('sha256')
      .update(Buffer.concat([Buffer.from(head, 'utf8'), ...tail]))
      .digest('hex');
  }

  function randomEvents(seed: number, n: number) {
    const r = rng(seed);
    const out = [];
    for (let seq = 1; seq <= n; seq++) {
      const candidate = r() < 0.2 ? null : randomValue(r, 1);
      const payload = candidate == null || reference(candidate) === undefined ? null : candidate;
      out.push({
        prev_hash: r() < 0.1 ? STRINGS[seq % STRINGS.length] : createHash('sha256').update(String(seq)).digest('hex'),
        seq: r() < 0.05 ? 2 ** 40 + seq : seq,
        run_id: r() < 0.3 ? null : `run-${STRINGS[seq % STRINGS.length]}`,
        step_id: r() < 0.5 ? null : `step-${STRINGS[(seq * 7) % STRINGS.length]}`,
        ts: new Date(Math.floor(r() * 2e12)).toISOString(),
        level: ['debug', 'info', 'warn', 'error', 'odd"level'][seq % 5],
        message: STRINGS[(seq * 3) % STRINGS.length] + ' happened',
        payload,
      });
    }
    return out;
  }

  it('is sha256 of the fields as a JSON array and the payload as its stored JSON.stringify text', () => {
    for (const e of randomEvents(8, 500)) {
      const text = e.payload == null ? undefined : JSON.stringify(e.payload);
      // as the ledger stores it: a payload serialising to nothing or null is NULL
      const stored = {...e, payload: text === undefined || text === 'null' ? null : text};
      const expected = format2(stored);
      expect(storedEventHash(stored)).toBe(expected);
      // what audit bundles do: hash the parsed payload, which must give back the stored text
      const parsed = {...e, payload: stored.payload == null ? null : JSON.parse(stored.payload)};
      expect(eventHash(parsed)).toBe(expected);
    }
  });

  it('JSON.stringify of a parsed JSON.stringify text is that text (what bundle verification relies on)', () => {
    const r = rng(9);
    for (let i = 0; i < 3000; i++) {
      const text = JSON.stringify(randomValue(r, 0));
      if (text === undefined) continue;
      expect(JSON.stringify(JSON.parse(text))).toBe(text);
    }
    // index-like keys are ordered first by the engine on both sides
    const odd = JSON.stringify({b: 1, 10: 2, 9: 3, __proto__x: 4, '4294967295': 5});
    expect(JSON.stringify(JSON.parse(odd))).toBe(odd);
  });

  it('format 2 never encodes two different rows alike: moving text between fields changes the hash', () => {
    const base = {prev_hash: GENESIS_HASH, seq: 1, run_id: 'ab', step_id: null, ts: 't', level: 'info', message: 'm', payload: null};
    const h = storedEventHash(base);
    expect(storedEventHash({...base, run_id: 'a', step_id: 'b'})).not.toBe(h);
    expect(storedEventHash({...base, run_id: null, step_id: 'ab'})).not.toBe(h);
    expect(storedEventHash({...base, run_id: '', step_id: null})).not.toBe(storedEventHash({...base, run_id: null, step_id: null}));
    expect(storedEventHash({...base, message: 'm\n', payload: null})).not.toBe(storedEventHash({...base, message: 'm', payload: '\n'}));
    expect(storedEventHash({...base, payload: ''})).not.toBe(h);
  });

  it('isHexDigest', () => {
    expect(isHexDigest(GENESIS_HASH)).toBe(true);
    expect(isHexDigest('A'.repeat(64))).toBe(false);
    expect(isHexDigest('a'.repeat(63))).toBe(false);
    expect(isHexDigest(`${'a'.repeat(63)}"`)).toBe(false);
  });
});
