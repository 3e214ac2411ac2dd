import readline from 'node:readline';
import {applyWorkspace, type OrxContext} from '../src/engine/operations.js';
import type {PlanDocument} from '../src/engine/planfile.js';
import {hasChanges} from '../src/engine/planner.js';
import {OrxError} from '../src/errors.js';
import {EXIT} from '../src/exit-codes.js';
import {renderPlan, summaryLine} from '../src/ui/plan-view.js';
import {jsonProgressReporter, progressReporter} from '../src/ui/progress.js';
import type {CommandResult} from './base.js';

export interface ApplyFlowOptions {
  ctx: OrxContext;
  doc: PlanDocument;
  /** a saved plan was reviewed already: no confirmation */
  fromFile: boolean;
  autoApprove: boolean;
  parallelism: number;
  json: boolean;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  logFormat: string;
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({input: process.stdin, output: process.stderr});
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

export async function runApplyFlow(o: ApplyFlowOptions): Promise<CommandResult> {
  const {doc} = o;
  const planText = renderPlan(doc);
  const base = {plan_id: doc.plan_id, kind: doc.kind, summary: doc.summary};
  if (!hasChanges(doc.steps)) {
    return {data: {...base, status: 'no-changes', steps: []}, human: summaryLine(doc)};
  }
  if (!o.json) process.stdout.write(planText + '\n');
  if (!o.fromFile && !o.autoApprove) {
    if (!o.stdinIsTTY) {
      throw new OrxError({
        code: 'approval_required',
        exit: EXIT.APPROVAL,
        message: `this ${doc.kind} needs approval and there is no terminal to ask on`,
        actions: ['Review the plan above, then rerun with --auto-approve (or ORX_AUTO_APPROVE=1), or save it with `orx plan -out FILE` and `orx apply FILE`.'],
        data: {steps: doc.steps.filter((s) => s.action !== 'noop').map((s) => ({address: s.address, action: s.action, category: s.category}))},
      });
    }
    const verb = doc.kind === 'destroy' ? 'destroy everything this workspace owns' : 'perform these actions';
    if (!(await confirm(`Do you want to ${verb}? Only 'yes' will be accepted: `))) {
      throw new OrxError({code: 'approval_declined', exit: EXIT.APPROVAL, message: `${doc.kind} cancelled: nothing was changed`});
    }
  }

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) {
      process.stderr.write('\nInterrupt received: no new steps will start; waiting for running ones to finish (press again to stop at once).\n');
      controller.abort();
    } else {
      process.exit(EXIT.INTERRUPTED);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = o.logFormat === 'json' ? jsonProgressReporter(o.ctx.log) : progressReporter((s) => process.stderr.write(s), o.stderrIsTTY && !o.json);
  try {
    const out = await applyWorkspace(o.ctx, doc, {parallelism: o.parallelism, signal: controller.signal, events: progress});
    progress.close();
    const steps = out.results.map((r) => ({address: r.step.address, action: r.step.action, status: r.status, ...(r.error ? {error: r.error} : {}), ...(r.adopted ? {adopted: true} : {})}));
    const data = {...base, run_id: out.run_id, serial: out.serial, status: out.interrupted ? 'interrupted' : out.failed ? 'failed' : 'succeeded', steps};
    const done = steps.filter((s) => s.status === 'succeeded');
    const notDone = steps.filter((s) => s.status !== 'succeeded');
    if (out.failed || out.interrupted) {
      const lines = [
        out.interrupted ? `Apply interrupted (run ${out.run_id}).` : `Apply failed partway (run ${out.run_id}).`,
        `Done (${done.length}): ${done.map((s) => `${s.address} ${s.action}`).join(', ') || 'nothing'}`,
        `Not done (${notDone.length}): ${notDone.map((s) => `${s.address} ${s.action} ${s.status}${s.error ? ` (${s.error})` : ''}`).join(', ')}`,
        'The ledger records both; run `orx plan` to see what is left.',
      ];
      return {data, human: lines.join('\n'), exit: out.interrupted ? EXIT.INTERRUPTED : EXIT.PARTIAL};
    }
    const {create, update, replace, delete: del} = doc.summary;
    return {data, human: `Apply complete! Resources: ${create} added, ${update} changed, ${replace} replaced, ${del} destroyed. (run ${out.run_id}, serial ${out.serial})`};
  } finally {
    progress.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
