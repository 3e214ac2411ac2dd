// `variables:` in orchestration.yml and the values given for them: declarations read from the
// file, values from defaults, ORX_VAR_name, -var-file and -var (Terraform's precedence),
// converted to the declared type. Variables hold settings, never secrets: those stay `secrets:`.
import {isAbsolute, resolve} from 'node:path';
import {OrxError, preview} from '../errors.js';
import {FileReadError, readBoundedFile} from '../util/bounded-file.js';
import type {Problems} from './diagnostics.js';
import {entries, rec, str} from './raw.js';
import {suggestion} from './suggest.js';
import {documentData, parseYaml} from './yaml-source.js';
import {ENV_PREFIX, type VariableInputs} from './variable-inputs.js';

export {ENV_PREFIX, envVariables, orderedVariableArgs, type VariableArg, type VariableInputs} from './variable-inputs.js';

export const VARIABLE_TYPES = ['string', 'number', 'bool', 'list', 'map'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

/** Terraform's identifier shape, so `${var.name}` and CEL's `var.name` can always spell it. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** A name or description that says it holds a credential: such a value belongs in `secrets:`. */
export const SENSITIVE_NAME = /secret|password|passwd|token|api[_-]?key|private[_-]?key|credential/i;

export interface VariableDecl {
  name: string;
  /** a problem was already reported for it (refused, bad default): no second one for having no value */
  invalid?: boolean;
  type: VariableType;
  /** absent: required */
  default?: unknown;
  description: string | null;
  validation: {condition: string; message: string} | null;
}

/** The declarations under `variables:`; shapes the schema rejects are skipped (it reports them). */
export function readDeclarations(raw: unknown, problems: Problems): VariableDecl[] {
  const out: VariableDecl[] = [];
  for (const [name, v] of entries(raw)) {
    const d = rec(v);
    if (!d || !VARIABLE_NAME.test(name)) continue;
    const type = VARIABLE_TYPES.includes(d.type as VariableType) ? (d.type as VariableType) : inferType(d.default);
    const description = str(d.description) ?? null;
    const val = rec(d.validation);
    const decl: VariableDecl = {
      name,
      type,
      description,
      validation: val && typeof val.condition === 'string' ? {condition: val.condition, message: str(val.message) ?? ''} : null,
    };
    if (d.sensitive === true || SENSITIVE_NAME.test(name) || (description !== null && SENSITIVE_NAME.test(description))) {
      decl.invalid = true;
      const why =
        d.sensitive === true
          ? 'it is marked sensitive'
          : `its ${SENSITIVE_NAME.test(name) ? 'name' : 'description'} says it holds a credential`;
      problems.add(
        ['variables', name],
        `variable "${name}": ${why}; variables are shown in plans and stored in plan files and the ledger, so secret values never go in them. Declare it under \`secrets:\` of the agent that needs it (op://, env:// or file:// references), e.g. secrets: {${name.toUpperCase()}: env://${name.toUpperCase()}}`,
        'key',
      );
    }
    if ('default' in d && d.default !== null) {
      const converted = convertTyped(d.default, type);
      if (converted.ok) decl.default = converted.value;
      else {
        decl.invalid = true;
        problems.add(['variables', name, 'default'], `variable "${name}": default ${converted.message}`);
      }
    }
    out.push(decl);
  }
  return out;
}

/** Without `type:`, the default's type, as Terraform infers it; no default: string. */
function inferType(v: unknown): VariableType {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'list';
  if (v !== null && typeof v === 'object') return 'map';
  return 'string';
}

type Converted = {ok: true; value: unknown} | {ok: false; message: string};

const TYPE_WORDS: Record<VariableType, string> = {
  string: 'a string',
  number: 'a number',
  bool: 'true or false',
  list: 'a list',
  map: 'a map',
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'boolean') return 'a bool';
  return `${typeof v === 'number' ? 'a number' : 'a string'} ${preview(JSON.stringify(v), 40)}`;
}

/** A value already typed (a default, a var-file entry) checked against the declared type. */
export function convertTyped(v: unknown, type: VariableType): Converted {
  const ok =
    (type === 'string' && typeof v === 'string') ||
    (type === 'number' && typeof v === 'number' && Number.isFinite(v)) ||
    (type === 'bool' && typeof v === 'boolean') ||
    (type === 'list' && Array.isArray(v)) ||
    (type === 'map' && v !== null && typeof v === 'object' && !Array.isArray(v));
  if (ok) return {ok: true, value: v};
  // numbers and bools written where a string is declared read as their text, as in Terraform
  if (type === 'string' && (typeof v === 'number' || typeof v === 'boolean')) return {ok: true, value: String(v)};
  if (typeof v === 'string' && type !== 'string') return convertText(v, type);
  return {ok: false, message: `must be ${TYPE_WORDS[type]}, got ${typeOf(v)}`};
}

/** A value typed as text (-var, ORX_VAR_) converted to the declared type. */
export function convertText(text: string, type: VariableType): Converted {
  switch (type) {
    case 'string':
      return {ok: true, value: text};
    case 'bool':
      if (text === 'true') return {ok: true, value: true};
      if (text === 'false') return {ok: true, value: false};
      return {ok: false, message: `must be true or false, got ${preview(JSON.stringify(text), 40)}`};
    case 'number': {
      const t = text.trim();
      const n = t === '' ? NaN : Number(t);
      return Number.isFinite(n) ? {ok: true, value: n} : {ok: false, message: `must be a number, got ${preview(JSON.stringify(text), 40)}`};
    }
    default: {
      // JSON, or YAML's flow style: [a, b] and {k: v}
      const parsed = parseYaml(text, 'the value');
      const data = parsed.ok ? documentData(parsed.source.doc) : undefined;
      const value = data?.ok ? data.data : undefined;
      const fits = type === 'list' ? Array.isArray(value) : value !== null && typeof value === 'object' && !Array.isArray(value);
      return fits
        ? {ok: true, value}
        : {
            ok: false,
            message: `must be ${TYPE_WORDS[type]} written as JSON or YAML flow (${type === 'list' ? '["a", "b"]' : '{"k": "v"}'}), got ${preview(JSON.stringify(text), 40)}`,
          };
    }
  }
}

