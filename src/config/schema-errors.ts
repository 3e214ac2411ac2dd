// ajv's errors, rewritten in the words of orchestration.yml: one message per mistake, naming
// the key, what it must be and what it was, never ajv's own jargon.
import type {ErrorObject} from 'ajv';
import {preview} from '../errors.js';
import type {Problem} from './problem.js';
import {formatPath, fromPointer, where, type ConfigPath} from './paths.js';
import {NAME_PATTERN, NAME_RULE, PATTERN_HINTS} from './patterns.js';
import {configSchema} from './schema.js';
import {suggestion} from './suggest.js';

type Schema = Record<string, unknown>;

/** Keywords this module turns into messages; a unit test checks the schema uses no others. */
export const HANDLED_KEYWORDS = new Set([
  'type',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minItems',
  'maxItems',
  'maxProperties',
  'uniqueItems',
  'required',
  'additionalProperties',
  'propertyNames',
  'dependencies',
  'anyOf',
  'oneOf',
]);

/**
 * Top-level keys orx no longer reads, with what to do instead: a plain "unknown key" would
 * leave the user guessing where the setting went.
 */
export const REMOVED_KEYS: Record<string, string> = {
  tools:
    'tools: is not read from orchestration.yml: the repository must not choose the programs orx runs (in CI a pull request could run its own script where the signing key is). ' +
    'Put kind and kubectl on PATH, or give their absolute paths with --tool-kind / --tool-kubectl or ORX_KIND / ORX_KUBECTL, then remove the tools: key',
};

