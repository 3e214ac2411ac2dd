// What a rule's `when` can read. Every key documented here is always present (zeros and
// empty maps when there is nothing to count), so a rule only needs has() for attributes
// that differ between resources (step.after.hardening, resource.ref, ...).
//
//   plan       kind ("apply" | "destroy")
//              summary {create, update, replace, delete}      non-noop steps by action
//              counts {READ, WRITE, DEPLOY, DESTROY, ROLLBACK} non-noop steps by category
//              totals {cpus, memory_bytes, agents}            the state after the apply: every
//                                                             agent step whose `after` is not null,
//                                                             noops included
//              totals_before {cpus, memory_bytes, agents}     the same over `before`: the state now
//              steps [step, ...]                              every step, noops included
//   step       id, kind, action, address, category, before, after, changes, reasons, depends_on
//              (before is null for a create, after is null for a delete); an agent's before/after
//              also carry uid and gid: ints from its user (else the image's), null when unknown
//   resource   step.after, or step.before when the step deletes
//   workspace  {name}
//   autonomy   int 0..3
//   now        timestamp
//   recent     {hour, day}: each {applies, steps, by_kind {agent, network, volume, image, ...},
//              by_category {READ, WRITE, DEPLOY, DESTROY, ROLLBACK}} from the ledger
//
// Numbers are ints, except cpus values (always doubles) and fractions: see cel.ts.
import {toCel} from './cel.js';
import {numericUser} from '../util/user-id.js';
import type {PolicyInput, PolicyInputInit, PolicyPlanStep, PolicyStepInput, SafetyCategory} from './types.js';
import type {RecentActivity, RecentWindow} from '../ledger/activity.js';

export const CATEGORIES: readonly SafetyCategory[] = ['READ', 'WRITE', 'DEPLOY', 'DESTROY', 'ROLLBACK'];
export const KINDS = ['agent', 'network', 'volume', 'image'] as const;

export function emptyRecentWindow(): RecentWindow {
  return {
    applies: 0,
    steps: 0,
    by_kind: Object.fromEntries(KINDS.map((k) => [k, 0])),
    by_category: Object.fromEntries(CATEGORIES.map((c) => [c, 0])),
  };
}

export function emptyRecentActivity(): RecentActivity {
  return {hour: emptyRecentWindow(), day: emptyRecentWindow()};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

/** `extra` laid over `base`, map by map (lists and scalars replace). */
export function deepMerge<T extends Record<string, unknown>>(base: T, extra: Record<string, unknown>): T {
  const out: Record<string, unknown> = {...base};
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  // the caller's contract: `extra` overrides values of base's shape
  return out as T;
}

/**
 * An agent's uid and gid as numbers, worked out here from `user` (else the image's USER) and
 * never taken from the plan, so that no spelling of root and no edited plan gets past a rule
 * that compares numbers. null: not known before the container exists (a user name).
 */
function withIds(kind: string, attrs: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!attrs) return null;
  if (kind !== 'agent') return attrs;
  const user = typeof attrs.user === 'string' ? attrs.user : typeof attrs.image_user === 'string' ? attrs.image_user : null;
  const {uid, gid} = numericUser(user);
  return {...attrs, uid, gid};
}

/** The step as rules see it: the plan's own fields, not the executor's bookkeeping. */
function stepView(s: PolicyPlanStep): Record<string, unknown> {
  return {
    id: s.id,
    kind: s.kind,
    action: s.action,
    address: s.address,
    category: s.category,
    before: withIds(s.kind, s.before),
    after: withIds(s.kind, s.after),
    changes: s.changes ?? [],
    reasons: s.reasons ?? [],
    depends_on: s.depends_on ?? [],
  };
}

interface Totals {
  cpus: number;
  memory_bytes: number;
  agents: number;
}

function addAgent(t: Totals, attrs: Record<string, unknown> | null | undefined): void {
  if (!attrs) return;
  t.agents += 1;
  if (typeof attrs.cpus === 'number' && Number.isFinite(attrs.cpus)) t.cpus += attrs.cpus;
  if (typeof attrs.memory_bytes === 'number' && Number.isFinite(attrs.memory_bytes)) t.memory_bytes += attrs.memory_bytes;
}

/**
 * Builds the context once per plan; evaluatePolicies shares it between every rule. The plan
 * may be a PlanDocument or anything with its kind and steps.
 */
export function buildPolicyInput(init: PolicyInputInit): PolicyInput {
  const summary = {create: 0, update: 0, replace: 0, delete: 0};
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<SafetyCategory, number>;
  const totals: Totals = {cpus: 0, memory_bytes: 0, agents: 0};
  const before: Totals = {cpus: 0, memory_bytes: 0, agents: 0};
  const steps: PolicyStepInput[] = [];
  for (const s of init.plan.steps) {
    if (s.action !== 'noop') {
      if (s.action in summary) summary[s.action as keyof typeof summary]++;
      if (s.category in counts) counts[s.category]++;
    }
    if (s.kind === 'agent') {
      addAgent(totals, s.after);
      addAgent(before, s.before);
    }
    const step = toCel(stepView(s)) as Record<string, unknown>;
    const resource = (step.after ?? step.before ?? {}) as Record<string, unknown>;
    steps.push({id: s.id, address: s.address, kind: s.kind, action: s.action, category: s.category, step, resource});
  }
  // A plan document's own summary wins: it is what `orx plan` printed.
  let plan: Record<string, unknown> = {
    kind: init.plan.kind,
    summary: toCel({...summary, ...(init.plan.summary ?? {})}),
    counts: toCel(counts),
    totals: toCel(totals),
    totals_before: toCel(before),
    steps: steps.map((s) => s.step),
  };
  if (init.planExtras) plan = deepMerge(plan, toCel(init.planExtras) as Record<string, unknown>);
  const recent = init.recent ? deepMerge(emptyRecentActivity(), init.recent) : emptyRecentActivity();
  return {
    plan,
    workspace: {name: init.workspace},
    autonomy: BigInt(Math.max(0, Math.trunc(Number.isFinite(init.autonomy) ? init.autonomy : 0))),
    now: init.now,
    recent: toCel(recent) as Record<string, unknown>,
    steps,
  };
}
