// Evaluating policies: every baseline rule with allowing and denying steps (direct calls, not
// through the test runner), fail-closed runtime errors, precedence, plan-scope rules, the
// context's numbers and messages.
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {buildPlan} from '../../src/engine/planner.js';
import {buildPolicyInput, emptyRecentActivity} from '../../src/policy/context.js';
import {evaluateAll, evaluatePolicies} from '../../src/policy/evaluate.js';
import {isDenied, reviewPlan} from '../../src/policy/review.js';
import type {PlannedStep} from '../../src/resources/types.js';
import {compilePolicies, loadPolicies} from '../../src/policy/load.js';
import {isBuiltinRule} from '../../src/config/builtin-policy.js';
import type {PolicyDecision, PolicyPlanStep, PolicySet} from '../../src/policy/types.js';
import type {RecentActivity} from '../../src/ledger/activity.js';
import type {DesiredResource} from '../../src/resources/types.js';
import {plannedStep} from '../helpers/plan-fixtures.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// the built-in rules alone: the example workspace's own rules are not what these cases are about
const all = loadPolicies(root);
const baseline = {rules: all.rules.filter(isBuiltinRule), files: ['orx:baseline.yaml']};
const NOW = new Date('2024-05-01T12:00:00Z');

const HARDENED = {
  read_only_rootfs: true,
  cap_drop: ['ALL'],
  no_new_privileges: true,
  seccomp: 'default',
  privileged: false,
  init: true,
  tmpfs: '/tmp',
};

/** An agent as orx plans it: hardened, non-root, on an internal network. */
function agentAttrs(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'orx-w-a',
    image: 'base',
    image_ref: 'orx-w-base:1234',
    command: null,
    env: {},
    user: null,
    image_user: '1000:1000',
    allow_root: null,
    egress: false,
    cpus: 1,
    memory_bytes: 1 << 30,
    pids_limit: 256,
    networks: ['orx-w-backplane'],
    mounts: [{source: 'orx-w-memory', target: '/data', read_only: false}],
    ports: [],
    health: null,
    labels: {},
    hardening: HARDENED,
    running: true,
    config_hash: 'abc',
    ...over,
  };
}

let n = 0;
function step(kind: string, action: PolicyPlanStep['action'], over: Partial<PolicyPlanStep> = {}): PolicyPlanStep {
  n++;
  const category =
    action === 'delete' || (kind === 'volume' && action === 'replace')
      ? 'DESTROY'
      : action === 'noop'
        ? 'READ'
        : kind === 'agent'
          ? 'DEPLOY'
          : 'WRITE';
  return {
    id: `s${n}`,
    address: `${kind}.x${n}`,
    kind,
    action,
    category,
    before: null,
    after: null,
    changes: [],
    reasons: [],
    depends_on: [],
    ...over,
  };
}
const createAgent = (over: Record<string, unknown> = {}, address = 'agent.a') =>
  step('agent', 'create', {address, after: agentAttrs(over)});

function decide(
  steps: PolicyPlanStep[],
  opts: {set?: PolicySet; recent?: RecentActivity; kind?: string; autonomy?: number} = {},
): PolicyDecision[] {
  const input = buildPolicyInput({
    plan: {kind: opts.kind ?? 'apply', steps},
    workspace: 'w',
    autonomy: opts.autonomy ?? 1,
    now: NOW,
    recent: opts.recent,
  });
  return evaluatePolicies(opts.set ?? baseline, input).decisions;
}
const short = (ds: PolicyDecision[]) => ds.map((d) => `${d.effect} ${d.rule} ${d.address ?? '(plan)'}`);

function policy(yaml: string): PolicySet {
  return compilePolicies([{file: 'policies/t.yaml', text: yaml}]);
}