export function schemaProblems(errors: ErrorObject[], data: unknown): Problem[] {
  const kept = dropShadowed(resolveAlternatives(errors));
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const p = translate(e, data);
    if (p === undefined) continue;
    const id = `${JSON.stringify(p.path)}|${p.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    problems.push(p);
  }
  return problems;
}

// anyOf/oneOf: ajv reports every branch's complaint. Keep the branch whose type fits the value
// (so `command: [1]` says the item must be a string), or say which forms are allowed.
function resolveAlternatives(errors: ErrorObject[]): ErrorObject[] {
  const alternatives = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  if (alternatives.length === 0) return errors;
  // Index by instance path so that many alternatives (one per port, say) stay linear.
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const dropped = new Set<ErrorObject>();
  const droppedBelow: string[] = [];
  const replaced = new Map<ErrorObject, ErrorObject>();
  alternatives.sort((a, b) => a.instancePath.length - b.instancePath.length || a.schemaPath.length - b.schemaPath.length);
  for (const alt of alternatives) {
    if (dropped.has(alt)) continue;
    const branches = (Array.isArray(alt.schema) ? alt.schema : []) as Schema[];
    const base = `${alt.schemaPath}/`;
    const sameSpot = (byPath.get(alt.instancePath) ?? []).filter((e) => e !== alt && e.schemaPath.startsWith(base));
    if (branches.every(isRequiredOnly)) {
      for (const e of sameSpot) dropped.add(e);
      continue; // translated as "exactly one of"
    }
    const fitting = branches.map((b, i) => (typeFits(branchType(b), alt.data) ? i : -1)).filter((i) => i >= 0);
    if (fitting.length === 1) {
      const keep = `${base}${fitting[0]}/`;
      for (const e of sameSpot) if (!e.schemaPath.startsWith(keep)) dropped.add(e);
      dropped.add(alt);
    } else {
      // errors from a $ref branch carry the definition's schemaPath, not the branch's
      for (const e of byPath.get(alt.instancePath) ?? []) if (e !== alt) dropped.add(e);
      droppedBelow.push(`${alt.instancePath}/`);
      replaced.set(alt, {...alt, keyword: 'x-forms'});
    }
  }
  const isBelowDropped = (e: ErrorObject) => droppedBelow.length > 0 && droppedBelow.some((p) => e.instancePath.startsWith(p));
  return errors.filter((e) => !dropped.has(e) && !isBelowDropped(e)).map((e) => replaced.get(e) ?? e);
}

// An empty or far too long value also fails its pattern; the length is the useful half of that news.
function dropShadowed(errors: ErrorObject[]): ErrorObject[] {
  const tooLong = new Set(errors.filter((e) => e.keyword === 'maxLength' || e.keyword === 'minLength').map((e) => e.instancePath));
  return tooLong.size === 0 ? errors : errors.filter((e) => !(e.keyword === 'pattern' && tooLong.has(e.instancePath)));
}

// A branch that is only a $ref (the inline kind config) has its type in the definition.
function branchType(b: Schema): unknown {
  if (b.type !== undefined || typeof b.$ref !== 'string' || !b.$ref.startsWith('#/definitions/')) return b.type;
  const defs = configSchema().definitions as Record<string, Schema> | undefined;
  return defs?.[b.$ref.slice('#/definitions/'.length)]?.type;
}

function isRequiredOnly(s: Schema): boolean {
  const keys = Object.keys(s);
  return keys.length === 1 && keys[0] === 'required';
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function typeFits(type: unknown, value: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  const t = jsonType(value);
  return types.some((x) => x === t || (x === 'integer' && t === 'number'));
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'empty',
};

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(preview(v, 40));
  return preview(String(v), 40);
}

export function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function translate(e: ErrorObject, data: unknown): Problem | undefined {
  if ((e as {propertyName?: string}).propertyName !== undefined) return undefined; // reported by its propertyNames error
  const path = fromPointer(e.instancePath, data);
  const at = formatPath(path);
  const params = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Schema;
  const got = describeValue(e.data);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      const shown = JSON.stringify(preview(key, 60));
      if (key === '<<')
        return {path: [...path, key], at: 'key', message: `YAML merge keys (<<) are not supported ${where(path)}; write the keys out`};
      if (path.length === 0 && Object.hasOwn(REMOVED_KEYS, key)) return {path: [key], at: 'key', message: REMOVED_KEYS[key]};
      return {path: [...path, key], at: 'key', message: `unknown key ${shown} ${where(path)}${suggestion(key, allowed)}`};
    }
    case 'required': {
      const key = String(params.missingProperty);
      return {path, at: 'key', message: `missing required key "${key}" ${where(path)}`};
    }
    case 'type': {
      const types = (Array.isArray(params.type) ? params.type : String(params.type).split(',')) as string[];
      const words = types.map((t) => (types.length > 1 && t === 'boolean' ? 'true/false' : (TYPE_WORDS[t] ?? t)));
      let msg = `${at} must be ${orList(words)} (got ${got})`;
      if (types.length === 1 && types[0] === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean'))
        msg += `; put it in quotes: "${String(e.data)}"`;
      if (path.length === 0) msg = `orchestration.yml must be a mapping of keys such as workspace and agents (got ${got})`;
      return {path, message: msg};
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const hint = typeof e.data === 'string' ? suggestion(e.data, allowed) : '';
      return {path, message: `${at} must be ${orList(allowed)} (got ${got})${hint}`};
    }
    case 'pattern': {
      const hint = PATTERN_HINTS[String(params.pattern)] ?? `has an invalid format`;
      return {path, message: `${at} ${hint} (got ${got})`};
    }
    case 'maxLength': {
      const len = typeof e.data === 'string' ? e.data.length : '?';
      return {path, message: `${at} is too long (${len} characters, at most ${String(params.limit)})`};
    }
    case 'minLength':
      return {path, message: `${at} must not be empty`};
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
      return {path, message: `${at} ${rangeText(parent)} (got ${got})`};
    case 'minItems':
      return {path, message: `${at} must not be an empty list`};
    case 'maxItems':
    case 'maxProperties': {
      const n = Array.isArray(e.data) ? e.data.length : e.data && typeof e.data === 'object' ? Object.keys(e.data).length : '?';
      return {path, message: `${at} has too many entries (${n}, at most ${String(params.limit)})`};
    }
    case 'uniqueItems': {
      const j = Number(params.j);
      const item: unknown = Array.isArray(e.data) ? (e.data as unknown[])[j] : undefined;
      return {path: [...path, j], message: `duplicate entry ${describeValue(item)} in ${at}`};
    }
    case 'dependencies': {
      const prop = String(params.property);
      return {path: [...path, prop], at: 'key', message: `"${prop}" needs "${String(params.missingProperty)}" ${where(path)}`};
    }
    case 'propertyNames':
      return nameProblem(path, String(params.propertyName), e);
    case 'oneOf':
    case 'anyOf':
      return exactlyOne(e, path);
    case 'x-forms': {
      const forms = ((e.schema ?? []) as Schema[]).map((b) => String(b.title ?? TYPE_WORDS[String(b.type)] ?? b.type));
      return {path, message: `${at} must be ${orList(forms)} (got ${got})`};
    }
    default:
      return {path, message: `${at} ${e.message ?? 'is invalid'}`};
  }
}

function rangeText(s: Schema): string {
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  const xmin = s.exclusiveMinimum as number | undefined;
  const lower = min !== undefined ? `at least ${min}` : xmin !== undefined ? `greater than ${xmin}` : undefined;
  if (min !== undefined && max !== undefined && max < 1e9) return `must be between ${min} and ${max}`;
  return `must be ${[lower, max !== undefined ? `at most ${max}` : undefined].filter(Boolean).join(' and ')}`;
}

// The only oneOf/anyOf left here are "exactly one of these keys" (image: ref|build; health: http|cmd|shell|exec|host_http).
function exactlyOne(e: ErrorObject, path: ConfigPath): Problem {
  const keys = ((e.schema ?? []) as Schema[]).map((b) => String((b.required as string[])[0]));
  const quoted = keys.map((k) => `"${k}"`);
  const passing = (e.params as {passingSchemas?: number[] | null}).passingSchemas;
  if (Array.isArray(passing) && passing.length > 1) {
    const found = passing.map((i) => quoted[i]);
    return {path, message: `${formatPath(path)} must have only one of ${orList(quoted)} (found ${found.join(' and ')})`};
  }
  return {path, message: `${formatPath(path)} needs one of ${orList(quoted)}`};
}

const NAME_KINDS: Record<string, string> = {
  env: 'environment variable name',
  labels: 'label key',
  args: 'build argument name',
};

function nameProblem(path: ConfigPath, name: string, e: ErrorObject): Problem {
  const kind = NAME_KINDS[String(path[path.length - 1])] ?? 'name';
  const sub = (e.schema ?? {}) as Schema;
  const shown = JSON.stringify(preview(name, 40));
  const head = `invalid ${kind} ${shown} ${where(path)}`;
  let rule: string;
  if (typeof sub.maxLength === 'number' && name.length > sub.maxLength)
    rule = `too long (${name.length} characters, at most ${sub.maxLength})`;
  else if (sub.pattern === NAME_PATTERN) rule = NAME_RULE;
  else rule = (PATTERN_HINTS[String(sub.pattern)] ?? 'has an invalid format').replace(/^must /, 'it must ');
  return {path: [...path, name], at: 'key', message: `${head}: ${rule}`};
}
