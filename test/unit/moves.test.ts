// `moved:` without the engine: the file's checks, the state read as moved, the plan's move
// steps and how they are shown; and `orx graph`'s escaping for DOT and Mermaid.
import fs from 'node:fs';
import os from 'node:os';
import {Ajv} from 'ajv';
import {planDocument} from '../helpers/plan-fixtures.js';
import {describe, expect, it} from 'vitest';
import {parseConfig} from '../../src/config/load.js';
import {moveAddressProblem} from '../../src/config/moved.js';
import {OrxError} from '../../src/errors.js';
import {resolveMoves} from '../../src/engine/moves.js';
import {buildPlan, hasChanges, summarize} from '../../src/engine/planner.js';
import type {ResourceRecord} from '../../src/ledger/types.js';
import {moveAction} from '../../src/resources/move.js';
import type {DesiredResource} from '../../src/resources/types.js';
import {dotString, mermaidLabel, renderDot, renderMermaid} from '../../src/ui/graph-view.js';
import {renderStep, summaryLine} from '../../src/ui/plan-view.js';

const WS = os.tmpdir();

function problems(yaml: string): string {
  try {
    parseConfig(yaml, WS);
  } catch (err) {
    return (err as OrxError).message;
  }
  return '';
}

const NETS = 'workspace: lab\nnetworks:\n  one: {}\n  two: {}\n';

describe('moved: in the file', () => {
  it('reads entries and leaves a file without them as it was', () => {
    expect(parseConfig(`${NETS}moved:\n  - {from: network.old, to: network.one}\n`, WS).moved).toEqual([
      {from: 'network.old', to: 'network.one', index: 0},
    ]);
    expect('moved' in parseConfig(NETS, WS)).toBe(false);
  });

  it('refuses kinds that differ, immovable kinds, chains and cycles, duplicates, at file:line:col', () => {
    expect(moveAddressProblem('agent.a', 'network.a')).toMatch(/the kinds differ/);
    expect(moveAddressProblem('image.a', 'image.b')).toMatch(/only agent, network, volume records can move/);
    expect(moveAddressProblem('agent.a', 'agent.a')).toMatch(/moves to itself/);
    expect(moveAddressProblem('agent', 'agent.a')).toMatch(/not a resource address/);
    expect(problems(`${NETS}moved:\n  - {from: network.old, to: volume.one}\n`)).toMatch(
      /^orchestration\.yml:6:\d+: moved\[0\]: .*kinds differ/,
    );
    expect(problems(`${NETS}moved:\n  - {from: network.a, to: network.b}\n  - {from: network.b, to: network.a}\n`)).toMatch(
      /chained or cyclic moves are refused/,
    );
    expect(problems(`${NETS}moved:\n  - {from: network.a, to: network.one}\n  - {from: network.a, to: network.two}\n`)).toMatch(
      /orchestration\.yml:7:\d+: moved\[1\]: network\.a is already moved by moved\[0\]/,
    );
    expect(problems(`${NETS}moved:\n  - {from: network.a}\n`)).toMatch(/to/);
  });
});

const record = (address: string, object_id: string | null = `id-${address}`): ResourceRecord => ({
  address,
  kind: address.split('.')[0],
  attributes: {name: `orx-lab-${address.split('.')[1]}`, internal: true, labels: {}},
  object_id,
  secret_fingerprints: {},
  serial: 1,
  updated_at: '',
});

const loaded = (yaml: string) => ({dir: WS, file: `${WS}/orchestration.yml`, file_digest: '', config: parseConfig(yaml, WS)});