describe('baseline rules, evaluated directly', () => {
  it('a hardened agent, its network, volume and built image: no decisions', () => {
    const steps = [
      step('network', 'create', {address: 'network.backplane', after: {name: 'orx-w-backplane', internal: true, labels: {}}}),
      step('volume', 'create', {address: 'volume.memory', after: {name: 'orx-w-memory', labels: {}, backup: true}}),
      step('image', 'create', {
        address: 'image.base',
        after: {
          source: 'build',
          tag: 'orx-w-base:1234',
          context: 'x',
          context_digest: 'd',
          dockerfile: 'Dockerfile',
          args: {},
          user: '1000',
        },
      }),
      createAgent(),
    ];
    expect(decide(steps)).toEqual([]);
  });

  it('deny-privileged', () => {
    expect(short(decide([createAgent({hardening: {...HARDENED, privileged: true}})]))).toEqual(['deny deny-privileged agent.a']);
    expect(decide([createAgent({hardening: {...HARDENED, privileged: false}})])).toEqual([]);
    // an agent without hardening attributes at all (an old record) is not a runtime error
    expect(decide([createAgent({hardening: undefined})])).toEqual([]);
  });

  it('deny-host-namespaces', () => {
    for (const k of ['network_mode_host', 'pid_host', 'ipc_host'])
      expect(short(decide([createAgent({hardening: {...HARDENED, [k]: true}})]))).toEqual(['deny deny-host-namespaces agent.a']);
    expect(decide([createAgent({hardening: {...HARDENED, network_mode_host: false, pid_host: false, ipc_host: false}})])).toEqual([]);
  });

  it('deny-host-mounts', () => {
    const mount = (source: string) => createAgent({mounts: [{source, target: '/x', read_only: true}]});
    expect(short(decide([mount('/var/run/docker.sock')]))).toEqual(['deny deny-host-mounts agent.a']);
    expect(short(decide([mount('/dev/sda')]))).toEqual(['deny deny-host-mounts agent.a']);
    expect(short(decide([createAgent({hardening: {...HARDENED, devices: ['/dev/kvm']}})]))).toEqual(['deny deny-host-mounts agent.a']);
    expect(decide([mount('orx-w-memory')])).toEqual([]);
    expect(decide([createAgent({mounts: []})])).toEqual([]);
  });

  it('deny-root-user: uid 0 in every spelling, and allow_root is no way past it', () => {
    const denied = [
      {user: 'root'},
      {user: '0'},
      {user: '00'},
      {user: '+0'},
      {user: '0:0'},
      {user: '0:x'},
      {user: '000:1000'},
      {user: 'root:wheel'},
      {user: null, image_user: ''},
      {user: null, image_user: 'root'},
      {user: null, image_user: '0:0'},
      {user: null, image_user: '00'},
      {user: 'root', allow_root: {reason: 'legacy tool binds :80'}},
      {user: '0', uid: 1000, gid: 1000},
    ];
    for (const over of denied) expect(short(decide([createAgent(over)])), JSON.stringify(over)).toEqual(['deny deny-root-user agent.a']);
    const allowed = [
      {user: '1000'},
      {user: 'agent'},
      {user: '1000:0'},
      {user: '01000'},
      {user: null, image_user: null},
      {user: null, image_user: '1000'},
      {user: '4294967296'},
    ];
    for (const over of allowed) expect(decide([createAgent(over)]), JSON.stringify(over)).toEqual([]);
    const [d] = decide([createAgent({user: 'root', image_user: null})]);
    expect(d.message).toBe(
      'agent agent.a runs as uid 0 (user: root, image user: (none)); set a non-root user, or waive deny-root-user for it in orchestration.yml',
    );
  });

  it('approve-destroy', () => {
    expect(short(decide([step('network', 'delete', {address: 'network.n', before: {name: 'n'}})]))).toEqual([
      'require_approval approve-destroy network.n',
    ]);
    expect(short(decide([step('volume', 'replace', {address: 'volume.v', before: {name: 'v'}, after: {name: 'v'}})]))).toEqual([
      'require_approval approve-destroy volume.v',
    ]);
    expect(
      decide([step('volume', 'update', {address: 'volume.v', before: {name: 'v', backup: false}, after: {name: 'v', backup: true}})]),
    ).toEqual([]);
  });

  it('approve-egress: when an agent is given a route out, not again after', () => {
    expect(short(decide([createAgent({egress: true})]))).toEqual(['require_approval approve-egress agent.a']);
    expect(decide([createAgent({egress: false})])).toEqual([]);
    const update = step('agent', 'update', {
      address: 'agent.a',
      before: agentAttrs({egress: true}),
      after: agentAttrs({egress: true, cpus: 2}),
    });
    expect(decide([update])).toEqual([]);
    const moved = step('agent', 'replace', {address: 'agent.a', before: agentAttrs({egress: false}), after: agentAttrs({egress: true})});
    expect(short(decide([moved]))).toEqual(['require_approval approve-egress agent.a']);
  });

  it('quota-cpus, counting agents that stay and sparing plans that lower the total', () => {
    const agents = (cpus: number[]) => cpus.map((c, i) => createAgent({cpus: c}, `agent.a${i}`));
    expect(short(decide(agents([4, 4.5])))).toEqual(['deny quota-cpus (plan)']);
    expect(decide(agents([4, 4]))).toEqual([]);
    const staying = step('agent', 'noop', {address: 'agent.big', before: agentAttrs({cpus: 7}), after: agentAttrs({cpus: 7})});
    expect(short(decide([staying, createAgent({cpus: 2})]))).toEqual(['deny quota-cpus (plan)']);
    const shrink = step('agent', 'update', {address: 'agent.big', before: agentAttrs({cpus: 12}), after: agentAttrs({cpus: 10})});
    expect(decide([shrink])).toEqual([]);
    const [d] = decide(agents([4, 4.5]));
    expect(d).toEqual({
      rule: 'quota-cpus',
      file: 'orx:baseline.yaml',
      effect: 'deny',
      message: 'the plan would give agents 8.5 CPUs in total (now 0); the workspace quota is 8',
      step: null,
      address: null,
    });
  });

  it('quota-memory', () => {
    const gib = 1024 ** 3;
    expect(short(decide([createAgent({memory_bytes: 16 * gib + 1})]))).toEqual(['deny quota-memory (plan)']);
    expect(decide([createAgent({memory_bytes: 16 * gib})])).toEqual([]);
  });

  it('quota-agents', () => {
    const many = (k: number) => Array.from({length: k}, (_, i) => createAgent({cpus: 0.01, memory_bytes: 1 << 20}, `agent.a${i}`));
    expect(short(decide(many(101)))).toEqual(['deny quota-agents (plan)']);
    expect(decide(many(100))).toEqual([]);
  });

  it('rate-destroy counts the last hour and this plan', () => {
    const deletes = (k: number) =>
      Array.from({length: k}, (_, i) => step('volume', 'delete', {address: `volume.v${i}`, before: {name: `v${i}`}}));
    const recent = (destroyed: number): RecentActivity => {
      const r = emptyRecentActivity();
      r.hour.by_category.DESTROY = destroyed;
      r.day.by_category.DESTROY = destroyed * 3;
      return r;
    };
    const over = decide(deletes(3), {recent: recent(18)});
    expect(short(over)[0]).toBe('deny rate-destroy (plan)');
    expect(over[0].message).toBe('3 DESTROY steps in this plan and 18 in the last hour: more than the 20 per hour the baseline allows');
    expect(isDenied(over)).toBe(true);
    expect(short(decide(deletes(2), {recent: recent(18)})).filter((d) => d.includes('rate'))).toEqual([]);
    expect(short(decide(deletes(21))).filter((d) => d.includes('rate'))).toEqual(['deny rate-destroy (plan)']);
    // no DESTROY step in the plan: the rule does not even run
    expect(decide([createAgent()], {recent: recent(50)})).toEqual([]);
  });

  it('warn-unpinned-image', () => {
    const ref = (r: string) => step('image', 'create', {address: 'image.tools', after: {source: 'ref', ref: r, id: null}});
    expect(decide([ref('ghcr.io/example/tools:1.4')])).toEqual([
      {
        rule: 'warn-unpinned-image',
        file: 'orx:baseline.yaml',
        effect: 'warn',
        message: 'image image.tools (ghcr.io/example/tools:1.4) is not pinned by digest; add @sha256:<digest> to the ref',
        step: 's' + n,
        address: 'image.tools',
      },
    ]);
    expect(decide([ref(`ghcr.io/example/tools@sha256:${'a'.repeat(64)}`)])).toEqual([]);
  });

  it('noop steps are skipped by step rules', () => {
    const bad = agentAttrs({user: 'root', hardening: {...HARDENED, privileged: true}});
    expect(decide([step('agent', 'noop', {address: 'agent.old', before: bad, after: bad})])).toEqual([]);
  });

  it('a plan the planner makes: 1 network, 1 volume, 1 image, 3 agents', () => {
    const desired: DesiredResource[] = [
      {address: 'network.n', kind: 'network', name: 'n', depends_on: [], attributes: {name: 'orx-w-n', internal: true, labels: {}}},
      {address: 'volume.v', kind: 'volume', name: 'v', depends_on: [], attributes: {name: 'orx-w-v', labels: {}, backup: false}},
      {address: 'image.i', kind: 'image', name: 'i', depends_on: [], attributes: {source: 'ref', ref: 'alpine:3.20', id: null}},
      ...[0, 1, 2].map((k): DesiredResource => ({
        address: `agent.a${k}`,
        kind: 'agent',
        name: `a${k}`,
        depends_on: ['network.n', 'volume.v', 'image.i'],
        attributes: agentAttrs({name: `orx-w-a${k}`, cpus: 3, user: k === 2 ? 'root' : null}),
      })),
    ];
    const model = buildPlan({
      plan_id: 'p',
      mode: 'apply',
      desired,
      recorded: [],
      observation: null,
      knownStepKeys: new Set(),
      targets: [],
      replace: [],
    });
    const ds = decide(model.steps);
    expect(short(ds)).toEqual(['deny quota-cpus (plan)', 'warn warn-unpinned-image image.i', 'deny deny-root-user agent.a2']);
  });
});

