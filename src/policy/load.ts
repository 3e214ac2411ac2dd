// policies/*.yaml -> PolicySet, or one OrxError('policy_invalid') listing every problem with
// file:line:col. Every `when` is compiled and type-checked here, once: a rule that cannot run
// is refused at load, never skipped at evaluation.
import {createHash} from 'node:crypto';
import type {ValidateFunction} from 'ajv';
import {OrxError, formatDiagnostic, preview, type Diagnostic} from '../errors.js';
import {loadValidator, publishedSchemaPath} from '../config/schema.js';
import {formatPath, type Segment} from '../config/paths.js';

import {schemaProblems} from '../config/schema-errors.js';
import {locate, parseYaml, problemDiagnostic} from '../config/yaml-source.js';
import {type Source} from '../config/problem.js';
import {compileWhen, PLAN_VARIABLES, STEP_VARIABLES} from './cel.js';
import {checkPlaceholders} from './message.js';
import {valueOffset} from './source-map.js';
import {POLICY_DIR, policyFiles} from './files.js';
import {BUILTIN_POLICY_FILE, builtinPolicyText} from '../config/builtin-policy.js';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import type {PolicyEffect, PolicyRule, PolicySet, RuleScope} from './types.js';

export {POLICY_DIR};
/** A policy file holds rules, not data; refusing early keeps hostile files from costing parse time. */
export const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_DIAGNOSTICS = 50;
const YAML_ALIAS_EXPANSION = 100;

export const POLICY_FIX_ACTION = 'Fix the policy files above; `orx policy test` runs their test cases.';

export {policyFiles};

export interface PolicySource {
  /** how diagnostics and decisions name the file, e.g. "policies/example.yaml" (the built-in one: "orx:baseline.yaml") */
  file: string;
  text: string;
}

/**
 * The built-in baseline, then every policy file of the workspace, compiled. No policies/
 * directory: the baseline alone, never an empty set.
 */
export function loadPolicies(workspaceDir: string): PolicySet {
  const sources = policyFiles(workspaceDir).map((abs) => {
    const file = `${POLICY_DIR}/${abs.slice(abs.lastIndexOf('/') + 1)}`;
    return {file, text: readBounded(abs, file)};
  });
  return compiledOnce([{file: BUILTIN_POLICY_FILE, text: builtinPolicyText()}, ...sources]);
}

// An apply decides at plan, at review and under the lock: the files are read each time (they
// may have changed), but the same texts are compiled once per process. A compiled set is immutable.
const compiled = new Map<string, PolicySet>();

function compiledOnce(sources: PolicySource[]): PolicySet {
  const key = createHash('sha256').update(JSON.stringify(sources)).digest('hex');
  let set = compiled.get(key);
  if (!set) compiled.set(key, (set = compilePolicies(sources)));
  return set;
}

/** The pure part of loadPolicies: policy texts -> PolicySet, or policy_invalid with every problem. */
export function compilePolicies(sources: PolicySource[]): PolicySet {
  const rules: PolicyRule[] = [];
  const diagnostics: Diagnostic[] = [];
  const firstId = new Map<string, string>();
  for (const src of sources) {
    const fileDiags: Array<{d: Diagnostic; i: number}> = [];
    const add = (d: Diagnostic) => fileDiags.push({d, i: fileDiags.length});
    for (const rule of compileFile(src, add)) {
      const first = firstId.get(rule.id);
      if (first?.startsWith(`${BUILTIN_POLICY_FILE}:`)) {
        add({
          file: src.file,
          line: rule.idLine,
          col: rule.idCol,
          path: rule.path,
          message: `rule ${rule.id} is built into orx and always applies: it cannot be redefined here (an old copy of the baseline in ${POLICY_DIR}/ can be deleted; a waiver in orchestration.yml is the only way past a built-in rule)`,
        });
        continue;
      }
      if (first !== undefined) {
        add({
          file: src.file,
          line: rule.idLine,
          col: rule.idCol,
          path: rule.path,
          message: `rule ${rule.id}: duplicate rule id (first defined at ${first}); ids must be unique across every policy file`,
        });
        continue;
      }
      firstId.set(rule.id, `${src.file}:${rule.idLine}:${rule.idCol}`);
      rules.push(rule.rule);
    }
    fileDiags.sort((a, b) => (a.d.line ?? 0) - (b.d.line ?? 0) || (a.d.col ?? 0) - (b.d.col ?? 0) || a.i - b.i);
    diagnostics.push(...fileDiags.map((x) => x.d));
  }
  if (diagnostics.length > 0) throw invalid(diagnostics);
  return {rules, files: sources.map((s) => s.file)};
}

function invalid(diagnostics: Diagnostic[]): OrxError {
  const shown = diagnostics.slice(0, MAX_DIAGNOSTICS);
  const lines = shown.map(formatDiagnostic);
  const hidden = diagnostics.length - shown.length;
  if (hidden > 0) lines.push(`... and ${hidden} more error${hidden === 1 ? '' : 's'}`);
  return new OrxError({
    code: 'policy_invalid',
    message: lines.join('\n'),
    diagnostics: shown,
    actions: [POLICY_FIX_ACTION],
    data: {error_count: diagnostics.length},
  });
}

interface CompiledRule {
  rule: PolicyRule;
  id: string;
  idLine: number;
  idCol: number;
  path: string;
}

