// When a readiness estimate is knowledge: enough recorded outcomes of each step kind in the
// plan. Apart from the simulation so that a plan's view can ask without loading it.
import type {History, SimStep} from './readiness.js';

/**
 * Recorded outcomes a step kind needs before its estimate is knowledge rather than the prior:
 * below it a plan says "not enough history" instead of a percentage (`--readiness` forces one).
 */
export const MIN_HISTORY_RUNS = 20;

/** The kinds of these steps with fewer than MIN_HISTORY_RUNS recorded outcomes, and how many each has. */
export function thinHistory(steps: readonly Pick<SimStep, 'kind'>[], history: History): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of [...new Set(steps.map((s) => s.kind))].sort()) {
    const h = Object.hasOwn(history, kind) ? history[kind] : undefined;
    const runs = (h?.successes ?? 0) + (h?.failures ?? 0);
    if (runs < MIN_HISTORY_RUNS) out[kind] = runs;
  }
  return out;
}
