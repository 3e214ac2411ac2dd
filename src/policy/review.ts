// What a human must decide about a plan: policy decisions and autonomy combined per step.
import type {PlannedStep} from '../resources/types.js';
import {autonomyNeedsHuman} from './autonomy.js';
import type {PolicyDecision} from './types.js';

/** A policy decision as a saved plan carries it (the rule's file may be left out). */
export type DecisionLike = Omit<PolicyDecision, 'file'> & {file?: string};

export interface StepReview {
  step: PlannedStep;
  denied: string[];
  /** why a human must approve it (autonomy level, rules); empty: policy and autonomy let it through */
  approval: string[];
  /** the autonomy level alone needs a human for it (whatever the rules say) */
  autonomy_needs_human: boolean;
  warnings: string[];
  /** a reason-for-access is required to approve it: DEPLOY/DESTROY or flagged by a rule */
  reason_required: boolean;
  notes: DecisionLike[];
}

export interface PlanReview {
  steps: StepReview[];
  /** denials that are not about one step (quotas, rate limits) */
  plan_denied: string[];
  denied: boolean;
}

export function reviewPlan(steps: PlannedStep[], decisions: DecisionLike[], autonomy: number): PlanReview {
  const byStep = new Map<string, DecisionLike[]>();
  for (const d of decisions) if (d.step) (byStep.get(d.step) ?? byStep.set(d.step, []).get(d.step)!).push(d);
  const reviews = steps
    .filter((s) => s.action !== 'noop' || s.record)
    .map((step): StepReview => {
      const notes = byStep.get(step.id) ?? [];
      const flagged = notes.filter((d) => d.effect === 'require_approval');
      const approval = flagged.map((d) => `rule ${d.rule}: ${d.message}`);
      // recording an object an interrupted apply left changes nothing in the world
      const changesWorld = step.action !== 'noop';
      const byAutonomy = changesWorld && autonomyNeedsHuman(autonomy, step.category);
      if (byAutonomy) approval.unshift(`autonomy ${autonomy}: ${step.category} steps need a human`);
      return {
        step,
        notes,
        denied: notes.filter((d) => d.effect === 'deny').map((d) => `rule ${d.rule}: ${d.message}`),
        approval,
        autonomy_needs_human: byAutonomy,
        warnings: notes.filter((d) => d.effect === 'warn').map((d) => `rule ${d.rule}: ${d.message}`),
        reason_required: changesWorld && (step.category === 'DEPLOY' || step.category === 'DESTROY' || flagged.length > 0),
      };
    });
  const planDenied = decisions.filter((d) => d.effect === 'deny' && !d.step).map((d) => `rule ${d.rule}: ${d.message}`);
  return {steps: reviews, plan_denied: planDenied, denied: planDenied.length > 0 || reviews.some((r) => r.denied.length > 0)};
}

/**
 * The steps left when these are rejected. A rejected step takes along what needs it:
 * what is created after it, and what would be deleted only once it was deleted.
 */
export function withoutRejected(steps: PlannedStep[], rejected: Iterable<string>): {kept: PlannedStep[]; dropped: string[]} {
  const drop = new Set(rejected);
  const byAddress = new Map(steps.map((s) => [s.address, s]));
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of steps) {
      if (drop.has(s.address)) continue;
      const needsDropped =
        s.action === 'delete'
          ? steps.some((t) => drop.has(t.address) && t.action === 'delete' && t.depends_on.includes(s.address))
          : s.depends_on.some((d) => drop.has(d) && byAddress.get(d)?.action !== 'delete');
      if (needsDropped) {
        drop.add(s.address);
        grew = true;
      }
    }
  }
  return {kept: steps.filter((s) => !drop.has(s.address)), dropped: steps.filter((s) => drop.has(s.address)).map((s) => s.address)};
}

/** Any deny, on a step or on the whole plan: such a plan is never applied. */
export function isDenied(decisions: readonly Pick<DecisionLike, 'effect'>[]): boolean {
  return decisions.some((d) => d.effect === 'deny');
}
