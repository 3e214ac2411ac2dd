// `orx runs [ID]`: the apply runs recorded in the ledger, or one with its steps and approvals.
import type {OrxContext} from '../engine/context.js';
import {withLedger} from '../ledger/session.js';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import {approvalsFor} from '../ledger/approvals.js';

export type RunRecord = NonNullable<ReturnType<Ledger['getRun']>>;
export type StepRecord = ReturnType<Ledger['listSteps']>[number];
export type ApprovalRecord = ReturnType<typeof approvalsFor>[number];

export function listRuns(ctx: OrxContext, limit: number): Promise<{runs: RunRecord[]}> {
  return withLedger(ctx.dir, (ledger) => ({runs: ledger.listRuns({limit})}));
}

export function showRun(ctx: OrxContext, id: string): Promise<{run: RunRecord; steps: StepRecord[]; approvals: ApprovalRecord[]}> {
  return withLedger(ctx.dir, (ledger) => {
    const run = ledger.getRun(id);
    if (!run) throw new OrxError({code: 'not_found', message: `no run ${id}`, actions: ['See `orx runs`.']});
    // approvals belong to the plan the run applied: its digest ties them together
    const approvals = run.plan_digest ? approvalsFor(ledger, run.plan_digest) : [];
    return {run, steps: ledger.listSteps(run.id), approvals};
  });
}
