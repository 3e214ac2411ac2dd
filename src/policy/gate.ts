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

/** How a refused apply can be run again without a terminal, with what can actually pass. */
export interface ApprovalHint {
  /** a plan made just now that nobody confirmed: its kind ("apply", "destroy", ...) */
  confirm?: string;
  /** the kind of plan refused: the command that saves one like it (`orx plan -destroy -out F`) */
  kind?: string;
  /** the saved plan refused, as the user named it: approve that one, nothing to save */
  file?: string;
}

// the command that makes and saves a plan of each kind
const SAVE_PLAN: Record<string, string> = {
  apply: 'orx plan -out plans/next.json',
  destroy: 'orx plan -destroy -out plans/destroy.json',
  backup: 'orx dr backup -out plans/backup.json',
  restore: 'orx dr restore BACKUP_ID -out plans/restore.json',
  prune: 'orx dr prune -out plans/prune.json',
};

/** `orx approve F --all --reason … && orx apply F`, after saving F when it is not saved yet. */
function approveChain(o: ApprovalHint): string {
  if (o.file)
    return `Record the approvals, then apply it: orx approve ${o.file} --all --reason "…" && orx apply ${o.file} (or --step ADDR for some of the steps).`;
  const save = SAVE_PLAN[o.kind ?? 'apply'] ?? SAVE_PLAN.apply;
  const file = save.slice(save.lastIndexOf(' ') + 1);
  return `Save it, approve it, apply it: ${save} && orx approve ${file} --all --reason "…" && orx apply ${file} (or --step ADDR for some of the steps).`;
}

/** The one "a human must approve first" refusal (exit 3), naming each step and why, with a command that can pass. */
export function approvalRequired(pending: StepReview[], autonomy: number, opts: ApprovalHint = {}): OrxError {
  const data = {needs_approval: pending.map((r) => ({address: r.step.address, category: r.step.category, why: r.approval}))};
  // a plan made just now that nobody confirmed, and nothing in it needs more than a confirmation
  if (opts.confirm && pending.length === 0)
    return new OrxError({
      code: 'approval_required',
      exit: EXIT.APPROVAL,
      message: `this ${opts.confirm} needs confirmation and there is no terminal to ask on`,
      actions: [
        'Review the plan above, then rerun with --auto-approve (or ORX_AUTO_APPROVE=1).',
        `Or save it for review: ${SAVE_PLAN[opts.kind ?? opts.confirm] ?? SAVE_PLAN.apply}, then orx apply with that file.`,
      ],
      data,
    });
  return new OrxError({
    code: 'approval_required',
    exit: EXIT.APPROVAL,
    message: `${pending.length} step(s) need a human's approval (autonomy ${autonomy}), and nothing is ever asked without a terminal (--auto-approve does not approve them):\n${describePending(pending)}`,
    actions: [approveChain(opts), 'Or run on a terminal to review it, or lower what needs a human with `autonomy:` in orchestration.yml.'],
    data,
  });
}
