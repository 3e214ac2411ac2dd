import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Ajv} from 'ajv';
import {describe, expect, it} from 'vitest';
import {assertFresh, newPlanId, planDigest, readPlanFile, writePlanFile, type PlanDocument} from '../../src/engine/planfile.js';
import {buildPlan, hasChanges, summarize, type PlanInput} from '../../src/engine/planner.js';
import type {Observation} from '../../src/engine/refresh.js';
import type {ResourceRecord} from '../../src/ledger/types.js';
import type {DesiredResource, ObservedResource} from '../../src/resources/types.js';
import {planDocument} from '../helpers/plan-fixtures.js';

const net = (internal = true): DesiredResource => ({
  address: 'network.n',
  kind: 'network',
  name: 'n',
  depends_on: [],
  attributes: {name: 'orx-w-n', internal, labels: {}},
});
const agent = (env: Record<string, string> = {A: '1'}, memory = 100): DesiredResource => ({
  address: 'agent.a',
  kind: 'agent',
  name: 'a',
  depends_on: ['network.n'],
  attributes: {
    name: 'orx-w-a',
    image: 'i',
    networks: ['orx-w-n'],
    mounts: [],
    env,
    memory_bytes: memory,
    running: true,
    config_hash: JSON.stringify(env),
  },
});
const rec = (d: DesiredResource, id = `id-${d.address}`): ResourceRecord => ({
  address: d.address,
  kind: d.kind,
  attributes: d.attributes,
  object_id: id,
  secret_fingerprints: {},
  serial: 1,
  updated_at: '',
});
const obs = (d: DesiredResource, attrs = d.attributes, id = `id-${d.address}`): ObservedResource => ({
  address: d.address,
  kind: d.kind,
  object_id: id,
  attributes: attrs,
});
const observation = (...o: ObservedResource[]): Observation => ({observed: new Map(o.map((x) => [x.address, x])), orphans: []});

function plan(over: Partial<PlanInput>) {
  return buildPlan({
    plan_id: 'p',
    mode: 'apply',
    desired: [],
    recorded: [],
    observation: observation(),
    knownStepKeys: new Set(),
    targets: [],
    replace: [],
    ...over,
  });
}

describe('buildPlan', () => {
  it('creates in dependency order', () => {
    const m = plan({desired: [agent(), net()]});
    expect(m.steps.map((s) => `${s.action} ${s.address}`)).toEqual(['create network.n', 'create agent.a']);
    expect(m.steps[1].category).toBe('DEPLOY');
    expect(m.steps[0].category).toBe('WRITE');
    expect(m.steps[1].idempotency_key).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is a no-op when desired, recorded and observed agree', () => {
    const d = [net(), agent()];
    const m = plan({desired: d, recorded: d.map((x) => rec(x)), observation: observation(...d.map((x) => obs(x)))});
    expect(hasChanges(m.steps)).toBe(false);
    expect(m.drift).toEqual([]);
  });

  it('updates in place for updatable attributes, replaces for others', () => {
    const before = [net(), agent()];
    const upd = plan({
      desired: [net(), agent({A: '1'}, 200)],
      recorded: before.map((x) => rec(x)),
      observation: observation(...before.map((x) => obs(x))),
    });
    expect(upd.steps.find((s) => s.address === 'agent.a')).toMatchObject({action: 'update', category: 'DEPLOY'});
    const rep = plan({
      desired: [net(), agent({A: '2'})],
      recorded: before.map((x) => rec(x)),
      observation: observation(...before.map((x) => obs(x))),
    });
    const s = rep.steps.find((x) => x.address === 'agent.a')!;
    expect(s.action).toBe('replace');
    expect(s.changes).toEqual([{path: 'env.A', before: '1', after: '2', forces_replacement: true}]);
  });

  it('replaces the agents on a replaced network', () => {
    const before = [net(true), agent()];
    const m = plan({
      desired: [net(false), agent()],
      recorded: before.map((x) => rec(x)),
      observation: observation(...before.map((x) => obs(x))),
    });
    expect(m.steps.map((s) => `${s.action} ${s.address}`)).toEqual(['replace network.n', 'replace agent.a']);
    expect(m.steps[1].reasons).toContain('network.n is replaced');
  });

  it('reports drift separately and plans the repair', () => {
    const d = [net(), agent()];
    const m = plan({desired: d, recorded: d.map((x) => rec(x)), observation: observation(obs(d[0]))});
    expect(m.drift).toEqual([{address: 'agent.a', kind: 'agent', status: 'deleted', changes: []}]);
    expect(m.steps.find((s) => s.address === 'agent.a')).toMatchObject({action: 'create', reasons: ['deleted outside orx']});

    const stopped = plan({
      desired: d,
      recorded: d.map((x) => rec(x)),
      observation: observation(obs(d[0]), obs(d[1], {...d[1].attributes, running: false})),
    });
    expect(stopped.drift[0]).toMatchObject({
      address: 'agent.a',
      status: 'changed',
      changes: [{path: 'running', before: true, after: false}],
    });
    expect(stopped.steps.find((s) => s.address === 'agent.a')!.action).toBe('update');
  });

  it('records, without changing the world, an object an interrupted apply left', () => {
    const d = [net()];
    const m = plan({desired: d, recorded: [], observation: observation(obs(d[0]))});
    expect(m.steps[0]).toMatchObject({action: 'noop', record: true});
    expect(hasChanges(m.steps)).toBe(true);
  });

  it('deletes what left the configuration, dependents first', () => {
    const d = [net(), agent()];
    const m = plan({desired: [], recorded: d.map((x) => rec(x)), observation: observation(...d.map((x) => obs(x)))});
    expect(m.steps.map((s) => `${s.action} ${s.address}`)).toEqual(['delete network.n', 'delete agent.a']);
    expect(m.steps.every((s) => s.category === 'DESTROY')).toBe(true);
    // the executor reverses deletes along depends_on, derived from the recorded attributes
    expect(m.steps.find((s) => s.address === 'agent.a')!.depends_on).toContain('network.n');
  });

  it('destroy mode deletes everything recorded', () => {
    const d = [net(), agent()];
    const m = plan({mode: 'destroy', desired: d, recorded: d.map((x) => rec(x)), observation: observation(...d.map((x) => obs(x)))});
    expect(summarize(m.steps)).toEqual({create: 0, update: 0, replace: 0, delete: 2});
  });

  it('--target keeps the target and what it needs; --replace forces a replacement', () => {
    const m = plan({desired: [net(), agent(), {...net(), address: 'network.other', name: 'other'}], targets: ['agent.a']});
    expect(m.steps.map((s) => s.address).sort()).toEqual(['agent.a', 'network.n']);
    const d = [net(), agent()];
    const r = plan({desired: d, recorded: d.map((x) => rec(x)), observation: observation(...d.map((x) => obs(x))), replace: ['network.n']});
    expect(r.steps.find((s) => s.address === 'network.n')).toMatchObject({action: 'replace', reasons: ['requested with --replace']});
    expect(() => plan({desired: d, targets: ['agent.nope']})).toThrow(/no such resource/);
    expect(() => plan({desired: d, targets: ['bogus']})).toThrow(/not a resource address/);
  });

  it('uses the ledger alone with refresh off', () => {
    const d = [net()];
    const m = plan({desired: d, recorded: d.map((x) => rec(x)), observation: null});
    expect(m.steps[0].action).toBe('noop');
    expect(m.drift).toEqual([]);
  });

  it('deletes labelled orphans orx created, leaves others alone with a note', () => {
    const o: Observation = {
      observed: new Map(),
      orphans: [
        {kind: 'agent', address: 'agent.gone', object_id: 'c1', name: 'orx-w-gone', step_key: 'known'},
        {kind: 'agent', address: 'agent.other', object_id: 'c2', name: 'orx-w-other', step_key: 'unknown'},
      ],
    };
    const m = plan({observation: o, knownStepKeys: new Set(['known'])});
    expect(m.steps.map((s) => `${s.action} ${s.address}`)).toEqual(['delete agent.gone']);
    expect(m.notes.join()).toMatch(/orx-w-other/);
  });
});

