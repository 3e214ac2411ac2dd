// Loading policies: the shipped baseline, the file set, and every way a rule can be broken,
// each reported as policy_invalid with the exact file:line:col.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {Ajv} from 'ajv';
import {afterEach, describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {compilePolicies, loadPolicies, policyFiles, policySchemaPath} from '../../src/policy/load.js';
import {builtinRuleIds} from '../../src/config/builtin-policy.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

function workspace(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-policy-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), {recursive: true});
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** The error a set of policy texts gives; fails the test when they load. */
function failure(files: Record<string, string>): OrxError {
  try {
    compilePolicies(Object.entries(files).map(([file, text]) => ({file, text})));
  } catch (err) {
    expect(err).toBeInstanceOf(OrxError);
    expect((err as OrxError).code).toBe('policy_invalid');
    return err as OrxError;
  }
  throw new Error('expected policy_invalid');
}

const lines = (err: OrxError) => err.message.split('\n');
const rule = (id: string, when: string, extra = '') =>
  `rules:\n  - id: ${id}\n    when: ${when}\n    effect: deny\n    message: m\n${extra}`;

describe('loadPolicies', () => {
  const BASELINE = [
    'deny-privileged',
    'deny-host-namespaces',
    'deny-host-mounts',
    'deny-root-user',
    'approve-destroy',
    'approve-egress',
    'approve-egress-any',
    'approve-egress-private',
    'quota-cpus',
    'quota-memory',
    'quota-agents',
    'rate-destroy',
    'warn-unpinned-image',
  ];

  it("loads the built-in baseline first, then the example workspace's own rules", () => {
    const set = loadPolicies(root);
    expect(set.files).toEqual(['orx:baseline.yaml', 'policies/example.yaml']);
    expect(set.rules.map((r) => r.id)).toEqual([...BASELINE, 'approve-large-agent']);
    expect([...builtinRuleIds()]).toEqual(BASELINE);
    const privileged = set.rules[0];
    expect(privileged).toMatchObject({file: 'orx:baseline.yaml', scope: 'step', effect: 'deny'});
    expect([...privileged.match.kinds!]).toEqual(['agent']);
    expect(privileged.match.categories).toBeNull();
    expect(set.rules.find((r) => r.id === 'quota-cpus')!.scope).toBe('plan');
  });

  it('the baseline and its tests validate against the published schema', () => {
    const schema = JSON.parse(fs.readFileSync(policySchemaPath(), 'utf8'));
    expect(policySchemaPath()).toBe(path.join(root, 'schemas/policy.schema.json'));
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const validate = new Ajv({strict: true, allowUnionTypes: true}).compile(schema);
    expect(validate({rules: []})).toBe(true);
    expect(validate({rules: [{id: 'x', when: 'true', effect: 'deny', message: 'm', extra: 1}]})).toBe(false);
  });

  it('a workspace without policies/ gets the whole baseline', () => {
    const dir = workspace({'orchestration.yml': 'workspace: w\n'});
    const set = loadPolicies(dir);
    expect(set.files).toEqual(['orx:baseline.yaml']);
    expect(set.rules.map((r) => r.id)).toEqual(BASELINE);
    expect(policyFiles(dir)).toEqual([]);
  });

  it("a workspace rule cannot take a built-in rule's id (an old copy of the baseline says so)", () => {
    const dir = workspace({'policies/baseline.yaml': rule('deny-privileged', '"false"')});
    expect(() => loadPolicies(dir)).toThrow(
      /policies\/baseline\.yaml:2:9: rule deny-privileged is built into orx and always applies: it cannot be redefined here/,
    );
  });

  it('reads *.yaml and *.yml directly in policies/, sorted, skipping hidden files and tests', () => {
    const ok = rule('r', '"true"');
    const dir = workspace({
      'policies/b.yml': ok.replace('id: r', 'id: b'),
      'policies/a.yaml': ok.replace('id: r', 'id: a'),
      'policies/.#a.yaml': 'not: [yaml',
      'policies/notes.md': '# not a policy',
      'policies/tests/a_test.yaml': 'cases: []\n',
    });
    expect(policyFiles(dir).map((f) => path.relative(dir, f))).toEqual(['policies/a.yaml', 'policies/b.yml']);
    const set = loadPolicies(dir);
    expect(set.files).toEqual(['orx:baseline.yaml', 'policies/a.yaml', 'policies/b.yml']);
    expect(set.rules.filter((r) => !r.file.startsWith('orx:')).map((r) => `${r.file} ${r.id}`)).toEqual([
      'policies/a.yaml a',
      'policies/b.yml b',
    ]);
  });

  it('refuses a relative workspace directory (nothing here reads the process directory)', () => {
    expect(() => loadPolicies('relative/dir')).toThrow(/must be absolute/);
  });

  it('reports a policies file where the directory should be', () => {
    const dir = workspace({policies: 'oops'});
    expect(() => loadPolicies(dir)).toThrow(/policies is not a directory/);
  });

  it('reports problems through loadPolicies with the workspace-relative file name', () => {
    const dir = workspace({'policies/bad.yaml': rule('broken', 'step.after.x ==== 1')});
    expect(() => loadPolicies(dir)).toThrow('policies/bad.yaml:3:26: rule broken: Unexpected token: EQ');
  });
});