describe('fail closed', () => {
  it('a rule that fails at run time is a deny naming the rule', () => {
    const set = policy(`rules:\n  - id: strict\n    when: step.after.nope == 1\n    effect: warn\n    message: m\n`);
    const ds = decide([createAgent()], {set});
    expect(ds).toEqual([
      {
        rule: 'strict',
        file: 'policies/t.yaml',
        effect: 'deny',
        message: 'rule strict failed to evaluate: No such key: nope',
        step: `s${n}`,
        address: 'agent.a',
      },
    ]);
    expect(isDenied(ds)).toBe(true);
  });

  it('a dyn result that is not a bool at run time is a deny', () => {
    const set = policy(`rules:\n  - id: dyn\n    when: step.after.user\n    effect: allow\n    message: m\n`);
    expect(decide([createAgent({user: 'root'})], {set})[0]).toMatchObject({
      effect: 'deny',
      message: 'rule dyn failed to evaluate: when gave a string, not true or false',
    });
    expect(decide([createAgent({user: null})], {set})[0]).toMatchObject({
      effect: 'deny',
      message: 'rule dyn failed to evaluate: when gave null, not true or false',
    });
  });

  it('a bad regular expression at run time is a deny', () => {
    const set = policy(`rules:\n  - id: rx\n    when: 'step.address.matches("(")'\n    effect: warn\n    message: m\n`);
    expect(decide([createAgent()], {set})[0]).toMatchObject({
      effect: 'deny',
      message: expect.stringMatching(/^rule rx failed to evaluate: Invalid regular expression/),
    });
  });

  it('a failing plan-scope rule denies the plan', () => {
    const set = policy(`rules:\n  - id: p\n    scope: plan\n    when: plan.totals.nope > 1\n    effect: warn\n    message: m\n`);
    const ds = decide([], {set});
    expect(ds).toEqual([
      {
        rule: 'p',
        file: 'policies/t.yaml',
        effect: 'deny',
        message: 'rule p failed to evaluate: No such key: nope',
        step: null,
        address: null,
      },
    ]);
  });
});

