import {ForcedStop} from '../src/engine/forced-stop.js';
import {applyWorkspace} from '../src/engine/operations.js';
import {type OrxContext} from '../src/engine/context.js';
import {refuseIfDenied, reviewPolicy} from '../src/engine/policy-eval.js';
import {preloadCheckpointSigner, withCheckpointedLedger} from '../src/engine/checkpoint.js';
import type {ChaosSpec} from '../src/sim/chaos.js';
import {planDigest, type PlanDocument} from '../src/engine/planfile.js';
import {hasChanges, summarize} from '../src/engine/planner.js';
import {OrxError} from '../src/errors.js';
import {EXIT} from '../src/exit-codes.js';
import {recordApprovals} from '../src/ledger/safety.js';
import {approvalRequired, gate} from '../src/policy/gate.js';
import {withoutRejected, type StepReview} from '../src/policy/review.js';
import {unfinishedSummary} from '../src/ui/apply-summary.js';
import {renderPlan, summaryLine} from '../src/ui/plan-view.js';
import {jsonProgressReporter, progressReporter} from '../src/ui/progress.js';
import type {ReviewStep} from '../src/ui/review/types.js';
import type {CommandResult} from './base.js';
import {watchStopSignals} from '../src/cli/stop-signals.js';

export interface ApplyFlowOptions {
  ctx: OrxContext;
  doc: PlanDocument;
  /** a saved plan: its approvals may already be in the ledger, and it needs no confirmation of its own */
  fromFile: boolean;
  autoApprove: boolean;
  parallelism: number;
  json: boolean;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  logFormat: string;
  /** autonomy for this apply: the plan's, or lower when --autonomy asks */
  autonomy: number;
  /** --chaos SEED[,rate=R][,kinds=K]: a rehearsal that injects failures */
  chaos?: ChaosSpec;
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

/**
 * ink decides once, when it is first imported, that CI=true means nobody is watching, and
 * then draws only the last frame. orx has just seen a terminal on stdin and stderr, so the
 * review screen must be live even inside a CI job (a tmux session in one, say).
 */
async function loadReviewScreen(): Promise<typeof import('../src/ui/review/render-review.js')> {
  const saved = {CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION};
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  try {
    return await import('../src/ui/review/render-review.js');
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
}

/**
 * Review, approvals and the apply itself. Without a terminal nothing is ever asked:
 * steps that need a human either have an approval in the ledger for this exact plan
 * digest, or the command exits 3 naming them.
 */
export async function runApplyFlow(o: ApplyFlowOptions): Promise<CommandResult> {
  const {doc} = o;
  const base = {plan_id: doc.plan_id, kind: doc.kind, summary: doc.summary};
  // today's policies and waivers decide, not the decisions the plan carries
  const policy = await reviewPolicy(o.ctx.dir, doc, o.autonomy);
  if (policy.differs && o.fromFile)
    o.ctx.log.warn(`plan ${doc.plan_id} carries policy decisions that differ from today's evaluation; today's are shown and apply`);
  refuseIfDenied(policy.verdict.decisions, o.fromFile ? `plan ${doc.plan_id}` : 'this plan');
  if (!hasChanges(doc.steps)) {
    return {data: {...base, status: 'no-changes', steps: []}, human: summaryLine(doc)};
  }
  const digest = planDigest(doc);
  const autonomy = policy.autonomy;
  const g = gate(doc.steps, policy.verdict.decisions, autonomy, policy.approvals);
  if (!o.json)
    process.stdout.write(renderPlan({...doc, policy: {decisions: policy.verdict.decisions, waivers: policy.verdict.waivers}}) + '\n');

  const tty = o.stdinIsTTY && o.stderrIsTTY;
  let rejected = new Set(g.rejected);
  if (tty && (!o.autoApprove || g.pending.length > 0) && (!o.fromFile || g.pending.length > 0)) {
    const {renderReview} = await loadReviewScreen();
    const result = await renderReview(
      {planId: doc.plan_id, kind: doc.kind, summary: doc.summary, steps: reviewSteps(g.review.steps, g.approved)},
      {stdin: process.stdin, stdout: process.stderr, isTTY: true},
    );
    if (!result)
      throw new OrxError({
        code: 'approval_declined',
        exit: EXIT.APPROVAL,
        message: `${doc.kind} cancelled at the review screen: nothing was changed`,
      });
    const actor = o.ctx.actor;
    const decided = [
      // what a human decided: approvals of steps that needed one, and every rejection
      ...result.approved
        .filter((a) => g.pending.some((p) => p.step.address === a))
        .map((address) => ({address, decision: 'approved' as const})),
      ...result.rejected.map((address) => ({address, decision: 'rejected' as const})),
    ];
    if (decided.length > 0) {
      await withCheckpointedLedger(o.ctx, {reason: 'approve'}, (l) =>
        recordApprovals(
          l,
          decided.map((d) => ({
            ...d,
            plan_id: doc.plan_id,
            plan_digest: digest,
            actor,
            reason: result.reason || '(none given)',
            run_id: null,
          })),
        ),
      );
    }
    rejected = new Set([...rejected, ...result.rejected]);
  } else {
    if (!o.fromFile && !o.autoApprove) {
      throw new OrxError({
        code: 'approval_required',
        exit: EXIT.APPROVAL,
        message: `this ${doc.kind} needs confirmation and there is no terminal to ask on`,
        actions: [
          'Review the plan above, then rerun with --auto-approve (or ORX_AUTO_APPROVE=1), or save it with `orx plan -out FILE`, `orx approve FILE ...` and `orx apply FILE`.',
        ],
        data: {needs_approval: g.pending.map((r) => ({address: r.step.address, category: r.step.category, why: r.approval}))},
      });
    }
    if (g.pending.length > 0) throw approvalRequired(g.pending, autonomy);
  }

  const {kept, dropped} = withoutRejected(doc.steps, rejected);
  if (dropped.length > 0 && !o.json) process.stderr.write(`Rejected, not applied: ${dropped.join(', ')}\n`);
  if (!hasChanges(kept)) {
    return {data: {...base, status: 'nothing-approved', dropped, steps: []}, human: 'Nothing left to apply: every change was rejected.'};
  }

  const forced = new ForcedStop();
  const stop = watchStopSignals(() => forced.run());
  // the run ends with a signed checkpoint: its code loads while the steps run
  preloadCheckpointSigner(o.ctx.dir);
  const progress =
    o.logFormat === 'json' ? jsonProgressReporter(o.ctx.log) : progressReporter((s) => process.stderr.write(s), o.stderrIsTTY && !o.json);
  try {
    const out = await applyWorkspace(o.ctx, doc, {
      parallelism: o.parallelism,
      signal: stop.signal,
      events: progress,
      steps: kept,
      chaos: o.chaos,
      autonomy,
      forced,
    });
    progress.close();
    const steps = out.results.map((r) => ({
      address: r.step.address,
      action: r.step.action,
      status: r.status,
      ...(r.error ? {error: r.error} : {}),
      ...(r.adopted ? {adopted: true} : {}),
      ...(r.rollback_failed ? {rollback_failed: true} : {}),
      ...(r.destroyed ? {destroyed: true} : {}),
    }));
    const status = out.halted ? 'halted' : out.interrupted ? 'interrupted' : out.failed ? 'failed' : 'succeeded';
    const data = {
      ...base,
      run_id: out.run_id,
      serial: out.serial,
      status,
      steps,
      ...(dropped.length ? {dropped} : {}),
      ...(out.halted ? {halted: out.halted} : {}),
      ...(out.rto_ms !== undefined ? {rto_ms: out.rto_ms} : {}),
    };
    const done = steps.filter((s) => s.status === 'succeeded');
    if (out.failed || out.interrupted || out.halted) {
      const headline = out.halted
        ? `Apply stopped: ${out.halted} (run ${out.run_id}).`
        : out.interrupted
          ? `Apply interrupted (run ${out.run_id}).`
          : `Apply failed partway (run ${out.run_id}).`;
      return {
        data,
        human: unfinishedSummary(headline, steps),
        exit: out.halted ? EXIT.APPROVAL : out.interrupted ? EXIT.INTERRUPTED : EXIT.PARTIAL,
      };
    }
    const {create, update, replace, delete: del} = summarize(kept);
    const partial = dropped.length ? ` (${dropped.length} rejected step(s) left out)` : '';
    if (doc.kind === 'backup' || doc.kind === 'restore' || doc.kind === 'prune') {
      const what =
        doc.kind === 'backup'
          ? `Backup complete: ${done.length} step(s)`
          : doc.kind === 'restore'
            ? `Restore complete: ${done.length} step(s), RTO ${((out.rto_ms ?? 0) / 1000).toFixed(1)} s (apply start to healthy)`
            : `Prune complete: ${del} backup(s) deleted`;
      return {data, human: `${what}${partial}. (run ${out.run_id})`};
    }
    return {
      data,
      human: `Apply complete! Resources: ${create} added, ${update} changed, ${replace} replaced, ${del} destroyed${partial}. (run ${out.run_id}, serial ${out.serial})`,
    };
  } finally {
    progress.close();
    stop.off();
  }
}
