// The least safety category a step can have, from what it does: a saved plan cannot make a
// delete look like a READ to slip past autonomy and the rules that match on categories.
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import type {PlannedStep, SafetyCategory} from '../resources/types.js';

const RANK: Record<SafetyCategory, number> = {READ: 0, WRITE: 1, ROLLBACK: 1, DEPLOY: 2, DESTROY: 3};
const DEPLOYS = new Set(['agent', 'cluster', 'manifests']);

export function leastCategory(s: Pick<PlannedStep, 'kind' | 'action' | 'after'>): SafetyCategory {
  if (s.action === 'noop') return 'READ';
  if (s.action === 'delete') return 'DESTROY';
  if (s.kind === 'volume' && s.action === 'replace') return 'DESTROY';
  if (s.kind === 'dr') {
    const op = (s.after as {op?: unknown} | null)?.op;
    if (op === 'restore-volume' || op === 'restore-ledger') return 'DESTROY';
    return op === 'restore-check' ? 'READ' : 'WRITE';
  }
  return DEPLOYS.has(s.kind) ? 'DEPLOY' : 'WRITE';
}

export function assertCategory(s: PlannedStep): void {
  const least = leastCategory(s);
  if ((RANK[s.category] ?? -1) >= RANK[least]) return;
  throw new OrxError({
    code: 'plan_invalid',
    exit: EXIT.STALE,
    message: `plan step ${s.address}: a ${s.kind} ${s.action} is at least ${least}, the plan says ${String(s.category)}`,
    actions: ['Make a new plan with `orx plan -out FILE`; a plan file is not edited by hand.'],
  });
}
