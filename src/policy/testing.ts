// `orx policy test`: test cases for the workspace's policies, like `opa test` or `conftest
// verify`. A case is a plan fixture (steps, optional plan extras, autonomy, recent activity)
// and exactly the decisions the policies must give for it.
//
//   cases:
//     - name: privileged agent is denied
//       plan: {kind: apply}            # optional, merged into the `plan` variable
//       autonomy: 1                    # optional (default 1)
//       recent: {hour: {by_category: {DESTROY: 3}}}   # optional, over zeros
//       now: "2024-01-01T00:00:00Z"    # optional (this default keeps results reproducible)
//       steps:                         # kind and action required; category defaults from them
//         - {kind: agent, action: create, address: agent.x, after: {...}}
//       expect:                        # exactly these, in any order; address/message optional
//         - {rule: deny-privileged, effect: deny, address: agent.x}
import {readdirSync, statSync} from 'node:fs';
import {isAbsolute, join, relative, resolve, sep} from 'node:path';
import {Ajv, type ValidateFunction} from 'ajv';
import type {LineCounter} from 'yaml';
import {AJV_OPTIONS} from '../config/schema.js';
import {schemaProblems} from '../config/schema-errors.js';
import {formatPath} from '../config/paths.js';
import {suggestion} from '../config/suggest.js';
import {locate, parseYaml} from '../config/yaml-source.js';
import type {Source} from '../config/problem.js';
import {OrxError, formatDiagnostic, preview, type Diagnostic} from '../errors.js';
import {buildPolicyInput, deepMerge, emptyRecentActivity} from './context.js';
import {evaluatePolicies} from './evaluate.js';
import {loadPolicies, MAX_POLICY_BYTES, POLICY_DIR} from './load.js';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import {leastCategory} from './category.js';
import {BUILTIN_POLICY_FILE, BUILTIN_TEST_FILE, builtinTestPath, isBuiltinRule} from '../config/builtin-policy.js';
import type {PolicyDecision, PolicyEffect, PolicyPlanStep, PolicySet, SafetyCategory, StepAction} from './types.js';

export const POLICY_TEST_DIR = `${POLICY_DIR}/tests`;
export const DEFAULT_TEST_NOW = '2024-01-01T00:00:00Z';
export const DEFAULT_TEST_AUTONOMY = 1;

export interface ExpectedDecision {
  rule: string;
  effect: PolicyEffect;
  /** absent: any address; null: a plan-scope decision */
  address?: string | null;
  /** a substring the decision's message must contain */
  message?: string;
}

export interface ActualDecision {
  rule: string;
  effect: PolicyEffect;
  address: string | null;
  message: string;
}

export interface PolicyTestCaseResult {
  file: string;
  name: string;
  passed: boolean;
  expected: ExpectedDecision[];
  actual: ActualDecision[];
  /** expected decisions no actual one matched */
  missing: ExpectedDecision[];
  /** actual decisions no expectation matched */
  unexpected: ActualDecision[];
  error?: string;
}

export interface PolicyTestReport {
  cases: PolicyTestCaseResult[];
  passed: number;
  failed: number;
  /** the test files run, as named in results */
  files: string[];
}

interface RawStep {
  id?: string;
  kind: string;
  action: StepAction;
  address?: string;
  category?: SafetyCategory;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  changes?: PolicyPlanStep['changes'];
  reasons?: string[];
  depends_on?: string[];
}

interface RawCase {
  name: string;
  description?: string;
  plan?: Record<string, unknown>;
  autonomy?: number;
  workspace?: string;
  now?: string;
  recent?: Record<string, unknown>;
  steps?: RawStep[];
  expect: ExpectedDecision[];
}

const KINDS = ['agent', 'network', 'volume', 'image', 'cluster', 'manifests'];
const CATEGORIES = ['READ', 'WRITE', 'DEPLOY', 'DESTROY', 'ROLLBACK'];
const OBJECT_OR_NULL = {type: ['object', 'null']};

/** The shape of a *_test.yaml file; kept here because only `orx policy test` reads these files. */
export const POLICY_TEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['cases'],
  properties: {
    cases: {
      type: 'array',
      maxItems: 10000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'expect'],
        properties: {
          name: {type: 'string', minLength: 1, maxLength: 200},
          description: {type: 'string'},
          plan: {type: 'object'},
          autonomy: {type: 'integer', minimum: 0, maximum: 3},
          workspace: {type: 'string', minLength: 1, maxLength: 63},
          now: {type: 'string', minLength: 1, maxLength: 64},
          recent: {type: 'object'},
          steps: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['kind', 'action'],
              properties: {
                id: {type: 'string', minLength: 1},
                kind: {type: 'string', enum: KINDS},
                action: {type: 'string', enum: ['create', 'update', 'replace', 'delete', 'noop']},
                address: {type: 'string', minLength: 1},
                category: {type: 'string', enum: CATEGORIES},
                before: OBJECT_OR_NULL,
                after: OBJECT_OR_NULL,
                changes: {type: 'array'},
                reasons: {type: 'array', items: {type: 'string'}},
                depends_on: {type: 'array', items: {type: 'string'}},
              },
            },
          },
          expect: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['rule', 'effect'],
              properties: {
                rule: {type: 'string', minLength: 1},
                effect: {type: 'string', enum: ['deny', 'require_approval', 'warn', 'allow']},
                address: {type: ['string', 'null']},
                message: {type: 'string'},
              },
            },
          },
        },
      },
    },
  },
} as const;