describe('CEL compile errors point into the expression', () => {
  it('a syntax error: line and column of the offending token', () => {
    const err = failure({'policies/x.yaml': rule('broken', 'step.after.x ==== 1')});
    // "    when: " is 10 columns; the second "==" is 15 characters into the expression
    expect(lines(err)).toEqual(['policies/x.yaml:3:26: rule broken: Unexpected token: EQ']);
    expect(err.diagnostics[0]).toMatchObject({file: 'policies/x.yaml', line: 3, col: 26, path: 'rules[0].when'});
    expect(err.actions[0]).toMatch(/orx policy test/);
  });

  it('an unknown variable, with did-you-mean, inside a single-quoted string', () => {
    const err = failure({'policies/x.yaml': rule('unk', "'true && stpe.after.x == 1'")});
    expect(lines(err)).toEqual([
      'policies/x.yaml:3:20: rule unk: unknown variable "stpe" (did you mean "step"?); a step-scope rule can read plan, step, resource, workspace, autonomy, now, recent',
    ]);
  });

  it('positions survive escapes in double-quoted strings', () => {
    const err = failure({'policies/x.yaml': rule('dq', '"step.address == \\"a\\" && foo"')});
    expect(lines(err)[0]).toMatch(/^policies\/x\.yaml:3:37: rule dq: unknown variable "foo"/);
  });

  it('a result that is not a bool points at the start of the expression', () => {
    const err = failure({'policies/x.yaml': rule('nb', 'size(step.changes)')});
    expect(lines(err)).toEqual(['policies/x.yaml:3:11: rule nb: when must give true or false, but this expression gives an int (int)']);
    const str = failure({'policies/x.yaml': rule('s', '\'"yes"\'')});
    // inside quotes, the expression starts one column after the quote
    expect(lines(str)[0]).toMatch(/^policies\/x\.yaml:3:12: rule s: when must give true or false, but this expression gives a string/);
  });

  it('block scalars: the line inside the block, and "unexpected end" just past the last character', () => {
    const folded = `rules:\n  - id: fold\n    when: >-\n      has(step.after) &&\n      stepx.after.y\n    effect: deny\n    message: m\n`;
    expect(lines(failure({'policies/x.yaml': folded}))[0]).toMatch(/^policies\/x\.yaml:5:7: rule fold: unknown variable "stepx"/);
    const literal = `rules:\n  - id: blk\n    when: |\n      has(step.after) &&\n        step.after.x +\n    effect: deny\n    message: m\n`;
    expect(lines(failure({'policies/x.yaml': literal}))).toEqual(['policies/x.yaml:5:23: rule blk: Unexpected token: EOF']);
  });

  it('a type error in an operator', () => {
    const err = failure({'policies/x.yaml': rule('te', '\'autonomy + "a" == 2\'')});
    expect(lines(err)).toEqual(['policies/x.yaml:3:12: rule te: no such overload: int + string']);
  });

  it('plan-scope rules cannot read step or resource', () => {
    const text = `rules:\n  - id: pl\n    scope: plan\n    when: resource.x == 1\n    effect: deny\n    message: m\n`;
    expect(lines(failure({'policies/x.yaml': text}))).toEqual([
      'policies/x.yaml:4:11: rule pl: "resource" is not available in a plan-scope rule (it runs once per plan); use plan.steps, or make the rule scope: step',
    ]);
  });

  it('message placeholders must name a variable the rule can read', () => {
    const text = `rules:\n  - id: ph\n    scope: plan\n    when: "true"\n    effect: deny\n    message: "{{stp.address}} in {{plan.kind}} {{ bad path! }}"\n`;
    expect(lines(failure({'policies/x.yaml': text}))).toEqual([
      'policies/x.yaml:6:15: rule ph: message placeholder {{stp.address}} names "stp", which this rule cannot read (it can read plan, workspace, autonomy, now, recent)',
      'policies/x.yaml:6:48: rule ph: message placeholder {{bad path!}} must be a path such as {{step.address}} or {{step.after.mounts[0].source}}',
    ]);
  });
});