describe('plan file', () => {
  const doc = (): PlanDocument => {
    const m = plan({desired: [net(), agent()]});
    return planDocument(m.steps, {
      plan_id: newPlanId(),
      created_at: new Date().toISOString(),
      orx_version: '0.0.0',
      lineage: 'L',
      serial: 3,
      ledger_head: {seq: 7, hash: 'c'.repeat(64)},
      config_digest: 'a'.repeat(64),
      policy_digest: 'b'.repeat(64),
      drift: m.drift,
      notes: m.notes,
      summary: summarize(m.steps),
    });
  };

  it('round-trips, matches the published schema, and has a stable digest', () => {
    const d = doc();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'orx-plan-')), 'x.plan.json');
    writePlanFile(file, d);
    const back = readPlanFile(file);
    expect(back).toEqual(d);
    expect(planDigest(back)).toBe(planDigest(d));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const schema = JSON.parse(fs.readFileSync(new URL('../../schemas/plan.schema.json', import.meta.url), 'utf8'));
    const validate = new Ajv({strict: false}).compile(schema);
    expect(validate(back), JSON.stringify(validate.errors)).toBe(true);
  });

  it('refuses stale plans with exit 5 and says why', () => {
    const d = doc();
    const now = {
      workspace: 'w',
      lineage: 'L',
      serial: 3,
      ledger_head: {seq: 7, hash: 'c'.repeat(64)},
      config_digest: d.config_digest,
      policy_digest: d.policy_digest,
    };
    expect(() => assertFresh(d, now)).not.toThrow();
    for (const [over, why] of [
      [{serial: 4}, /serial 3 to 4/],
      [{lineage: 'M'}, /lineage/],
      [{config_digest: 'c'.repeat(64)}, /orchestration.yml/],
      [{policy_digest: 'c'.repeat(64)}, /policies/],
    ] as const) {
      try {
        assertFresh(d, {...now, ...over});
        expect.unreachable();
      } catch (e) {
        expect((e as {exit: number}).exit).toBe(5);
        expect((e as Error).message).toMatch(why);
      }
    }
  });

  it('refuses malformed files with exit 5', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-plan-'));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{not json');
    expect(() => readPlanFile(bad)).toThrow(expect.objectContaining({exit: 5}));
    fs.writeFileSync(bad, JSON.stringify({formatVersion: '9'}));
    expect(() => readPlanFile(bad)).toThrow(/formatVersion/);
    expect(() => readPlanFile(path.join(dir, 'missing.json'))).toThrow(expect.objectContaining({exit: 1}));
  });
});
