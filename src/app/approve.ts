// `orx approve FILE`: a human's decision on steps of a saved, signed plan, recorded in the ledger.
import path from 'node:path';
import {withCheckpointedLedger} from '../engine/checkpoint.js';
import type {OrxContext} from '../engine/context.js';
import {loadSavedPlan} from '../engine/operations.js';
import {planDigest} from '../engine/planfile.js';
import {refuseIfDenied, reviewPolicy} from '../engine/policy-eval.js';
import {OrxError} from '../errors.js';
import {recordApprovals} from '../ledger/approvals.js';

export interface ApproveRequest {
  file: string;
  /** null: every step */
  steps: string[] | null;
  reason: string;
  reject: boolean;
  /** recorded instead of the actor (a reviewer approving for someone, say) */
  as?: string;
  trustedKeys: string[];
}

export interface ApproveResult {
  plan_id: string;
  plan_digest: string;
  approvals: ReturnType<typeof recordApprovals>;
  decision: 'approved' | 'rejected';
  actor: string;
}

export async function approvePlan(ctx: OrxContext, req: ApproveRequest): Promise<ApproveResult> {
  if (req.steps !== null && req.steps.length === 0)
    throw new OrxError({code: 'usage', message: 'say which steps: --step ADDR (repeatable) or --all'});
  if (!req.reason.trim()) throw new OrxError({code: 'usage', message: '--reason must not be empty'});
  // approving a plan whose signature does not hold would approve nobody knows what
  const doc = await loadSavedPlan(ctx, path.resolve(ctx.dir, req.file), req.trustedKeys);
  const inPlan = new Set(doc.steps.filter((s) => s.action !== 'noop' || s.record).map((s) => s.address));
  for (const a of req.steps ?? []) {
    if (!inPlan.has(a))
      throw new OrxError({
        code: 'not_in_plan',
        message: `${a} is not a step of plan ${doc.plan_id}`,
        actions: [`Steps: ${[...inPlan].join(', ') || '(none)'}`],
      });
  }
  // approving what today's policies deny would record a human's yes to something that can never run
  if (!req.reject) refuseIfDenied((await reviewPolicy(ctx.dir, doc, undefined, ctx.vars)).verdict.decisions, `plan ${doc.plan_id}`);
  const digest = planDigest(doc);
  const actor = req.as ?? ctx.actor;
  const decision = req.reject ? ('rejected' as const) : ('approved' as const);
  const approvals = await withCheckpointedLedger(ctx, {reason: 'approve'}, (l) =>
    recordApprovals(
      l,
      (req.steps ?? [null]).map((address) => ({
        plan_id: doc.plan_id,
        plan_digest: digest,
        address,
        decision,
        actor,
        reason: req.reason,
        run_id: null,
      })),
    ),
  );
  return {plan_id: doc.plan_id, plan_digest: digest, approvals, decision, actor};
}
