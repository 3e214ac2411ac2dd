// Rules x steps -> decisions. Synchronous and allocation-light: the context is built once per
// plan (context.ts) and every `when` was compiled at load.
//
// Fail closed: a rule whose `when` throws (a missing key, a bad regex) or gives anything but
// true/false is a deny decision naming the rule, never a pass.
import {runtimeMessage} from './cel.js';
import {renderMessage} from './message.js';
import {
  type PolicyDecision,
  type PolicyEvaluation,
  type PolicyInput,
  type PolicyRule,
  type PolicySet,
  type PolicyStepInput,
  type RuleResult,
} from './types.js';

type Outcome = {value: boolean; vars: Record<string, unknown>} | {error: string};

function matches(rule: PolicyRule, s: PolicyStepInput): boolean {
  if (s.action === 'noop') return false;
  const m = rule.match;
  return (
    (m.kinds === null || m.kinds.has(s.kind)) &&
    (m.categories === null || m.categories.has(s.category)) &&
    (m.actions === null || m.actions.has(s.action))
  );
}

function hasMatch(rule: PolicyRule): boolean {
  const m = rule.match;
  return m.kinds !== null || m.categories !== null || m.actions !== null;
}

function planVars(input: PolicyInput): Record<string, unknown> {
  return {plan: input.plan, workspace: input.workspace, autonomy: input.autonomy, now: input.now, recent: input.recent};
}

function run(rule: PolicyRule, vars: Record<string, unknown>): Outcome {
  let value: unknown;
  try {
    value = rule.program(vars);
  } catch (err) {
    return {error: runtimeMessage(err)};
  }
  if (value === true || value === false) return {value, vars};
  const what =
    value === null
      ? 'null'
      : typeof value === 'bigint'
        ? 'an int'
        : typeof value === 'number'
          ? 'a double'
          : typeof value === 'string'
            ? 'a string'
            : Array.isArray(value)
              ? 'a list'
              : typeof value;
  return {error: `when gave ${what}, not true or false`};
}

function failed(rule: PolicyRule, error: string): string {
  return `rule ${rule.id} failed to evaluate: ${error}`;
}

function decision(rule: PolicyRule, o: Outcome, s: PolicyStepInput | null): PolicyDecision | null {
  const step = s?.id ?? null;
  const address = s?.address ?? null;
  if ('error' in o) return {rule: rule.id, file: rule.file, effect: 'deny', message: failed(rule, o.error), step, address};
  if (!o.value) return null;
  return {rule: rule.id, file: rule.file, effect: rule.effect, message: renderMessage(rule.message, o.vars), step, address};
}

/**
 * The decisions for one plan: one per (rule, step) whose `when` is true, plus one per
 * plan-scope rule whose `when` is true (step and address null). Plan-scope decisions come
 * first, then by step in plan order, each step's in rule order. Noop steps are not evaluated.
 */
export function evaluatePolicies(set: PolicySet, input: PolicyInput): PolicyEvaluation {
  const decisions: PolicyDecision[] = [];
  const base = planVars(input);
  const stepRules: PolicyRule[] = [];
  for (const rule of set.rules) {
    if (rule.scope === 'step') {
      stepRules.push(rule);
      continue;
    }
    if (hasMatch(rule) && !input.steps.some((s) => matches(rule, s))) continue;
    const d = decision(rule, run(rule, base), null);
    if (d) decisions.push(d);
  }
  for (const s of input.steps) {
    if (s.action === 'noop') continue;
    let vars: Record<string, unknown> | undefined;
    for (const rule of stepRules) {
      if (!matches(rule, s)) continue;
      vars ??= {...base, step: s.step, resource: s.resource};
      const d = decision(rule, run(rule, vars), s);
      if (d) decisions.push(d);
    }
  }
  return {decisions};
}

/**
 * Every rule's result for every step it could look at, for review (`orx policy eval`): step
 * rules get one row per non-noop step, plan rules one row. A row is not_matched when the
 * rule's `match` leaves the step (or, for a plan rule, every step) out.
 */
export function evaluateAll(set: PolicySet, input: PolicyInput): RuleResult[] {
  const rows: RuleResult[] = [];
  const base = planVars(input);
  const row = (rule: PolicyRule, s: PolicyStepInput | null, result: RuleResult['result'], message: string | null): RuleResult => ({
    rule: rule.id,
    file: rule.file,
    effect: rule.effect,
    scope: rule.scope,
    step: s?.id ?? null,
    address: s?.address ?? null,
    result,
    message,
  });
  const outcomeRow = (rule: PolicyRule, s: PolicyStepInput | null, o: Outcome): RuleResult =>
    'error' in o
      ? row(rule, s, 'error', failed(rule, o.error))
      : o.value
        ? row(rule, s, 'true', renderMessage(rule.message, o.vars))
        : row(rule, s, 'false', null);
  for (const rule of set.rules) {
    if (rule.scope === 'plan') {
      if (hasMatch(rule) && !input.steps.some((s) => matches(rule, s))) rows.push(row(rule, null, 'not_matched', null));
      else rows.push(outcomeRow(rule, null, run(rule, base)));
      continue;
    }
    for (const s of input.steps) {
      if (s.action === 'noop') continue;
      if (!matches(rule, s)) rows.push(row(rule, s, 'not_matched', null));
      else rows.push(outcomeRow(rule, s, run(rule, {...base, step: s.step, resource: s.resource})));
    }
  }
  return rows;
}
