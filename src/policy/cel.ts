// The CEL side of policy: the environment every `when` is compiled in, compiling with
// positions, and turning plain JSON-like data into CEL values.
//
// Numbers: CEL keeps int and double apart (`1 + 1.5` is an error), and a JSON number does not
// say which it is. Every number in the context is an int (BigInt) when it is whole, a double
// otherwise, EXCEPT values under a key named `cpus`, which are always doubles: CPU counts are
// fractional by nature (0.5, 1, 2.5), and a type that changed with the value would make
// `step.after.cpus * 2.0` work for one agent and fail for the next. Comparisons mix freely
// (`plan.totals.cpus > 8`, `recent.hour.by_category.DESTROY > 20` both work); arithmetic
// between a cpus value and an int literal needs a double literal (`cpus + 1.0`) or double().
import {Environment, type ParseResult} from '@marcbachmann/cel-js';
import {suggestion} from '../config/suggest.js';
import type {CompiledWhen, RuleScope} from './types.js';

/** The variables of a step-scope rule, in the order the docs list them. */
export const STEP_VARIABLES = ['plan', 'step', 'resource', 'workspace', 'autonomy', 'now', 'recent'] as const;
/** A plan-scope rule runs once per plan: there is no one step or resource to read. */
export const PLAN_VARIABLES = ['plan', 'workspace', 'autonomy', 'now', 'recent'] as const;

const TYPES: Record<string, string> = {
  plan: 'map',
  step: 'map',
  resource: 'map',
  workspace: 'map',
  autonomy: 'int',
  now: 'google.protobuf.Timestamp',
  recent: 'map',
};

function makeEnv(names: readonly string[]): Environment {
  // Mixed literals such as ["", "root", null] are normal in rules; CEL infers list<dyn> for them.
  const env = new Environment({homogeneousAggregateLiterals: false, limits: {maxAstNodes: 5000, maxDepth: 64}});
  for (const n of names) env.registerVariable(n, TYPES[n]);
  return env;
}

let envs: Record<RuleScope, Environment> | undefined;

function environment(scope: RuleScope): Environment {
  envs ??= {step: makeEnv(STEP_VARIABLES), plan: makeEnv(PLAN_VARIABLES)};
  return envs[scope];
}

export type Compiled = {ok: true; program: CompiledWhen} | {ok: false; message: string; offset: number | undefined};

interface CelErrorLike {
  summary?: string;
  message?: string;
  range?: {start: number; end: number};
}

function describe(err: unknown, scope: RuleScope): {message: string; offset: number | undefined} {
  const e = (err ?? {}) as CelErrorLike;
  const summary = String(e.summary ?? e.message ?? err).split('\n')[0];
  const offset = typeof e.range?.start === 'number' ? e.range.start : undefined;
  const unknown = /^Unknown variable: (.+)$/.exec(summary);
  if (unknown) {
    const name = unknown[1];
    const names = scope === 'step' ? STEP_VARIABLES : PLAN_VARIABLES;
    if (scope === 'plan' && (name === 'step' || name === 'resource'))
      return {
        offset,
        message: `"${name}" is not available in a plan-scope rule (it runs once per plan); use plan.steps, or make the rule scope: step`,
      };
    return {offset, message: `unknown variable "${name}"${suggestion(name, names)}; a ${scope}-scope rule can read ${names.join(', ')}`};
  }
  return {offset, message: summary};
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  int: 'an int',
  uint: 'an unsigned int',
  double: 'a double',
  bytes: 'bytes',
  null: 'null',
  'google.protobuf.Timestamp': 'a timestamp',
  'google.protobuf.Duration': 'a duration',
};

/**
 * Parses and type-checks one `when`. The result must be a bool; an expression whose type is
 * only known at run time (dyn, e.g. `step.after.hardening.privileged`) is accepted here and
 * checked on every evaluation, where anything but true/false fails the rule closed.
 */
export function compileWhen(expression: string, scope: RuleScope): Compiled {
  let parsed: ParseResult;
  try {
    parsed = environment(scope).parse(expression);
  } catch (err) {
    return {ok: false, ...describe(err, scope)};
  }
  let checked;
  try {
    checked = parsed.check();
  } catch (err) {
    return {ok: false, ...describe(err, scope)};
  }
  if (!checked.valid) return {ok: false, ...describe(checked.error, scope)};
  const type = checked.type ?? 'dyn';
  if (type !== 'bool' && type !== 'dyn') {
    const what = TYPE_WORDS[type] ?? (type.startsWith('list') ? 'a list' : type.startsWith('map') ? 'a map' : type);
    return {ok: false, offset: 0, message: `when must give true or false, but this expression gives ${what} (${type})`};
  }
  return {ok: true, program: (vars) => parsed(vars) as unknown};
}

/** The one-line reason of an error thrown while evaluating. */
export function runtimeMessage(err: unknown): string {
  const e = (err ?? {}) as CelErrorLike;
  return String(e.summary ?? e.message ?? err).split('\n')[0];
}

/** JSON-like data as CEL values (see the note on numbers at the top of this file). */
export function toCel(value: unknown, key?: string): unknown {
  if (typeof value === 'number') {
    if (key === 'cpus' || !Number.isInteger(value)) return value;
    return BigInt(value);
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => toCel(v, key));
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function') continue;
    out[k] = toCel(v, k);
  }
  return out;
}
