// The safety category a step has by what it does (DESIGN.md's table): what the planner gives
// it, what a policy test fixture defaults to, and the least a saved plan may claim.
import type {PlannedStep, SafetyCategory} from '../resources/types.js';

const DEPLOYS = new Set(['agent', 'cluster', 'manifests']);

export function leastCategory(s: {kind: string; action: PlannedStep['action']; after?: PlannedStep['after']}): SafetyCategory {
  if (s.action === 'noop') return 'READ';
  if (s.action === 'delete') return 'DESTROY';
  if (s.kind === 'volume' && s.action === 'replace') return 'DESTROY';
  if (s.kind === 'dr') {
    const op = (s.after as {op?: unknown} | null | undefined)?.op;
    if (op === 'restore-volume' || op === 'restore-ledger') return 'DESTROY';
    return op === 'restore-check' ? 'READ' : 'WRITE';
  }
  return DEPLOYS.has(s.kind) ? 'DEPLOY' : 'WRITE';
}