describe('schema errors', () => {
  it('an unknown key, with did-you-mean, and the key it left missing', () => {
    const text = `rules:\n  - id: sch\n    efect: deny\n    when: "true"\n    message: m\n`;
    expect(lines(failure({'policies/x.yaml': text}))).toEqual([
      'policies/x.yaml:2:5: rule sch: missing required key "effect" in rules[0]',
      'policies/x.yaml:3:5: rule sch: unknown key "efect" in rules[0] (did you mean "effect"?)',
    ]);
  });

  it('a bad effect, kind and action', () => {
    const text = `rules:\n  - id: sch2\n    when: "true"\n    effect: block\n    message: m\n    match: {kinds: [agnet], actions: [noop]}\n`;
    expect(lines(failure({'policies/x.yaml': text}))).toEqual([
      'policies/x.yaml:4:13: rule sch2: rules[0].effect must be deny, require_approval, warn or allow (got "block")',
      'policies/x.yaml:6:21: rule sch2: rules[0].match.kinds[0] must be agent, network, volume, image, cluster or manifests (got "agnet") (did you mean "agent"?)',
      'policies/x.yaml:6:39: rule sch2: rules[0].match.actions[0] must be create, update, replace or delete (got "noop")',
    ]);
  });

  it('a bad rule id, an unknown top-level key, and every problem of every file at once', () => {
    const err = failure({
      'policies/a.yaml': `rulez: []\n`,
      'policies/b.yaml': `rules:\n  - id: Bad_Id\n    when: "1"\n    effect: deny\n    message: m\n`,
    });
    expect(lines(err)).toEqual([
      'policies/a.yaml:1:1: missing required key "rules" at the top level',
      'policies/a.yaml:1:1: unknown key "rulez" at the top level (did you mean "rules"?)',
      'policies/b.yaml:2:9: rules[0].id is not a valid name: use 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit (got "Bad_Id")',
      'policies/b.yaml:3:12: rule #1: when must give true or false, but this expression gives an int (int)',
    ]);
    expect(err.data).toEqual({error_count: 4});
  });

  it('YAML syntax errors, empty files and non-mappings', () => {
    expect(lines(failure({'policies/x.yaml': 'rules: [\n'}))[0]).toMatch(/^policies\/x\.yaml:2:1: YAML syntax error/);
    expect(lines(failure({'policies/x.yaml': ''}))).toEqual([
      'policies/x.yaml:1:1: policies/x.yaml is empty; a policy file needs a "rules:" list',
    ]);
    expect(lines(failure({'policies/x.yaml': '- a\n'}))).toEqual([
      'policies/x.yaml:1:1: policies/x.yaml must be a mapping with a "rules:" list (got a list)',
    ]);
    expect(lines(failure({'policies/x.yaml': 'rules: []\n---\nrules: []\n'}))[0]).toMatch(
      /policies\/x\.yaml must hold a single YAML document/,
    );
  });
});

describe('duplicate rule ids', () => {
  it('within a file', () => {
    const text = `${rule('a', '"true"')}  - id: a\n    when: "false"\n    effect: warn\n    message: m\n`;
    expect(lines(failure({'policies/x.yaml': text}))).toEqual([
      'policies/x.yaml:6:9: rule a: duplicate rule id (first defined at policies/x.yaml:2:9); ids must be unique across every policy file',
    ]);
  });

  it('across files, reported where the second one is', () => {
    const err = failure({'policies/a.yaml': rule('same', '"true"'), 'policies/b.yaml': rule('same', '"false"')});
    expect(lines(err)).toEqual([
      'policies/b.yaml:2:9: rule same: duplicate rule id (first defined at policies/a.yaml:2:9); ids must be unique across every policy file',
    ]);
  });
});
