// An apply as the terminal sees it: the plan printed, the review screen when there is a
// terminal, progress on stderr, stop signals, and the result rendered.
import {applyReviewed, type ApplyRequest, type ApplyResult} from '../app/apply.js';
import type {OrxContext} from '../engine/context.js';
import type {ExecutorEvents} from '../engine/executor.js';
import type {PlanDocument} from '../engine/planfile.js';
import {effectiveAutonomy} from '../policy/autonomy.js';
import {parseChaos} from '../sim/chaos.js';
import {renderApplyOutcome} from '../ui/apply-view.js';
import {outputsBlock} from '../ui/output-view.js';
import {renderPlan, renderPlanContext} from '../ui/plan-view.js';
import {wrapText} from '../ui/wrap.js';
import {jsonProgressReporter, progressReporter} from '../ui/progress.js';
import type {CommandResult} from './command.js';
import {reviewOnTerminal} from './review-screen.js';
import {watchStopSignals} from './stop-signals.js';

export interface TerminalOptions {
  json: boolean;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  logFormat: string;
}

/** Everything a command hands over: its context, the plan, its flags and its terminal. */
export type ApplyFlowOptions = Omit<ApplyRequest, 'autonomy' | 'chaos'> &
  TerminalOptions & {
    ctx: OrxContext;
    /** --autonomy: lower than the plan's for this apply */
    autonomy?: number;
    /** --chaos SEED[,rate=R][,kinds=K] */
    chaos?: string;
  };

export function runApplyFlow(o: ApplyFlowOptions): Promise<CommandResult<ApplyResult>> {
  const {ctx, json, stdinIsTTY, stderrIsTTY, logFormat, autonomy, chaos, ...req} = o;
  return runApply(
    ctx,
    {...req, autonomy: effectiveAutonomy(req.doc.autonomy, autonomy), chaos: chaos === undefined ? undefined : parseChaos(chaos)},
    {json, stdinIsTTY, stderrIsTTY, logFormat},
  );
}

type Reporter = ExecutorEvents & {close(): void};

/**
 * The progress line starts with the first step, not before: its ticker would otherwise draw
 * over the review screen, and leave a stray status line above it.
 */
function startedOnFirstEvent(make: () => Reporter): Reporter {
  let r: Reporter | undefined;
  const get = (): Reporter => (r ??= make());
  return {
    onStart: (step) => get().onStart?.(step),
    onFinish: (result) => get().onFinish?.(result),
    onDetail: (address, detail) => get().onDetail?.(address, detail),
    close: () => r?.close(),
  };
}

async function runApply(ctx: OrxContext, req: ApplyRequest, term: TerminalOptions): Promise<CommandResult<ApplyResult>> {
  const events = startedOnFirstEvent(() =>
    term.logFormat === 'json'
      ? jsonProgressReporter(ctx.log)
      : progressReporter((s) => process.stderr.write(s), term.stderrIsTTY && !term.json),
  );
  // closed on every way out: a refusal before any step runs (no terminal to ask on, stdin
  // redirected or -input=false) must not leave the progress line ticking and the process alive
  try {
    return await runReviewed(ctx, req, term, events);
  } finally {
    events.close();
  }
}

async function runReviewed(
  ctx: OrxContext,
  req: ApplyRequest,
  term: TerminalOptions,
  events: Reporter,
): Promise<CommandResult<ApplyResult>> {
  const outcome = await applyReviewed(ctx, req, {
    showPlan: (doc: PlanDocument, needs, reviewing) => {
      // on a terminal the review screen shows the steps and the summary: printed too, they would
      // be said twice; what it does not show (drift, waivers, plan-wide policy) is printed above it
      if (term.json) return;
      if (reviewing) process.stdout.write(wrapText(renderPlanContext(doc), (process.stdout.columns || 80) - 1));
      else process.stdout.write(renderPlan(doc, {needs}) + '\n');
    },
    review: term.stdinIsTTY && term.stderrIsTTY ? reviewOnTerminal : undefined,
    onRejected: (dropped) => {
      if (!term.json) process.stderr.write(`Rejected, not applied: ${dropped.join(', ')}\n`);
    },
    events,
    watchStop: (forced) => watchStopSignals(() => forced.run()),
  });
  return {
    data: {...outcome.result},
    human: renderApplyOutcome(req.doc, outcome) + outputsBlock(outcome.result.outputs),
    exit: outcome.exit,
  };
}
