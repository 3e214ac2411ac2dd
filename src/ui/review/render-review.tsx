// The TTY wrapper around ReviewScreen: never prompts without a terminal.
import {render} from 'ink';
import {ReviewScreen} from './ReviewScreen.js';
import type {ReviewInput, ReviewResult} from './types.js';

export interface RenderReviewOptions {
  /** Keys come from here (process.stdin in real use). */
  stdin: NodeJS.ReadStream;
  /** The screen is drawn here: process.stderr in real use, so stdout stays for results. */
  stdout: NodeJS.WriteStream;
}

/**
 * Shows the review screen and resolves with the decisions, or null when cancelled.
 * Called only with a terminal on both ends (the CLI decides; nothing is ever asked without one).
 * Unmounts (and restores the terminal) before resolving.
 */
export async function renderReview(input: ReviewInput, opts: RenderReviewOptions): Promise<ReviewResult | null> {
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
