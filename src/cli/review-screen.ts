import type {ReviewInput, ReviewResult} from '../ui/review/types.js';

/**
 * ink decides once, when it is first imported, that CI=true means nobody is watching, and
 * then draws only the last frame. orx has just seen a terminal on stdin and stderr, so the
 * review screen must be live even inside a CI job (a tmux session in one, say).
 */
async function loadReviewScreen(): Promise<typeof import('../ui/review/render-review.js')> {
  const saved = {CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION};
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  try {
    return await import('../ui/review/render-review.js');
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
}

/** The review screen on this process's terminal: keys from stdin, drawn on stderr. */
export async function reviewOnTerminal(input: ReviewInput): Promise<ReviewResult | null> {
  const {renderReview} = await loadReviewScreen();
  return renderReview(input, {stdin: process.stdin, stdout: process.stderr});
}
