// How a plan shows a `moved:` step (Terraform's "# a has moved to b"): kept apart from the
// attribute display in plan-view.ts.
import type {PlannedStep} from '../resources/types.js';
import {c} from './color.js';

export function renderMoveStep(s: PlannedStep, decisionLines: string[]): string {
  const to = String(s.after?.to ?? '?');
  return [
    `  ${c.bold(`# ${s.address} has moved to ${to}`)}`,
    c.dim(
      `      # the ledger record moves; ${String(s.after?.kind ?? 'the')} object ${s.object_id ?? '-'} stays as it is (its Docker name too)`,
    ),
    ...decisionLines,
  ].join('\n');
}

/** "N to move, " for the summary line, or nothing when the plan moves nothing. */
export function movesPhrase(steps: readonly PlannedStep[]): string {
  const n = steps.filter((s) => s.action === 'move').length;
  return n > 0 ? `${n} to move, ` : '';
}
