// `orx policy test`: the shipped baseline passes its own cases, which cover every rule with
// allowing and denying fixtures; failures, unknown rules and broken test files are reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parse} from 'yaml';
import {afterEach, describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {loadPolicies} from '../../src/policy/load.js';
import {runPolicyTests} from '../../src/policy/testing.js';
import {renderPolicyTestTable} from '../../src/ui/policy-view.js';
import {builtinTestPath, isBuiltinRule} from '../../src/config/builtin-policy.js';
import type {PolicyRule} from '../../src/policy/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

/** A workspace holding the given files (the baseline is built in). */
function workspace(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-policy-test-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'policies/tests'), {recursive: true});
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), {recursive: true});
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

interface FixtureCase {
  name: string;
  steps?: Array<{kind: string; action: 'create' | 'update' | 'replace' | 'delete' | 'noop'}>;
  plan?: Record<string, unknown>;
  expect: Array<{rule: string}>;
}

describe('the built-in baseline tests', () => {
  const report = runPolicyTests(root);

  it('all pass, run in every workspace before its own', () => {
    expect(report.files).toEqual(['orx:baseline_test.yaml', 'policies/tests/example_test.yaml']);
    expect(report.cases.filter((c) => !c.passed)).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.passed).toBe(report.cases.length);
    expect(report.cases.length).toBeGreaterThanOrEqual(40);
  });

  it('cover every baseline rule with at least two denying (or flagging) and two allowing cases', () => {
    const cases = (parse(fs.readFileSync(builtinTestPath(), 'utf8')) as {cases: FixtureCase[]}).cases;
    // a case "allows" for a rule when it plans something of the rule's kinds and the rule stays
    // silent (for approve-destroy, whose `when` is always true, that is a plan with no DESTROY step)
    const looksAt = (rule: PolicyRule, c: FixtureCase) =>
      (c.steps ?? []).some((s) => s.action !== 'noop' && (rule.match.kinds === null || rule.match.kinds.has(s.kind)));
    for (const rule of loadPolicies(root).rules.filter(isBuiltinRule)) {
      const flagging = cases.filter((c) => c.expect.some((e) => e.rule === rule.id));
      const allowing = cases.filter((c) => !c.expect.some((e) => e.rule === rule.id) && looksAt(rule, c));
      expect(flagging.length, `${rule.id}: cases that expect it`).toBeGreaterThanOrEqual(2);
      expect(allowing.length, `${rule.id}: cases where it looks and stays silent`).toBeGreaterThanOrEqual(2);
    }
  });

  it('renders a pass table', () => {
    const table = renderPolicyTestTable(report);
    const rows = table.split('\n');
    expect(rows[0]).toMatch(/^NAME\s+RESULT\s+DETAILS$/);
    expect(rows[1]).toMatch(/^orx:baseline_test\.yaml: a hardened agent orx creates passes every rule\s+PASS$/);
    expect(table).toMatch(new RegExp(`\\n${report.cases.length} passed, 0 failed \\(${report.cases.length} cases in 2 files\\)\\n$`));
  });
});

