import {describe, expect, it} from 'vitest';
import {operations} from '../../src/engine/executor.js';
import {closure, topoSort} from '../../src/engine/graph.js';
import type {PlannedStep} from '../../src/resources/types.js';
import {plannedStep} from '../helpers/plan-fixtures.js';

describe('topoSort', () => {
  it('puts dependencies first and keeps the given order among equals', () => {
    const order = topoSort([
      {id: 'agent.a', deps: ['network.n', 'image.i']},
      {id: 'agent.b', deps: ['agent.a']},
      {id: 'network.n', deps: []},
      {id: 'image.i', deps: []},
    ]).map((n) => n.id);
    expect(order).toEqual(['network.n', 'image.i', 'agent.a', 'agent.b']);
  });

  it('ignores dependencies outside the set', () => {
    expect(topoSort([{id: 'a', deps: ['zzz']}]).map((n) => n.id)).toEqual(['a']);
  });

  it('names the nodes of a cycle', () => {
    expect(() =>
      topoSort([
        {id: 'a', deps: ['b']},
        {id: 'b', deps: ['a']},
        {id: 'c', deps: []},
      ]),
    ).toThrow(/cycle among: a, b/);
  });
});

describe('closure', () => {
  it('collects transitive dependencies', () => {
    const deps: Record<string, string[]> = {a: ['b'], b: ['c'], c: [], d: []};
    expect([...closure(['a'], (x) => deps[x] ?? [])].sort()).toEqual(['a', 'b', 'c']);
  });
});

const step = (address: string, action: PlannedStep['action'], depends_on: string[] = []): PlannedStep =>
  plannedStep({address, action, depends_on, after: null});

describe('operations (destroy/converge ordering)', () => {
  it('destroys dependents before a replaced dependency and recreates them after it', () => {
    const ops = operations([step('network.n', 'replace'), step('agent.a', 'replace', ['network.n'])]);
    const get = (k: string) => ops.find((o) => o.key === k)!;
    expect([...get('destroy:network.n').deps]).toEqual(['destroy:agent.a']);
    expect([...get('converge:network.n').deps]).toEqual(['destroy:network.n']);
    expect([...get('converge:agent.a').deps].sort()).toEqual(['converge:network.n', 'destroy:agent.a']);
  });

  it('deletes in reverse dependency order and creates in forward order', () => {
    const del = operations([step('network.n', 'delete'), step('agent.a', 'delete', ['network.n'])]);
    expect([...del.find((o) => o.key === 'destroy:network.n')!.deps]).toEqual(['destroy:agent.a']);
    const create = operations([step('network.n', 'create'), step('agent.a', 'create', ['network.n'])]);
    expect(create.map((o) => o.key)).toEqual(['converge:network.n', 'converge:agent.a']);
    expect([...create[1].deps]).toEqual(['converge:network.n']);
  });

  it('an agent replace is one operation (new container first) unless something it hangs on is destroyed before it', () => {
    const agent = (address: string, deps: string[] = []): PlannedStep => ({
      ...step(address, 'replace', deps),
      kind: 'agent',
      before: {name: address},
      after: {name: address},
    });
    // another agent replaced in one step is only an ordering
    const one = operations([agent('agent.b'), agent('agent.a', ['agent.b'])]);
    expect(one.map((o) => o.key)).toEqual(['converge:agent.b', 'converge:agent.a']);
    expect([...one[1].deps]).toEqual(['converge:agent.b']);
    // a replaced network goes only once its agents' old containers are gone, and so on down the chain
    const split = operations([
      step('network.n', 'replace'),
      agent('agent.a', ['network.n']),
      agent('agent.c', ['agent.a']),
      agent('agent.d'),
    ]);
    expect(split.map((o) => o.key).sort()).toEqual([
      'converge:agent.a',
      'converge:agent.c',
      'converge:agent.d',
      'converge:network.n',
      'destroy:agent.a',
      'destroy:agent.c',
      'destroy:network.n',
    ]);
    expect([...split.find((o) => o.key === 'destroy:network.n')!.deps]).toEqual(['destroy:agent.a']);
  });
});