describe('precedence: deny > require_approval > warn > allow', () => {
  const d = (effect: PolicyDecision['effect'], step: string | null = 's1', message: string = effect): PolicyDecision => ({
    rule: `r-${effect}`,
    file: 'f',
    effect,
    message,
    step,
    address: step && `agent.${step}`,
  });

  // what apply acts on: reviewPlan, at autonomy 3 so only the rules speak
  const planned = (id: string): PlannedStep => plannedStep({id, address: `agent.${id}`});
  const review = (ds: PolicyDecision[], ids = ['s1', 's2', 's3', 's4', 's5']) => reviewPlan(ids.map(planned), ds, 3);

  it('per step', () => {
    const r = review([
      d('allow'),
      d('warn'),
      d('require_approval'),
      d('deny'),
      d('warn', 's2'),
      d('allow', 's2'),
      d('require_approval', 's3'),
      d('allow', 's3'),
      d('allow', 's4'),
    ]);
    const by = new Map(r.steps.map((s) => [s.step.id, s]));
    expect(by.get('s1')).toMatchObject({denied: ['rule r-deny: deny'], warnings: ['rule r-warn: warn']});
    expect(by.get('s2')).toMatchObject({denied: [], approval: [], warnings: ['rule r-warn: warn']});
    expect(by.get('s3')).toMatchObject({denied: [], approval: ['rule r-require_approval: require_approval'], warnings: []});
    expect(by.get('s4')).toMatchObject({denied: [], approval: [], warnings: []});
    expect(by.get('s5')).toMatchObject({denied: [], approval: [], warnings: [], notes: []});
    expect(r.denied).toBe(true);
    expect(review([d('require_approval', 's3'), d('allow', 's3')]).denied).toBe(false);
  });

  it('plan-scope decisions belong to the plan, not to a step', () => {
    const ds = [d('require_approval', null, 'big plan'), d('warn', 's1')];
    const r = review(ds);
    expect(r.steps.find((s) => s.step.id === 's1')!.approval).toEqual([]);
    expect(r).toMatchObject({denied: false, plan_denied: []});
    expect(isDenied(ds)).toBe(false);
    expect(review([...ds, d('deny', null, 'quota')])).toMatchObject({denied: true, plan_denied: ['rule r-deny: quota']});
    expect(isDenied([...ds, d('deny', null)])).toBe(true);
    expect(isDenied([d('deny', 's9')])).toBe(true);
  });

  it('all effects on one step, from rules', () => {
    const set = policy(
      ['deny', 'require_approval', 'warn', 'allow']
        .map((e) => `  - id: r-${e.replace('_', '-')}\n    when: "true"\n    effect: ${e}\n    message: ${e} {{step.address}}\n`)
        .join('')
        .replace(/^/, 'rules:\n'),
    );
    const ds = decide([createAgent()], {set});
    expect(ds.map((x) => x.effect)).toEqual(['deny', 'require_approval', 'warn', 'allow']);
    const r = reviewPlan([{...planned(ds[0].step!), address: 'agent.a'}], ds, 3);
    expect(r.steps[0]).toMatchObject({
      denied: ['rule r-deny: deny agent.a'],
      approval: ['rule r-require-approval: require_approval agent.a'],
      warnings: ['rule r-warn: warn agent.a'],
    });
    expect(r.denied).toBe(true);
  });
});

