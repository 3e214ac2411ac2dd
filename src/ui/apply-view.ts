// How an apply's result reads in a terminal, by plan kind.
import type {ApplyOutcome} from '../app/apply.js';
import type {PlanDocument} from '../engine/planfile.js';
import {unfinishedSummary} from './apply-summary.js';
import {summaryLine} from './plan-view.js';

export function renderApplyOutcome(doc: PlanDocument, {result: r, counts}: ApplyOutcome): string {
  if (r.status === 'no-changes') return summaryLine(doc);
  if (r.status === 'nothing-approved') return 'Nothing left to apply: every change was rejected.';
  const run = r.run_id ?? '';
  if (r.status !== 'succeeded') {
    const headline =
      r.status === 'halted'
        ? `Apply stopped: ${r.halted} (run ${run}).`
        : r.status === 'interrupted'
          ? `Apply interrupted (run ${run}).`
          : `Apply failed partway (run ${run}).`;
    return unfinishedSummary(headline, r.steps);
  }
  const dropped = r.dropped?.length ?? 0;
  const partial = dropped ? ` (${dropped} rejected step(s) left out)` : '';
  const done = r.steps.filter((s) => s.status === 'succeeded').length;
  if (r.kind === 'backup') return `Backup complete: ${done} step(s)${partial}. (run ${run})`;
  if (r.kind === 'restore')
    return `Restore complete: ${done} step(s), RTO ${((r.rto_ms ?? 0) / 1000).toFixed(1)} s (apply start to healthy)${partial}. (run ${run})`;
  if (r.kind === 'prune') return `Prune complete: ${counts.delete} backup(s) deleted${partial}. (run ${run})`;
  return `Apply complete! Resources: ${counts.create} added, ${counts.update} changed, ${counts.replace} replaced, ${counts.delete} destroyed${partial}. (run ${run}, serial ${r.serial})`;
}
