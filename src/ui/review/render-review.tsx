// The TTY wrapper around ReviewScreen: never prompts without a terminal.
import {render} from 'ink';
import {OrxError} from '../../errors.js';
import {EXIT} from '../../exit-codes.js';
import {ReviewScreen} from './ReviewScreen.js';
import type {ReviewInput, ReviewResult} from './types.js';

export interface RenderReviewOptions {
  /** Keys come from here (process.stdin in real use). */
  stdin: NodeJS.ReadStream;
  /** The screen is drawn here: process.stderr in real use, so stdout stays for results. */
  stdout: NodeJS.WriteStream;
  /** Whether there is a terminal to review on (decided by the command layer: stdin and the output are TTYs). */
  isTTY: boolean;
}

/** The error when there is no terminal to review on (exit 3). */
export function noTerminalError(input: Pick<ReviewInput, 'planId' | 'steps'>): OrxError {
  const needing = input.steps.filter((s) => s.needs_approval).map((s) => s.address);
  return new OrxError({
    code: 'approval_required',
    exit: EXIT.APPROVAL,
    message: `There is no terminal to review plan ${input.planId} on: ${needing.length} step(s) need approval${needing.length ? ` (${needing.join(', ')})` : ''}.`,
    actions: [
      'Pass --auto-approve to apply the steps that autonomy and policy allow without a human.',
      'Or record approvals for a saved plan with `orx approve FILE --step ADDR|--all --reason TEXT`, then run `orx apply FILE`.',
    ],
    data: {plan_id: input.planId, needs_approval: needing},
  });
}

/**
 * Shows the review screen and resolves with the decisions, or null when cancelled.
 * Refuses (OrxError, exit 3) without a TTY. Unmounts (and restores the terminal) before resolving.
 */
export async function renderReview(input: ReviewInput, opts: RenderReviewOptions): Promise<ReviewResult | null> {
  if (!opts.isTTY) throw noTerminalError(input);
  return new Promise<ReviewResult | null>((resolve, reject) => {
    let outcome: ReviewResult | null = null;
    let finished = false;
    const finish = (result: ReviewResult | null): void => {
      if (finished) return;
      finished = true;
      outcome = result;
      // let ink draw the final frame, then unmount
      setImmediate(() => instance.unmount());
    };
    const instance = render(<ReviewScreen {...input} onSubmit={(r) => finish(r)} onCancel={() => finish(null)} />, {
      stdin: opts.stdin,
      stdout: opts.stdout,
      exitOnCtrlC: false, // ctrl-c cancels through the screen, so the promise always settles
      patchConsole: false,
    });
    instance.waitUntilExit().then(
      () => resolve(outcome),
      (err: unknown) => reject(err as Error),
    );
  });
}