describe('scope and match', () => {
  const set = policy(`rules:
  - id: every-step
    when: "true"
    effect: warn
    message: "{{step.action}} {{step.address}}"
  - id: agents-created
    match: {kinds: [agent], actions: [create]}
    when: "true"
    effect: warn
    message: "agent {{resource.name}}"
  - id: destroys
    match: {categories: [DESTROY]}
    when: "true"
    effect: warn
    message: "destroy {{step.address}}"
  - id: once
    scope: plan
    when: plan.summary.create >= 1
    effect: require_approval
    message: "{{plan.summary.create}} to create in {{workspace.name}} at autonomy {{autonomy}}"
  - id: once-if-deletes
    scope: plan
    match: {actions: [delete]}
    when: "true"
    effect: warn
    message: deletes
`);

  it('step rules run once per matching non-noop step; plan rules once', () => {
    const steps = [
      createAgent({name: 'orx-w-one'}, 'agent.one'),
      step('network', 'delete', {address: 'network.gone', before: {name: 'g'}}),
      step('volume', 'noop', {address: 'volume.same', before: {}, after: {}}),
    ];
    const ds = decide(steps, {set});
    expect(ds.map((d) => `${d.rule}: ${d.message}`)).toEqual([
      'once: 1 to create in w at autonomy 1',
      'once-if-deletes: deletes',
      'every-step: create agent.one',
      'agents-created: agent orx-w-one',
      'every-step: delete network.gone',
      'destroys: destroy network.gone',
    ]);
    expect(ds[0]).toMatchObject({step: null, address: null});
    expect(ds[2]).toMatchObject({step: steps[0].id, address: 'agent.one'});
  });

  it('a plan rule with match does not run when no step matches', () => {
    expect(decide([createAgent()], {set}).map((d) => d.rule)).toEqual(['once', 'every-step', 'agents-created']);
  });

  it('evaluateAll gives every rule for every step: true, false, error or not_matched', () => {
    const s2 = policy(`rules:
  - id: is-root
    match: {kinds: [agent]}
    when: step.after.user == "root"
    effect: deny
    message: root {{step.address}}
  - id: broken
    when: step.after.nope
    effect: warn
    message: m
  - id: quota
    scope: plan
    when: plan.totals.agents > 1
    effect: deny
    message: too many
`);
    const steps = [
      createAgent({user: 'root'}, 'agent.r'),
      createAgent({}, 'agent.ok'),
      step('network', 'create', {address: 'network.n', after: {name: 'n'}}),
      step('volume', 'noop', {address: 'volume.v', before: {}, after: {}}),
    ];
    const input = buildPolicyInput({plan: {kind: 'apply', steps}, workspace: 'w', autonomy: 2, now: NOW});
    const rows = evaluateAll(s2, input);
    expect(rows.map((r) => `${r.rule} ${r.address ?? '(plan)'} ${r.result}${r.message ? `: ${r.message}` : ''}`)).toEqual([
      'is-root agent.r true: root agent.r',
      'is-root agent.ok false',
      'is-root network.n not_matched',
      'broken agent.r error: rule broken failed to evaluate: No such key: nope',
      'broken agent.ok error: rule broken failed to evaluate: No such key: nope',
      'broken network.n error: rule broken failed to evaluate: No such key: nope',
      'quota (plan) true: too many',
    ]);
    expect(rows[0]).toMatchObject({file: 'policies/t.yaml', effect: 'deny', scope: 'step', step: steps[0].id});
  });
});