function compileFile(src: PolicySource, add: (d: Diagnostic) => void): CompiledRule[] {
  const {file} = src;
  const text = src.text.replace(/^\uFEFF/, '');
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    add({file, message: `${file} is too large (at most ${MAX_POLICY_BYTES} bytes): policy files hold rules, not data`});
    return [];
  }
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    for (const p of parsed.problems)
      add(problemDiagnostic(file, parsed.lines, undefined, {...p, message: p.message.replace('orchestration.yml', file)}));
    return [];
  }
  const {source} = parsed;
  let data: unknown;
  try {
    data = source.doc.toJS({maxAliasCount: YAML_ALIAS_EXPANSION});
  } catch (err) {
    const message = /alias/i.test((err as Error).message)
      ? 'too many YAML aliases: an alias expands to too much data'
      : `cannot read the YAML: ${preview((err as Error).message, 120)}`;
    add(problemDiagnostic(file, source.lines, source, {path: [], message}));
    return [];
  }
  if (data === null || data === undefined) {
    add({file, line: 1, col: 1, message: `${file} is empty; a policy file needs a "rules:" list`});
    return [];
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    add(
      problemDiagnostic(file, source.lines, source, {
        path: [],
        message: `${file} must be a mapping with a "rules:" list (got ${Array.isArray(data) ? 'a list' : preview(String(data), 40)})`,
      }),
    );
    return [];
  }

  const rawRules = Array.isArray((data as {rules?: unknown}).rules) ? (data as {rules: unknown[]}).rules : [];
  const ruleId = (i: number): string | undefined => {
    const r = rawRules[i] as {id?: unknown} | null;
    return r && typeof r === 'object' && typeof r.id === 'string' && /^[a-z0-9-]{1,63}$/.test(r.id) ? r.id : undefined;
  };
  const schemaBad = new Set<number>();
  for (const p of schemaProblems(validate(data), data)) {
    const i = p.path?.[0] === 'rules' && typeof p.path[1] === 'number' ? p.path[1] : undefined;
    if (i !== undefined) schemaBad.add(i);
    const id = i === undefined ? undefined : ruleId(i);
    add(problemDiagnostic(file, source.lines, source, id === undefined ? p : {...p, message: `rule ${id}: ${p.message}`}));
  }

  const out: CompiledRule[] = [];
  rawRules.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
    const r = raw as Record<string, unknown>;
    const id = ruleId(i) ?? `#${i + 1}`;
    const scope: RuleScope = r.scope === 'plan' ? 'plan' : 'step';
    const base: Segment[] = ['rules', i];
    const at = (path: Segment[], index?: number, key = false): {line: number; col: number} => {
      const node = nodeAt(source, path);
      const offset =
        index !== undefined && node !== undefined ? valueOffset(text, node, index) : locate(source, path, key ? 'key' : 'value');
      return source.lines.linePos(offset ?? 0);
    };
    let ok = !schemaBad.has(i);

    let program: PolicyRule['program'] | undefined;
    if (typeof r.when === 'string' && r.when !== '') {
      const compiled = compileWhen(r.when, scope);
      if (compiled.ok) program = compiled.program;
      else {
        ok = false;
        add({
          file,
          ...at([...base, 'when'], compiled.offset ?? 0),
          path: formatPath([...base, 'when']),
          message: `rule ${id}: ${compiled.message}`,
        });
      }
    }
    if (typeof r.message === 'string') {
      for (const p of checkPlaceholders(r.message, scope === 'step' ? STEP_VARIABLES : PLAN_VARIABLES)) {
        ok = false;
        add({file, ...at([...base, 'message'], p.index), path: formatPath([...base, 'message']), message: `rule ${id}: ${p.message}`});
      }
    }
    if (!ok || program === undefined || ruleId(i) === undefined) return;

    const match = (r.match ?? {}) as {kinds?: string[]; categories?: string[]; actions?: string[]};
    const set = (xs: string[] | undefined) => (xs === undefined ? null : new Set(xs));
    const whenPos = at([...base, 'when'], 0);
    const idPos = at([...base, 'id']);
    out.push({
      id,
      idLine: idPos.line,
      idCol: idPos.col,
      path: formatPath([...base, 'id']),
      rule: {
        id,
        description: typeof r.description === 'string' ? r.description : '',
        file,
        line: whenPos.line,
        col: whenPos.col,
        match: {kinds: set(match.kinds), categories: set(match.categories), actions: set(match.actions)},
        scope,
        when: r.when as string,
        effect: r.effect as PolicyEffect,
        message: r.message as string,
        program,
      },
    });
  });
  return out;
}

function nodeAt(source: Source, path: Segment[]): unknown {
  return source.doc.getIn(path, true);
}

// --- the published schema, compiled once per process on first use ---

let cachedValidate: ValidateFunction | undefined;

/** Absolute path of schemas/policy.schema.json in this package (from src/ or dist/ alike). */
export function policySchemaPath(): string {
  return publishedSchemaPath('policy');
}

function validate(data: unknown) {
  cachedValidate ??= loadValidator('policy');
  return cachedValidate(data) ? [] : [...(cachedValidate.errors ?? [])];
}

// --- reading ---

// Bounded, so that a file that grows (or a FIFO someone named x.yaml) cannot stall or flood a plan.
function readBounded(abs: string, file: string): string {
  try {
    return readBoundedText(abs, MAX_POLICY_BYTES, {label: file});
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.reason === 'too_large')
      throw invalid([{file, message: `${file} is too large (more than ${MAX_POLICY_BYTES} bytes): policy files hold rules, not data`}]);
    throw new OrxError({
      code: 'policy_unreadable',
      message: err.message,
      actions: ['Check that the file exists, is readable and is a plain file.'],
    });
  }
}
