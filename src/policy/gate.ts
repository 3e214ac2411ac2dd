// Which steps of a plan may run now: autonomy and policy say what needs a human, the
// ledger holds approvals already given for this exact plan digest.
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import type {ApprovalRecord} from '../ledger/approvals.js';
import type {PlannedStep} from '../resources/types.js';
import {reviewPlan, type DecisionLike, type PlanReview, type StepReview} from './review.js';

export interface GateResult {
  review: PlanReview;
  /** addresses a human approved (in the ledger, for this plan digest) */
  approved: Set<string>;
  rejected: Set<string>;
  /** steps that still need a human */
  pending: StepReview[];
}

export function gate(steps: PlannedStep[], decisions: DecisionLike[], autonomy: number, approvals: ApprovalRecord[] = []): GateResult {
  const review = reviewPlan(steps, decisions, autonomy);
  const approved = new Set<string>();
  const rejected = new Set<string>();
  // in the order given: a later decision about the same step replaces an earlier one
  for (const a of approvals) {
    const targets = a.address ? [a.address] : review.steps.map((r) => r.step.address);
    for (const t of targets) {
      (a.decision === 'approved' ? approved : rejected).add(t);
      (a.decision === 'approved' ? rejected : approved).delete(t);
    }
  }
  const pending = review.steps.filter((r) => r.approval.length > 0 && !approved.has(r.step.address) && !rejected.has(r.step.address));
  return {review, approved, rejected, pending};
}

export function describePending(pending: StepReview[]): string {
  return pending.map((r) => `  ${r.step.category.padEnd(7)} ${r.step.action} ${r.step.address}: ${r.approval.join('; ')}`).join('\n');
}

/** The one "a human must approve first" refusal (exit 3), naming each step and why. */
export function approvalRequired(pending: StepReview[], autonomy: number, opts: {confirm?: string} = {}): OrxError {
  const data = {needs_approval: pending.map((r) => ({address: r.step.address, category: r.step.category, why: r.approval}))};
  // a plan made just now that nobody confirmed: the same refusal, with the ways to confirm it
  if (opts.confirm)
    return new OrxError({
      code: 'approval_required',
      exit: EXIT.APPROVAL,
      message: `this ${opts.confirm} needs confirmation and there is no terminal to ask on`,
      actions: [
        'Review the plan above, then rerun with --auto-approve (or ORX_AUTO_APPROVE=1), or save it with `orx plan -out FILE`, `orx approve FILE ...` and `orx apply FILE`.',
      ],
      data,
    });
  return new OrxError({
    code: 'approval_required',
    exit: EXIT.APPROVAL,
    message: `${pending.length} step(s) need a human's approval (autonomy ${autonomy}), and nothing is ever asked without a terminal:\n${describePending(pending)}`,
    actions: [
      'Save the plan (`orx plan -out FILE`), record approvals with `orx approve FILE --step ADDR|--all --reason TEXT`, then `orx apply FILE`.',
      'Or run on a terminal to review it, or lower what needs a human with `autonomy:` in orchestration.yml.',
    ],
    data,
  });
}