function inputError(message: string, actions: string[]): OrxError {
  return new OrxError({code: 'variable_invalid', message, actions});
}

/** `-var-file FILE`: a YAML or JSON mapping of names to values. */
function readVarFile(dir: string, file: string): Record<string, unknown> {
  const full = isAbsolute(file) ? file : resolve(dir, file);
  let text: string;
  try {
    text = readBoundedFile(full, 1024 * 1024, {label: `-var-file ${file}`})
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } catch (err) {
    const why = err instanceof FileReadError ? (err.reason === 'missing' ? 'no such file' : err.message) : (err as Error).message;
    throw inputError(`-var-file ${file}: cannot read it (${preview(why, 120)})`, [
      'Give the path of a YAML or JSON file of NAME: VALUE entries.',
    ]);
  }
  const parsed = parseYaml(text, file);
  const data = parsed.ok ? documentData(parsed.source.doc) : undefined;
  if (!parsed.ok || !data?.ok) {
    const why = parsed.ok ? (data && !data.ok ? data.message : '') : parsed.problems[0].message;
    throw inputError(`-var-file ${file}: ${why}`, ['Write it as YAML or JSON: a mapping of variable names to values.']);
  }
  if (data.data === null || data.data === undefined) return {};
  const map = rec(data.data);
  if (!map) throw inputError(`-var-file ${file}: must be a mapping of variable names to values`, ['For example: port: 8080']);
  return map;
}

export interface ResolvedVariables {
  values: Record<string, unknown>;
  /** where each value came from: default, plan, env, -var-file FILE, -var */
  sources: Record<string, string>;
}

/**
 * Every declared variable's value by precedence. Input errors (an unknown name on the command
 * line, a value of the wrong type) are thrown at once, as Terraform does; a variable with no
 * value at all is a problem at its declaration, reported with the other configuration errors.
 */
export function resolveVariables(
  decls: VariableDecl[],
  inputs: VariableInputs | undefined,
  dir: string,
  problems: Problems,
): ResolvedVariables {
  const byName = new Map(decls.map((d) => [d.name, d]));
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const set = (name: string, value: unknown, source: string) => {
    Object.defineProperty(values, name, {value, enumerable: true, writable: true, configurable: true});
    Object.defineProperty(sources, name, {value: source, enumerable: true, writable: true, configurable: true});
  };
  const unknown = (name: string, where: string): OrxError =>
    inputError(`${where}: no variable "${preview(name, 64)}" is declared in orchestration.yml${suggestion(name, byName.keys())}`, [
      byName.size > 0
        ? `Declared variables: ${[...byName.keys()].join(', ')}.`
        : 'Declare it under `variables:` in orchestration.yml, e.g. variables: {NAME: {type: string}}.',
    ]);
  const convert = (d: VariableDecl, v: unknown, where: string, text: boolean) => {
    const c = text && typeof v === 'string' ? convertText(v, d.type) : convertTyped(v, d.type);
    if (!c.ok) throw inputError(`variable "${d.name}" (${where}): ${c.message}`, [`Give ${d.name} ${TYPE_WORDS[d.type]}.`]);
    return c.value;
  };

  for (const d of decls) if (d.default !== undefined) set(d.name, d.default, 'default');
  for (const [name, v] of Object.entries(inputs?.planned ?? {})) {
    const d = byName.get(name);
    if (d) set(name, convert(d, v, 'saved plan', false), 'plan');
  }
  // undeclared ORX_VAR_ settings are ignored, as Terraform ignores TF_VAR_: the environment is shared
  for (const [name, text] of Object.entries(inputs?.env ?? {})) {
    const d = byName.get(name);
    if (d) set(name, convert(d, text, `${ENV_PREFIX}${name}`, true), 'env');
  }
  for (const arg of inputs?.args ?? []) {
    if (arg.kind === 'file') {
      for (const [name, v] of Object.entries(readVarFile(dir, arg.path))) {
        const d = byName.get(name);
        if (!d) throw unknown(name, `-var-file ${arg.path}`);
        set(name, convert(d, v, `-var-file ${arg.path}`, false), `-var-file ${arg.path}`);
      }
      continue;
    }
    const eq = arg.text.indexOf('=');
    if (eq <= 0)
      throw inputError(`-var ${preview(JSON.stringify(arg.text), 60)}: expected NAME=VALUE`, [
        'For example: -var port=8080 or -var=\'tags=["a","b"]\'.',
      ]);
    const name = arg.text.slice(0, eq).trim();
    const d = byName.get(name);
    if (!d) throw unknown(name, `-var ${preview(name, 64)}`);
    set(name, convert(d, arg.text.slice(eq + 1), '-var', true), '-var');
  }
  for (const d of decls) {
    if (d.name in values || d.invalid) continue;
    const ways =
      inputs?.flags === false ? [`${ENV_PREFIX}${d.name}=...`] : [`-var ${d.name}=...`, '-var-file FILE', `${ENV_PREFIX}${d.name}=...`];
    problems.add(
      ['variables', d.name],
      `variable "${d.name}" has no value: it has no default; set it with ${ways.join(', ')}${ways.length > 1 ? '' : ' in the environment'}, or give it a default`,
      'key',
    );
  }
  return {values, sources};
}