describe('the context', () => {
  it('always has every documented key, zeros when empty', () => {
    const input = buildPolicyInput({plan: {kind: 'destroy', steps: []}, workspace: 'lab', autonomy: 2, now: NOW});
    const zeroes = {cpus: 0, memory_bytes: 0n, agents: 0n};
    expect(input.plan).toEqual({
      kind: 'destroy',
      summary: {create: 0n, update: 0n, replace: 0n, delete: 0n},
      counts: {READ: 0n, WRITE: 0n, DEPLOY: 0n, DESTROY: 0n, ROLLBACK: 0n},
      totals: zeroes,
      totals_before: zeroes,
      steps: [],
    });
    expect(input.workspace).toEqual({name: 'lab'});
    expect(input.autonomy).toBe(2n);
    expect(input.now).toBe(NOW);
    const window = {
      applies: 0n,
      steps: 0n,
      by_kind: {agent: 0n, network: 0n, volume: 0n, image: 0n},
      by_category: {READ: 0n, WRITE: 0n, DEPLOY: 0n, DESTROY: 0n, ROLLBACK: 0n},
    };
    expect(input.recent).toEqual({hour: window, day: window});
  });

  it('counts non-noop steps; totals cover the state after the apply, noops included', () => {
    const steps = [
      step('agent', 'noop', {before: agentAttrs({cpus: 2}), after: agentAttrs({cpus: 2})}),
      createAgent({cpus: 0.5, memory_bytes: 100}),
      step('agent', 'delete', {before: agentAttrs({cpus: 4, memory_bytes: 7})}),
      step('volume', 'replace', {before: {}, after: {}}),
    ];
    const {plan} = buildPolicyInput({plan: {kind: 'apply', steps}, workspace: 'w', autonomy: 1, now: NOW});
    expect(plan.summary).toEqual({create: 1n, update: 0n, replace: 1n, delete: 1n});
    expect(plan.counts).toEqual({READ: 0n, WRITE: 0n, DEPLOY: 1n, DESTROY: 2n, ROLLBACK: 0n});
    expect(plan.totals).toEqual({cpus: 2.5, memory_bytes: BigInt((1 << 30) + 100), agents: 2n});
    expect(plan.totals_before).toEqual({cpus: 6, memory_bytes: BigInt((1 << 30) + 7), agents: 2n});
    expect((plan.steps as unknown[]).length).toBe(4);
  });

  it('numbers: ints compare and add as ints, cpus are always doubles, fractions are doubles', () => {
    const set = policy(`rules:
  - {id: int-add, when: "recent.hour.by_category.DESTROY + plan.counts.DESTROY > 20", effect: warn, message: "int-add"}
  - {id: int-literal, match: {kinds: [agent]}, when: "step.after.memory_bytes / 2 == 536870912 && step.after.pids_limit > 255", effect: warn, message: "int-literal"}
  - {id: cpus-double, match: {kinds: [agent]}, when: "step.after.cpus * 2.0 == 4.0 && plan.totals.cpus + 1.0 > 2.5", effect: warn, message: "cpus-double"}
  - {id: mixed-compare, when: "plan.totals.cpus > 1 && plan.totals.cpus < 3 && plan.totals.agents == 1 && plan.totals.agents == 1.0", effect: warn, message: "mixed-compare"}
  - {id: fraction, match: {kinds: [agent]}, when: "step.after.ratio + 0.25 == 1.0", effect: warn, message: "fraction"}
  - {id: autonomy-now, when: 'autonomy < 2 && now > timestamp("2024-01-01T00:00:00Z") && now.getFullYear() == 2024', effect: warn, message: "autonomy-now"}
`);
    const recent = emptyRecentActivity();
    recent.hour.by_category.DESTROY = 20;
    const steps = [createAgent({cpus: 2, ratio: 0.75}), step('volume', 'delete', {before: {}})];
    const ds = decide(steps, {set, recent});
    const fired = new Set(ds.map((d) => d.rule));
    expect([...fired].sort()).toEqual(['autonomy-now', 'cpus-double', 'fraction', 'int-add', 'int-literal', 'mixed-compare']);
    expect(ds.filter((d) => d.effect === 'deny')).toEqual([]);
  });

  it('plan extras (test fixtures) are merged map by map', () => {
    const {plan} = buildPolicyInput({
      plan: {kind: 'apply', steps: [createAgent({cpus: 1})]},
      planExtras: {totals: {agents: 101}, note: 'x'},
      workspace: 'w',
      autonomy: 1,
      now: NOW,
    });
    expect(plan.totals).toEqual({cpus: 1, memory_bytes: BigInt(1 << 30), agents: 101n});
    expect(plan.note).toBe('x');
  });

  it('messages: placeholders for strings, numbers, lists, missing values; hostile values are cut', () => {
    const set = policy(`rules:
  - id: m
    when: "true"
    effect: warn
    message: "{{step.address}} cpus={{step.after.cpus}} mem={{step.after.memory_bytes}} nets={{step.after.networks}} first={{step.after.mounts[0].source}} missing={{step.after.nope}} null={{step.after.allow_root}} kind={{plan.kind}} {{ workspace.name }}"
`);
    const [d] = decide([createAgent({cpus: 1.5})], {set});
    expect(d.message).toBe(
      'agent.a cpus=1.5 mem=1073741824 nets=["orx-w-backplane"] first=orx-w-memory missing=(none) null=(none) kind=apply w',
    );
    const [h] = decide([createAgent({networks: ['\u001b[31mred' + 'x'.repeat(300)]}, 'agent.h')], {set});
    expect(h.message).not.toContain('\u001b');
    expect(h.message).toMatch(/nets=\["\\u001b\[31mredx+… \(\d+ chars\) first=/);
    const [c] = decide([createAgent({}, 'agent.\u0007bell')], {set});
    expect(c.message.startsWith('agent.?bell ')).toBe(true);
  });
});