let cachedValidate: ValidateFunction | undefined;

function validate(data: unknown) {
  cachedValidate ??= new Ajv(AJV_OPTIONS).compile(POLICY_TEST_SCHEMA);
  return cachedValidate(data) ? [] : [...(cachedValidate.errors ?? [])];
}

function fixtureStep(s: RawStep, i: number): PolicyPlanStep {
  return {
    id: s.id ?? `s${i + 1}`,
    address: s.address ?? `${s.kind}.fixture-${i + 1}`,
    kind: s.kind,
    action: s.action,
    // DESIGN.md's categories, so fixtures need not spell out the obvious
    category: s.category ?? leastCategory(s),
    before: s.before !== undefined ? s.before : s.action === 'create' ? null : {},
    after: s.after !== undefined ? s.after : s.action === 'delete' ? null : {},
    changes: s.changes ?? [],
    reasons: s.reasons ?? [],
    depends_on: s.depends_on ?? [],
  };
}

function label(workspaceDir: string, abs: string): string {
  const rel = relative(workspaceDir, abs);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel.split(sep).join('/') : abs;
}

/** The *_test.yaml files under `testDir` (a directory, or one file), sorted. */
function testFiles(workspaceDir: string, testDir: string | undefined): string[] {
  const dir = resolve(workspaceDir, testDir ?? POLICY_TEST_DIR);
  let st;
  try {
    st = statSync(dir);
  } catch {
    if (testDir === undefined) return [];
    throw new OrxError({
      code: 'policy_tests_missing',
      message: `no policy tests at ${label(workspaceDir, dir)}: no such file or directory`,
      actions: [`Put test cases in ${POLICY_TEST_DIR}/*_test.yaml.`],
    });
  }
  if (st.isFile()) return [dir];
  return readdirSync(dir)
    .filter((n) => /_test\.ya?ml$/.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n))
    .filter((f) => statSync(f, {throwIfNoEntry: false})?.isFile() ?? false);
}

interface LoadedTests {
  file: string;
  cases: RawCase[];
}

function readTests(abs: string, file: string, diagnostics: Diagnostic[]): LoadedTests | undefined {
  let text: string;
  try {
    // a FIFO or a huge file named *_test.yaml is refused at once, never waited on
    text = readBoundedText(abs, MAX_POLICY_BYTES * 8, {label: file}).replace(/^\uFEFF/, '');
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    diagnostics.push({
      file,
      message: err.reason === 'too_large' ? `${file} is too large (at most ${MAX_POLICY_BYTES * 8} bytes)` : err.message,
    });
    return undefined;
  }
  const parsed = parseYaml(text);
  const at = (
    lines: LineCounter,
    source: Source | undefined,
    p: {offset?: number; path?: readonly (string | number)[]; at?: 'key' | 'value'; message: string},
  ): Diagnostic => {
    const offset = p.offset ?? (source && p.path ? locate(source, p.path, p.at) : undefined);
    const d: Diagnostic = {file, message: p.message};
    if (offset !== undefined) Object.assign(d, lines.linePos(offset));
    if (p.path && p.path.length > 0) d.path = formatPath(p.path);
    return d;
  };
  if (!parsed.ok) {
    for (const p of parsed.problems)
      diagnostics.push(at(parsed.lines, undefined, {...p, message: p.message.replace('orchestration.yml', file)}));
    return undefined;
  }
  let data: unknown;
  try {
    data = parsed.source.doc.toJS({maxAliasCount: 100});
  } catch (err) {
    diagnostics.push(
      at(parsed.source.lines, parsed.source, {path: [], message: `cannot read the YAML: ${preview((err as Error).message, 120)}`}),
    );
    return undefined;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    diagnostics.push({file, line: 1, col: 1, message: `${file} must be a mapping with a "cases:" list`});
    return undefined;
  }
  const problems = schemaProblems(validate(data), data);
  const cases = ((data as {cases?: unknown}).cases ?? []) as RawCase[];
  cases.forEach((c, i) => {
    if (typeof c?.now === 'string' && Number.isNaN(Date.parse(c.now)))
      problems.push({path: ['cases', i, 'now'], message: `cases[${i}].now must be a time like "2024-01-01T00:00:00Z"`});
  });
  for (const p of problems) diagnostics.push(at(parsed.source.lines, parsed.source, p));
  return problems.length > 0 ? undefined : {file, cases};
}