describe('the state as the plan reads it', () => {
  it('takes each recorded `from` for its `to`, and skips entries with nothing recorded', () => {
    const l = loaded(`${NETS}moved:\n  - {from: network.old, to: network.one}\n  - {from: network.gone, to: network.two}\n`);
    const out = resolveMoves(l, [record('network.old')]);
    expect(out.records.map((r) => [r.address, r.object_id])).toEqual([['network.one', 'id-network.old']]);
    expect(out.moves).toEqual([{from: 'network.old', to: 'network.one', kind: 'network', object_id: 'id-network.old'}]);
  });

  it('plans a move step first, the new address after it, and no create or delete', () => {
    const l = loaded(`${NETS}moved:\n  - {from: network.old, to: network.one}\n`);
    const {records, moves} = resolveMoves(l, [record('network.old')]);
    const desired: DesiredResource = {
      address: 'network.one',
      kind: 'network',
      name: 'one',
      depends_on: [],
      attributes: records[0].attributes,
    };
    const p = buildPlan({
      plan_id: 'p',
      mode: 'apply',
      desired: [desired],
      recorded: records,
      observation: null,
      knownStepKeys: new Set(),
      targets: ['network.one'],
      replace: [],
      moves,
    });
    expect(p.steps.map((s) => [s.id, s.address, s.action])).toEqual([
      ['s1', 'network.old', 'move'],
      ['s2', 'network.one', 'noop'],
    ]);
    expect(p.steps[1].depends_on).toEqual(['network.old']);
    expect(summarize(p.steps)).toEqual({create: 0, update: 0, replace: 0, delete: 0});
    expect(hasChanges(p.steps)).toBe(true);
    expect(moveAction.validate(p.steps[0].after)).toEqual(moves[0]);
    expect(() => moveAction.validate({...p.steps[0].after, to: 'agent.one'})).toThrow(/addresses of the kind network/);

    // a plan with a move is a plan the published schema accepts
    const schema = JSON.parse(fs.readFileSync(new URL('../../schemas/plan.schema.json', import.meta.url), 'utf8'));
    const validate = new Ajv({strict: false}).compile(schema);
    expect(
      validate(planDocument(p.steps, {summary: summarize(p.steps), config_digest: 'a'.repeat(64), policy_digest: 'b'.repeat(64)})),
      JSON.stringify(validate.errors),
    ).toBe(true);

    expect(renderStep(p.steps[0])).toContain('# network.old has moved to network.one');
    expect(summaryLine({summary: summarize(p.steps), steps: p.steps})).toBe(
      'Plan: 1 to move, 0 to add, 0 to change, 0 to replace, 0 to destroy.',
    );
  });

  it('refuses a move onto an address that is recorded too, at its entry', () => {
    const l = loaded(`${NETS}moved:\n  - {from: network.old, to: network.one}\n`);
    expect(() => resolveMoves(l, [record('network.old'), record('network.one')])).toThrow(OrxError);
  });
});

describe('graph escaping', () => {
  const g = {
    source: 'plan' as const,
    plan_id: 'p"1',
    nodes: [
      {address: 'agent.a-1', kind: 'agent', action: 'create'},
      {address: 'x"y\\z#q', kind: 'dr', action: 'noop'},
    ],
    edges: [{from: 'agent.a-1', to: 'x"y\\z#q'}],
  };

  it('quotes every DOT id and escapes quotes and backslashes', () => {
    expect(dotString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(renderDot(g)).toContain('"agent.a-1" -> "x\\"y\\\\z#q";');
  });

  it('gives Mermaid nodes plain ids and entity-escaped labels', () => {
    expect(mermaidLabel('a"b#c')).toBe('"a#quot;b#35;c"');
    expect(renderMermaid(g).split('\n')).toEqual([
      'flowchart LR',
      '  n0["create agent.a-1"]',
      '  n1["noop x#quot;y\\z#35;q"]',
      '  n0 --> n1',
      '',
    ]);
  });
});

describe('the executor order of a move', () => {
  it('runs the move before a destroy at its new address (a destroy plan of a moved workspace)', async () => {
    const {operations} = await import('../../src/engine/executor.js');
    const l = loaded(`${NETS}moved:\n  - {from: network.old, to: network.one}\n`);
    const {records, moves} = resolveMoves(l, [record('network.old')]);
    const p = buildPlan({
      plan_id: 'p',
      mode: 'destroy',
      desired: [],
      recorded: records,
      observation: null,
      knownStepKeys: new Set(),
      targets: [],
      replace: [],
      moves,
    });
    expect(p.steps.map((s) => [s.address, s.action])).toEqual([
      ['network.old', 'move'],
      ['network.one', 'delete'],
    ]);
    const ops = operations(p.steps);
    expect([...ops.find((o) => o.key === 'destroy:network.one')!.deps]).toEqual(['converge:network.old']);
  });
});
