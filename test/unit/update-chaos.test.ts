// Update strategies, orx probes and the chaos switch in orchestration.yml; the chaos spec and
// the seeded choice of faults.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {parseConfig} from '../../src/config/load.js';
import {OrxError} from '../../src/errors.js';
import type {PlannedStep} from '../../src/resources/types.js';
import {parseChaos, planFaults} from '../../src/sim/chaos.js';
import {renderStep} from '../../src/ui/plan-view.js';
import {caught} from '../helpers/errors.js';

const WS = mkdtempSync(join(tmpdir(), 'orx-update-'));
afterAll(() => rmSync(WS, {recursive: true, force: true}));

const config = (agent: string, top = '') =>
  `workspace: lab\n${top}images:\n  base: {ref: alpine}\nnetworks:\n  out: {internal: false}\nagents:\n  a:\n    image: base\n${agent}`;

describe('update, probes and chaos in orchestration.yml', () => {
  it('recreate by default; blue-green with its timeout and rollback conditions', () => {
    expect(parseConfig(config(''), WS).agents.a.update).toEqual({
      strategy: 'recreate',
      health_timeout_ms: 60_000,
      rollback_on: ['unhealthy', 'exit', 'timeout'],
    });
    const u = parseConfig(config('    update: {strategy: blue-green, health_timeout: 90s, rollback_on: [timeout, exit]}\n'), WS).agents.a
      .update;
    expect(u).toEqual({strategy: 'blue-green', health_timeout_ms: 90_000, rollback_on: ['exit', 'timeout']});
    expect(parseConfig(config(''), WS).chaos).toEqual({allowed: false});
    expect(parseConfig(config('', 'chaos: {allowed: true}\n'), WS).chaos).toEqual({allowed: true});
  });

  it('orx probes: exec, and host_http on a port the agent publishes on 127.0.0.1 only', () => {
    const exec = parseConfig(config('    health: {exec: ["/bin/check", "--quick"], retries: 5}\n'), WS).agents.a.health!;
    expect(exec).toMatchObject({test: [], probe: {exec: ['/bin/check', '--quick']}, retries: 5});
    const http = parseConfig(
      config('    networks: [out]\n    ports: [{container: 8080, host: 18080}]\n    health: {host_http: {port: 18080, path: /healthz}}\n'),
      WS,
    ).agents.a.health!;
    expect(http.probe).toEqual({http: {port: 18080, path: '/healthz'}});
    // a Docker healthcheck keeps no probe key: agents recorded before probes keep their config hash
    expect('probe' in parseConfig(config('    health: {cmd: ["true"]}\n'), WS).agents.a.health!).toBe(false);
    const e = caught(() => parseConfig(config('    health: {host_http: {port: 18081}}\n'), WS));
    expect(e).toBeInstanceOf(OrxError);
    expect(e.message).toMatch(/agents\.a\.health\.host_http\.port: 18081 is not one of this agent's ports published on 127\.0\.0\.1/);
    const both = caught(() => parseConfig(config('    health: {exec: ["a"], shell: "b"}\n'), WS));
    expect(both.message).toMatch(/must have only one of "http", "cmd", "shell", "exec" or "host_http"/);
  });
});

const step = (address: string, action: PlannedStep['action'] = 'create', after: Record<string, unknown> = {}): PlannedStep =>
  ({
    id: address,
    address,
    kind: address.split('.')[0],
    action,
    category: 'DEPLOY',
    before: action === 'create' ? null : {},
    after,
    changes: [],
    reasons: [],
    depends_on: [],
    object_id: null,
    record: false,
    idempotency_key: address,
    budget_ms: 1000,
  }) as PlannedStep;

describe('chaos', () => {
  const steps = [
    step('network.a'),
    step('volume.v'),
    step('image.i'),
    step('agent.x'),
    step('agent.y', 'replace', {update: {strategy: 'blue-green'}}),
    step('agent.z', 'noop'),
  ];

  it('parses SEED[,rate=R][,kinds=K+K] and says what is wrong', () => {
    expect(parseChaos('42')).toEqual({seed: '42', rate: 0.2, kinds: null});
    expect(parseChaos('s1,rate=0.5,kinds=agent+network')).toEqual({seed: 's1', rate: 0.5, kinds: ['agent', 'network']});
    expect(caught(() => parseChaos('1,rate=2')).message).toMatch(/--chaos "1,rate=2": unknown option "rate=2"/);
    expect(caught(() => parseChaos(',rate=0.1')).message).toMatch(/the seed is missing/);
  });

  it('the same seed and steps give the same faults; rate and kinds bound them; noop steps never get one', () => {
    const spec = parseChaos('7,rate=0.5');
    expect(planFaults(steps, spec)).toEqual(planFaults(steps, spec));
    expect(planFaults(steps, {...spec, rate: 0})).toEqual([]);
    const all = planFaults(steps, {...spec, rate: 1});
    expect(all.map((f) => f.address)).toEqual(['network.a', 'volume.v', 'image.i', 'agent.x', 'agent.y']);
    expect(all.filter((f) => f.kind === 'unhealthy').every((f) => f.address === 'agent.y')).toBe(true);
    expect(planFaults(steps, {...spec, rate: 1, kinds: ['agent']}).map((f) => f.address)).toEqual(['agent.x', 'agent.y']);
    // a step filtered out still takes its draws: the others' faults do not move
    const agentsOnly = planFaults(steps, {...spec, kinds: ['agent']});
    expect(agentsOnly).toEqual(planFaults(steps, spec).filter((f) => f.address.startsWith('agent.')));
    // across seeds, every fault kind turns up
    const kinds = new Set(
      Array.from({length: 40}, (_, i) => planFaults(steps, {seed: String(i), rate: 1, kinds: null}))
        .flat()
        .map((f) => f.kind),
    );
    expect([...kinds].sort()).toEqual(['fail-after', 'fail-before', 'unhealthy']);
  });
});

describe('a blue-green replace in the plan', () => {
  const replace = (ports: unknown[], strategy = 'blue-green', target?: string) =>
    ({
      ...step('agent.web', 'replace', {update: {strategy}, ports, ...(target ? {target} : {})}),
      before: {ports, ...(target ? {target} : {})},
    }) as PlannedStep;
  const lines = (s: PlannedStep) => renderStep(s).split('\n');

  it('says the new container comes up first (+/-), like a create_before_destroy', () => {
    expect(lines(replace([]))).toEqual([
      '  # agent.web must be replaced',
      '+/- agent.web',
      '      # blue-green: the new container starts beside the old one and takes over once healthy',
    ]);
  });

  it('says when host ports make it stop-first', () => {
    expect(lines(replace([{container: 8080, host: 18080}])).slice(1)).toEqual([
      '-/+ agent.web',
      '      # blue-green, stop-first (host ports): the old container stops, and starts again if the new one is not healthy',
    ]);
  });

  it('a recreate, or a Kubernetes agent (its Deployment rolls), is a plain replace; only a real blue-green step gets an unhealthy fault', () => {
    expect(lines(replace([], 'recreate'))).toEqual(['  # agent.web must be replaced', '-/+ agent.web']);
    expect(lines(replace([], 'blue-green', 'kubernetes'))).toEqual(['  # agent.web must be replaced', '-/+ agent.web']);
    const faults = (s: PlannedStep) =>
      new Set(
        Array.from({length: 40}, (_, i) => planFaults([s], {seed: String(i), rate: 1, kinds: null}))
          .flat()
          .map((f) => f.kind),
      );
    expect(faults(replace([])).has('unhealthy')).toBe(true);
    expect(faults(replace([], 'blue-green', 'kubernetes')).has('unhealthy')).toBe(false);
  });
});
