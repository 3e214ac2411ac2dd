// Apply a plan: today's policy decides, a human reviews what needs one (or the ledger holds
// their approval for this exact plan digest), then the executor runs what was kept.
import {preloadCheckpointSigner, withCheckpointedLedger} from '../engine/checkpoint.js';
import type {OrxContext} from '../engine/context.js';
import type {ExecutorEvents} from '../engine/executor.js';
import {ForcedStop} from '../engine/forced-stop.js';
import {applyWorkspace} from '../engine/operations.js';
import {planDigest, type PlanDocument} from '../engine/planfile.js';
import {hasChanges, summarize} from '../engine/planner.js';
import {refuseIfDenied, reviewPolicy} from '../engine/policy-eval.js';
import {OrxError} from '../errors.js';
import {EXIT, type ExitCode} from '../exit-codes.js';
import {recordApprovals} from '../ledger/approvals.js';
import {approvalRequired, gate} from '../policy/gate.js';
import {withoutRejected, type StepReview} from '../policy/review.js';
import type {ChaosSpec} from '../sim/chaos.js';
import {outputsAfterApply, type OutputEntry} from './output.js';
import {humanNeeds, type HumanNeeds} from './plan.js';
import type {ReviewInput, ReviewResult, ReviewStep} from '../ui/review/types.js';

export interface ApplyRequest {
  doc: PlanDocument;
  /** a saved plan: its approvals may already be in the ledger, and it needs no confirmation of its own */
  fromFile: boolean;
  /** the saved plan's path as the user gave it, for the hints of a refusal */
  file?: string;
  autoApprove: boolean;
  parallelism: number;
  /** autonomy for this apply: the plan's, or lower when --autonomy asks */
  autonomy: number;
  /** --chaos SEED[,rate=R][,kinds=K]: a rehearsal that injects failures */
  chaos?: ChaosSpec;
}

/** What the terminal side gives an apply: it decides how each thing is shown or asked. */
export interface ApplyIO {
  /** the plan, with today's policy decisions, before anything is asked or changed; `reviewing`: the review screen follows */
  showPlan(doc: PlanDocument, needs: HumanNeeds, reviewing: boolean): void;
  /** the review screen, when there is a terminal to ask on; null: the reviewer cancelled */
  review?: (input: ReviewInput) => Promise<ReviewResult | null>;
  /** the steps a reviewer rejected, which are left out */
  onRejected(dropped: string[]): void;
  /** the running steps' progress */
  events: ExecutorEvents & {close(): void};
  /** stop signals for the run: the first aborts, a second runs `forced` and ends the process */
  watchStop(forced: ForcedStop): {signal: AbortSignal; off(): void};
}

export interface AppliedStep {
  address: string;
  action: string;
  status: string;
  error?: string;
  adopted?: true;
  rollback_failed?: true;
  destroyed?: true;
}

export type ApplyStatus = 'no-changes' | 'nothing-approved' | 'succeeded' | 'failed' | 'interrupted' | 'halted';

export interface ApplyResult {
  plan_id: string;
  kind: PlanDocument['kind'];
  summary: PlanDocument['summary'];
  status: ApplyStatus;
  steps: AppliedStep[];
  dropped?: string[];
  run_id?: string;
  serial?: number;
  halted?: string;
  rto_ms?: number;
  /** orchestration.yml's `outputs:` over the state after the apply (present when it declares any) */
  outputs?: OutputEntry[];
}

export interface ApplyOutcome {
  result: ApplyResult;
  /** what the kept steps do, for the closing line */
  counts: ReturnType<typeof summarize>;
  exit?: ExitCode;
}

function reviewSteps(reviews: StepReview[], approvedAlready: Set<string>): ReviewStep[] {
  return reviews.map((r) => ({
    id: r.step.id,
    address: r.step.address,
    kind: r.step.kind,
    action: r.step.action,
    category: r.step.category,
    changes: r.step.changes,
    after: r.step.after,
    depends_on: r.step.depends_on,
    needs_approval: r.approval.length > 0 && !approvedAlready.has(r.step.address),
    reason_required: r.reason_required && !approvedAlready.has(r.step.address),
    notes: r.notes.map((n) => ({rule: n.rule, effect: n.effect, message: n.message, ...(n.waiver ? {waived: true} : {})})),
  }));
}

/** After an apply of the configuration (not a destroy or a DR plan), what `outputs:` now give. */
async function outputsOf(ctx: OrxContext, doc: PlanDocument): Promise<{outputs?: OutputEntry[]}> {
  if (doc.kind !== 'apply') return {};
  const outputs = await outputsAfterApply(ctx, doc.variables);
  return outputs ? {outputs} : {};
}

const EXIT_FOR: Partial<Record<ApplyStatus, ExitCode>> = {halted: EXIT.APPROVAL, interrupted: EXIT.INTERRUPTED, failed: EXIT.PARTIAL};

/**
 * Review, approvals and the apply itself. Without a terminal nothing is ever asked:
 * steps that need a human either have an approval in the ledger for this exact plan
 * digest, or the apply is refused (exit 3) naming them.
 */