describe('runPolicyTests', () => {
  const privileged = `{kind: agent, action: create, address: agent.x, after: {user: "1000", mounts: [], hardening: {privileged: true}}}`;

  it('reports a failing case: missing and unexpected decisions, in the table too', () => {
    const dir = workspace({
      'policies/tests/mine_test.yaml': `cases:
  - name: expects the wrong thing
    steps:
      - ${privileged}
    expect:
      - {rule: deny-root-user, effect: deny, address: agent.x}
  - name: right
    steps:
      - ${privileged}
    expect:
      - {rule: deny-privileged, effect: deny}
  - name: wrong message
    steps:
      - ${privileged}
    expect:
      - {rule: deny-privileged, effect: deny, message: "is fine"}
`,
    });
    const report = runPolicyTests(dir, 'policies/tests');
    expect(report.passed).toBe(1);
    expect(report.failed).toBe(2);
    const [wrong, right, msg] = report.cases;
    expect(wrong).toMatchObject({
      file: 'policies/tests/mine_test.yaml',
      name: 'expects the wrong thing',
      passed: false,
      missing: [{rule: 'deny-root-user', effect: 'deny', address: 'agent.x'}],
      unexpected: [{rule: 'deny-privileged', effect: 'deny', address: 'agent.x'}],
    });
    expect(right.passed).toBe(true);
    expect(msg.passed).toBe(false);
    const table = renderPolicyTestTable(report);
    expect(table).toContain(
      'expects the wrong thing  FAIL    missing: deny deny-root-user agent.x; unexpected: deny deny-privileged agent.x ("agent agent.x runs privileged;',
    );
    expect(table).toMatch(/\n1 passed, 2 failed \(3 cases in 1 file\)\n$/);
  });

  it('an expected rule that does not exist fails the case, with did-you-mean', () => {
    const dir = workspace({
      'policies/tests/t_test.yaml': `cases:\n  - name: typo\n    steps: [${privileged}]\n    expect: [{rule: deny-privilegd, effect: deny}]\n`,
    });
    const [c] = runPolicyTests(dir, 'policies/tests').cases;
    expect(c.passed).toBe(false);
    expect(c.error).toBe('no rule "deny-privilegd" built in or in policies/ (did you mean "deny-privileged"?)');
  });

  it('order does not matter, and address: null means a plan-scope decision', () => {
    const dir = workspace({
      'policies/tests/t_test.yaml': `cases:
  - name: two cpus-heavy agents, one root
    steps:
      - {kind: agent, action: create, address: agent.a, after: {user: root, cpus: 5.0, memory_bytes: 1, mounts: []}}
      - {kind: agent, action: create, address: agent.b, after: {user: "1", cpus: 5.0, memory_bytes: 1, mounts: []}}
    expect:
      - {rule: deny-root-user, effect: deny, address: agent.a}
      - {rule: quota-cpus, effect: deny, address: null}
  - name: plan-scope expected on a step
    steps:
      - {kind: agent, action: create, address: agent.a, after: {user: "1", cpus: 9.0, memory_bytes: 1, mounts: []}}
    expect:
      - {rule: quota-cpus, effect: deny, address: agent.a}
`,
    });
    const report = runPolicyTests(dir, 'policies/tests');
    expect(report.cases.map((c) => c.passed)).toEqual([true, false]);
  });

  it('takes a test directory or a single file relative to the workspace', () => {
    const dir = workspace({
      'more/a_test.yaml': `cases:\n  - name: empty plan\n    expect: []\n`,
      'more/b_test.yml': `cases:\n  - name: empty too\n    steps: []\n    expect: []\n`,
      'more/ignored.yaml': `not: a test\n`,
    });
    const report = runPolicyTests(dir, 'more');
    expect(report.files).toEqual(['more/a_test.yaml', 'more/b_test.yml']);
    expect(report.cases.map((c) => c.name)).toEqual(['empty plan', 'empty too']);
    expect(renderPolicyTestTable(report)).toContain('a_test.yaml: empty plan');
    expect(runPolicyTests(dir, path.join(dir, 'more/b_test.yml')).cases).toHaveLength(1);
    expect(() => runPolicyTests(dir, 'nowhere')).toThrow(/no policy tests at nowhere/);
    // no tests of its own in the default place: the built-in baseline's cases still run
    const builtinOnly = runPolicyTests(workspace({}));
    expect(builtinOnly.files).toEqual(['orx:baseline_test.yaml']);
    expect(builtinOnly.failed).toBe(0);
    expect(builtinOnly.passed).toBeGreaterThanOrEqual(40);
  });

  it('a broken test file is an error with file:line:col', () => {
    const dir = workspace({
      'policies/tests/bad_test.yaml': `cases:\n  - name: x\n    step: []\n    expect: [{rule: a, effect: block}]\n`,
    });
    let err: OrxError | undefined;
    try {
      runPolicyTests(dir);
    } catch (e) {
      err = e as OrxError;
    }
    expect(err).toBeInstanceOf(OrxError);
    expect(err!.code).toBe('policy_test_invalid');
    expect(err!.message.split('\n')).toEqual([
      'policies/tests/bad_test.yaml:3:5: unknown key "step" in cases[0] (did you mean "steps"?)',
      'policies/tests/bad_test.yaml:4:32: cases[0].expect[0].effect must be deny, require_approval, warn or allow (got "block")',
    ]);
  });

  it('a broken policy stops the run with policy_invalid', () => {
    const dir = workspace({'policies/extra.yaml': `rules:\n  - id: x\n    when: nope\n    effect: deny\n    message: m\n`});
    expect(() => runPolicyTests(dir)).toThrow(/policies\/extra\.yaml:3:11: rule x: unknown variable "nope"/);
  });

  it('fixtures: defaults for category, before and after; autonomy, recent and now', () => {
    const dir = workspace({
      'policies/ctx.yaml': `rules:
  - id: ctx
    scope: plan
    when: autonomy == 3 && recent.day.applies == 4 && recent.hour.applies == 0 && now.getFullYear() == 2030 && workspace.name == "lab" && plan.kind == "destroy"
    effect: warn
    message: ok
  - id: cat
    when: "true"
    effect: warn
    message: "{{step.category}} {{step.before}} {{step.after}}"
`,
      'policies/tests/ctx_test.yaml': `cases:
  - name: context
    autonomy: 3
    recent: {day: {applies: 4}}
    now: "2030-06-01T00:00:00Z"
    workspace: lab
    plan: {kind: destroy}
    steps:
      - {kind: volume, action: delete, address: volume.v}
      - {kind: agent, action: create, address: agent.a}
      - {kind: network, action: update, address: network.n}
    expect:
      - {rule: ctx, effect: warn, address: null}
      - {rule: cat, effect: warn, address: volume.v, message: "DESTROY {} (none)"}
      - {rule: cat, effect: warn, address: agent.a, message: 'DEPLOY (none) {"uid":null,"gid":null}'}
      - {rule: cat, effect: warn, address: network.n, message: "WRITE {} {}"}
      - {rule: approve-destroy, effect: require_approval, address: volume.v}
`,
    });
    const report = runPolicyTests(dir, 'policies/tests');
    expect(report.cases[0]).toMatchObject({passed: true, unexpected: [], missing: []});
  });
});