function specificity(e: ExpectedDecision): number {
  return (e.address !== undefined ? 2 : 0) + (e.message !== undefined ? 1 : 0);
}

function fits(e: ExpectedDecision, a: ActualDecision): boolean {
  return (
    e.rule === a.rule &&
    e.effect === a.effect &&
    (e.address === undefined || e.address === a.address) &&
    (e.message === undefined || a.message.includes(e.message))
  );
}

function runCase(set: PolicySet, file: string, c: RawCase): PolicyTestCaseResult {
  const expected = c.expect;
  const result: PolicyTestCaseResult = {file, name: c.name, passed: false, expected, actual: [], missing: [], unexpected: []};
  try {
    const steps = (c.steps ?? []).map(fixtureStep);
    const input = buildPolicyInput({
      plan: {kind: typeof c.plan?.kind === 'string' ? c.plan.kind : 'apply', steps},
      planExtras: c.plan,
      workspace: c.workspace ?? 'test',
      autonomy: c.autonomy ?? DEFAULT_TEST_AUTONOMY,
      now: new Date(c.now ?? DEFAULT_TEST_NOW),
      recent: deepMerge(emptyRecentActivity(), c.recent ?? {}),
    });
    result.actual = evaluatePolicies(set, input).decisions.map((d: PolicyDecision) => ({
      rule: d.rule,
      effect: d.effect,
      address: d.address,
      message: d.message,
    }));
  } catch (err) {
    result.error = preview((err as Error).message ?? String(err), 300);
    result.missing = [...expected];
    return result;
  }
  const used = new Set<number>();
  const order = expected.map((e, i) => ({e, i})).sort((a, b) => specificity(b.e) - specificity(a.e) || a.i - b.i);
  const missing = new Set<number>();
  for (const {e, i} of order) {
    const j = result.actual.findIndex((a, k) => !used.has(k) && fits(e, a));
    if (j === -1) missing.add(i);
    else used.add(j);
  }
  result.missing = expected.filter((_e, i) => missing.has(i));
  result.unexpected = result.actual.filter((_a, k) => !used.has(k));
  result.passed = result.missing.length === 0 && result.unexpected.length === 0;
  return result;
}

/**
 * Loads the workspace's policies and runs every case in `testDir` (default policies/tests;
 * a relative path is taken from the workspace, never from the process's directory). A broken
 * policy or test file is an OrxError (policy_invalid / policy_test_invalid) with file:line:col;
 * a case that fails is a result with passed: false.
 */
export function runPolicyTests(workspaceDir: string, testDir?: string): PolicyTestReport {
  if (!isAbsolute(workspaceDir)) throw new Error(`workspace directory must be absolute, got ${preview(workspaceDir)}`);
  const set = loadPolicies(workspaceDir);
  const files = testFiles(workspaceDir, testDir).map((abs) => ({abs, file: label(workspaceDir, abs)}));
  // the built-in baseline's own cases run in every workspace, unless a directory was named
  if (testDir === undefined) files.unshift({abs: builtinTestPath(), file: BUILTIN_TEST_FILE});
  const diagnostics: Diagnostic[] = [];
  const loaded = files.map(({abs, file}) => readTests(abs, file, diagnostics));
  if (diagnostics.length > 0) {
    throw new OrxError({
      code: 'policy_test_invalid',
      message: diagnostics.slice(0, 50).map(formatDiagnostic).join('\n'),
      diagnostics: diagnostics.slice(0, 50),
      actions: ['Fix the test files above and run `orx policy test` again.'],
      data: {error_count: diagnostics.length},
    });
  }
  const ruleIds = new Set(set.rules.map((r) => r.id));
  // the baseline's cases say what the baseline alone decides, whatever the workspace adds
  const builtinOnly: PolicySet = {rules: set.rules.filter(isBuiltinRule), files: [BUILTIN_POLICY_FILE]};
  const cases: PolicyTestCaseResult[] = [];
  for (const t of loaded) {
    for (const c of t!.cases) {
      const r = runCase(t!.file === BUILTIN_TEST_FILE ? builtinOnly : set, t!.file, c);
      const unknown = c.expect.filter((e) => !ruleIds.has(e.rule));
      if (unknown.length > 0 && r.error === undefined) {
        r.error = unknown.map((e) => `no rule "${e.rule}" built in or in ${POLICY_DIR}/${suggestion(e.rule, ruleIds)}`).join('; ');
        r.passed = false;
      }
      cases.push(r);
    }
  }
  const passed = cases.filter((c) => c.passed).length;
  return {cases, passed, failed: cases.length - passed, files: loaded.map((t) => t!.file)};
}
