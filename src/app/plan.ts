// `orx plan` and the plan step of `orx apply`/`destroy`/`resume`: what would change, signed
// and saved when asked; or a saved plan read back and verified.
import path from 'node:path';
import type {OrxContext} from '../engine/context.js';
import {loadSavedPlan, planWorkspace, type PlanOptions} from '../engine/operations.js';
import type {PlanDocument} from '../engine/planfile.js';
import {hasChanges} from '../engine/planner.js';
import {gate, type GateResult} from '../policy/gate.js';
import {isDenied} from '../policy/review.js';
import {refuseVariablesWithSavedPlan} from './saved-plan-vars.js';

export type {PlanOptions};

export interface PlanOutcome {
  doc: PlanDocument;
  /** policy denies it: it can never be applied */
  denied: boolean;
  /** where it was saved (absolute), when -out asked and it could be */
  saved_to?: string;
  has_changes: boolean;
  /** step id -> why autonomy alone will need a human for it (`autonomy 1 (DEPLOY)`) */
  needs_human?: HumanNeeds;
  /** every step apply will stop at for a human, with each reason (autonomy, policy rules) */
  approvals_needed: ApprovalNeeded[];
}

export interface ApprovalNeeded {
  step: string;
  address: string;
  why: string[];
}

/** step id -> `autonomy 1 (DEPLOY)`: what the plan says of a step that apply will stop at for a human. */
export type HumanNeeds = Record<string, string>;

/**
 * The steps apply will stop at because of autonomy, from the same gate apply uses (policy
 * rules that ask for a human are shown with their decisions already). Steps already approved
 * in the ledger for this plan are not among them.
 */
export function humanNeeds(g: GateResult, autonomy: number): HumanNeeds {
  const out: HumanNeeds = {};
  for (const r of g.pending) if (r.autonomy_needs_human) out[r.step.id] = `autonomy ${autonomy} (${r.step.category})`;
  return out;
}

/** What a plan just made, or read back, will need a human for at its own autonomy. */
export function planHumanNeeds(doc: PlanDocument): HumanNeeds {
  return humanNeeds(gate(doc.steps, doc.policy.decisions, doc.autonomy), doc.autonomy);
}

function approvalsNeeded(g: GateResult): ApprovalNeeded[] {
  return g.pending.map((r) => ({step: r.step.id, address: r.step.address, why: r.approval}));
}

export async function makePlan(
  ctx: OrxContext,
  o: PlanOptions & {out?: string; allowDenied?: boolean; keyFile?: string},
): Promise<PlanOutcome> {
  const out = o.out ? path.resolve(ctx.dir, o.out) : undefined;
  const doc = await planWorkspace(ctx, {...o, save: out});
  const denied = isDenied(doc.policy.decisions);
  const saved = out && (!denied || o.allowDenied) ? out : undefined;
  const g = gate(doc.steps, doc.policy.decisions, doc.autonomy);
  return {
    doc,
    denied,
    ...(saved ? {saved_to: saved} : {}),
    has_changes: hasChanges(doc.steps),
    needs_human: humanNeeds(g, doc.autonomy),
    approvals_needed: approvalsNeeded(g),
  };
}

/** A saved plan, its signature checked against the workspace key and any --trusted-key. */
export function loadPlan(ctx: OrxContext, file: string, trustedKeys: string[]): Promise<PlanDocument> {
  refuseVariablesWithSavedPlan(ctx, file);
  return loadSavedPlan(ctx, path.resolve(ctx.dir, file), trustedKeys);
}

/** A plan made now for an apply (nothing saved). */
export function planForApply(ctx: OrxContext, o: PlanOptions): Promise<PlanDocument> {
  return planWorkspace(ctx, o);
}