export async function applyReviewed(ctx: OrxContext, req: ApplyRequest, io: ApplyIO): Promise<ApplyOutcome> {
  const {doc} = req;
  const base = {plan_id: doc.plan_id, kind: doc.kind, summary: doc.summary};
  const none = summarize([]);
  // today's policies and waivers decide, not the decisions the plan carries
  const policy = await reviewPolicy(ctx.dir, doc, req.autonomy, ctx.vars);
  if (policy.differs && req.fromFile)
    ctx.log.warn(`plan ${doc.plan_id} carries policy decisions that differ from today's evaluation; today's are shown and apply`);
  refuseIfDenied(policy.verdict.decisions, req.fromFile ? `plan ${doc.plan_id}` : 'this plan');
  if (!hasChanges(doc.steps)) return {result: {...base, status: 'no-changes', steps: [], ...(await outputsOf(ctx, doc))}, counts: none};
  const digest = planDigest(doc);
  const autonomy = policy.autonomy;
  const g = gate(doc.steps, policy.verdict.decisions, autonomy, policy.approvals);
  const reviewing = io.review !== undefined && (!req.autoApprove || g.pending.length > 0) && (!req.fromFile || g.pending.length > 0);
  io.showPlan({...doc, policy: {decisions: policy.verdict.decisions, waivers: policy.verdict.waivers}}, humanNeeds(g, autonomy), reviewing);

  let rejected = new Set(g.rejected);
  if (reviewing && io.review) {
    const result = await io.review({
      planId: doc.plan_id,
      kind: doc.kind,
      summary: doc.summary,
      steps: reviewSteps(g.review.steps, g.approved),
    });
    if (!result)
      throw new OrxError({
        code: 'approval_declined',
        exit: EXIT.APPROVAL,
        message: `${doc.kind} cancelled at the review screen: nothing was changed`,
      });
    const decided = [
      // what a human decided: approvals of steps that needed one, and every rejection
      ...result.approved
        .filter((a) => g.pending.some((p) => p.step.address === a))
        .map((address) => ({address, decision: 'approved' as const})),
      ...result.rejected.map((address) => ({address, decision: 'rejected' as const})),
    ];
    if (decided.length > 0) {
      await withCheckpointedLedger(ctx, {reason: 'approve'}, (l) =>
        recordApprovals(
          l,
          decided.map((d) => ({
            ...d,
            plan_id: doc.plan_id,
            plan_digest: digest,
            actor: ctx.actor,
            reason: result.reason || '(none given)',
            run_id: null,
          })),
        ),
      );
    }
    rejected = new Set([...rejected, ...result.rejected]);
  } else {
    // the one verdict without a terminal: a saved plan's approvals are in the ledger, a plan
    // made now was confirmed with --auto-approve, and whatever still needs a human is refused
    const hint = {kind: doc.kind, ...(req.file ? {file: req.file} : {})};
    if (!req.fromFile && !req.autoApprove) throw approvalRequired(g.pending, autonomy, {...hint, confirm: doc.kind});
    if (g.pending.length > 0) throw approvalRequired(g.pending, autonomy, hint);
  }

  const {kept, dropped} = withoutRejected(doc.steps, rejected);
  if (dropped.length > 0) io.onRejected(dropped);
  if (!hasChanges(kept)) return {result: {...base, status: 'nothing-approved', dropped, steps: []}, counts: none};

  const forced = new ForcedStop();
  const stop = io.watchStop(forced);
  // the run ends with a signed checkpoint: its code loads while the steps run
  preloadCheckpointSigner(ctx.dir);
  try {
    const out = await applyWorkspace(ctx, doc, {
      parallelism: req.parallelism,
      signal: stop.signal,
      events: io.events,
      steps: kept,
      chaos: req.chaos,
      autonomy,
      forced,
    });
    io.events.close();
    const steps: AppliedStep[] = out.results.map((r) => ({
      address: r.step.address,
      action: r.step.action,
      status: r.status,
      ...(r.error ? {error: r.error} : {}),
      ...(r.adopted ? {adopted: true as const} : {}),
      ...(r.rollback_failed ? {rollback_failed: true as const} : {}),
      ...(r.destroyed ? {destroyed: true as const} : {}),
    }));
    const status: ApplyStatus = out.halted ? 'halted' : out.interrupted ? 'interrupted' : out.failed ? 'failed' : 'succeeded';
    const result: ApplyResult = {
      ...base,
      run_id: out.run_id,
      serial: out.serial,
      status,
      steps,
      ...(dropped.length ? {dropped} : {}),
      ...(out.halted ? {halted: out.halted} : {}),
      ...(out.rto_ms !== undefined ? {rto_ms: out.rto_ms} : {}),
      ...(status === 'succeeded' ? await outputsOf(ctx, doc) : {}),
    };
    return {result, counts: summarize(kept), exit: EXIT_FOR[status]};
  } finally {
    io.events.close();
    stop.off();
  }
}
