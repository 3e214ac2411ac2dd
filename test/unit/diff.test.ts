import {describe, expect, it} from 'vitest';
import {deepEqual, diffAttrs} from '../../src/resources/diff.js';

const none = new Set<string>();

describe('diffAttrs', () => {
  it('reports a changed scalar with before and after', () => {
    expect(diffAttrs({a: 1, b: 'x'}, {a: 2, b: 'x'}, none)).toEqual([{path: 'a', before: 1, after: 2, forces_replacement: true}]);
  });

  it('walks maps key by key (added, removed, changed)', () => {
    const changes = diffAttrs({env: {A: '1', B: '2'}}, {env: {A: '1', B: '3', C: '4'}}, none);
    expect(changes.map((c) => c.path)).toEqual(['env.B', 'env.C']);
    expect(changes[1]).toMatchObject({before: null, after: '4'});
    expect(diffAttrs({env: {A: '1'}}, {env: {}}, none)).toEqual([{path: 'env.A', before: '1', after: null, forces_replacement: true}]);
  });

  it('compares lists whole, order included', () => {
    expect(diffAttrs({n: ['a', 'b']}, {n: ['b', 'a']}, none)).toEqual([
      {path: 'n', before: ['a', 'b'], after: ['b', 'a'], forces_replacement: true},
    ]);
    expect(diffAttrs({n: ['a']}, {n: ['a']}, none)).toEqual([]);
  });

  it('recurses into nested objects and marks updatable top-level attributes', () => {
    const changes = diffAttrs(
      {health: {retries: 3, test: ['CMD']}, memory_bytes: 1},
      {health: {retries: 5, test: ['CMD']}, memory_bytes: 2},
      new Set(['memory_bytes']),
    );
    expect(changes).toEqual([
      {path: 'health.retries', before: 3, after: 5, forces_replacement: true},
      {path: 'memory_bytes', before: 1, after: 2, forces_replacement: false},
    ]);
  });

  it('treats null and a value as a change both ways, and object vs null', () => {
    expect(diffAttrs({user: null}, {user: '1000'}, none)).toHaveLength(1);
    expect(diffAttrs({health: {a: 1}}, {health: null}, none)).toEqual([
      {path: 'health', before: {a: 1}, after: null, forces_replacement: true},
    ]);
  });

  it('ignores skipped attributes', () => {
    expect(diffAttrs({a: 1}, {a: 2}, none, new Set(['a']))).toEqual([]);
  });
});

describe('deepEqual', () => {
  it('ignores undefined keys and key order', () => {
    expect(deepEqual({a: 1, b: undefined}, {a: 1})).toBe(true);
    expect(deepEqual({a: 1, b: 2}, {b: 2, a: 1})).toBe(true);
    expect(deepEqual([1, {x: 1}], [1, {x: 2}])).toBe(false);
  });
});
