import {describe, expect, it} from 'vitest';
import {eventHash, GENESIS_HASH} from '../../src/ledger/event-hash.js';
import {canonicalJson} from '../../src/util/canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and has no whitespace', () => {
    expect(canonicalJson({b: 1, a: {d: [3, {z: 1, y: 2}], c: 'x'}})).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same bytes whatever the insertion order', () => {
    const a = {x: 1, y: [1, 2], z: {q: null, p: true}};
    const b = {z: {p: true, q: null}, y: [1, 2], x: 1};
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('follows JSON.stringify for undefined, dates and non-finite numbers', () => {
    const v = {u: undefined, arr: [undefined, NaN, Infinity], d: new Date(0), s: 'é"\n'};
    expect(canonicalJson(v)).toBe('{"arr":[null,null,null],"d":"1970-01-01T00:00:00.000Z","s":"é\\"\\n"}');
    expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
  });

  it('is stable across a JSON round trip', () => {
    const v = {n: 1.5e-7, big: 2 ** 53, neg: -0, nested: {'': 1, ü: 2, A: 3}};
    expect(canonicalJson(JSON.parse(canonicalJson(v)))).toBe(canonicalJson(v));
  });

  it('refuses BigInt and top-level undefined', () => {
    expect(() => canonicalJson({n: 1n})).toThrow(/BigInt/);
    expect(() => canonicalJson(undefined)).toThrow();
  });
});

describe('eventHash', () => {
  const base = {
    prev_hash: GENESIS_HASH,
    seq: 1,
    run_id: null,
    step_id: null,
    ts: '2024-01-01T00:00:00.000Z',
    level: 'info',
    message: 'm',
    payload: {a: 1},
  };

  it('is a sha256 hex digest, deterministic', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(eventHash(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(eventHash({...base, payload: {a: 1}})).toBe(eventHash(base));
  });

  it('changes when any hashed field changes', () => {
    const h = eventHash(base);
    for (const patch of [
      {seq: 2},
      {prev_hash: 'f'.repeat(64)},
      {run_id: 'r'},
      {step_id: 's'},
      {ts: 'x'},
      {level: 'warn'},
      {message: 'n'},
      {payload: {a: 2}},
      {payload: null},
    ]) {
      expect(eventHash({...base, ...patch})).not.toBe(h);
    }
  });
});

describe('canonicalJson string fast path', () => {
  it('matches JSON.stringify for every kind of awkward string', () => {
    const samples = [
      '',
      'plain',
      'q"uote',
      'back\\slash',
      'nl\n',
      '\u0000',
      '\u001f',
      '\u007f',
      '\u2028',
      'ü',
      '😀',
      '\ud800',
      'a\udc00b',
      '/',
    ];
    for (const s of samples) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
      expect(canonicalJson({[s]: s})).toBe(JSON.stringify({[s]: s}));
    }
    for (const n of [0, -0, 1.5, 1e21, 1e-7, -3, 2 ** 53 + 2]) expect(canonicalJson(n)).toBe(JSON.stringify(n));
  });
});
