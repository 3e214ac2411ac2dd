// A saved plan cannot make a delete look like a READ to slip past autonomy and the rules that
// match on categories: each step is at least the category of what it does.
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {leastCategory} from '../policy/category.js';
import type {PlannedStep, SafetyCategory} from '../resources/types.js';

const RANK: Record<SafetyCategory, number> = {READ: 0, WRITE: 1, ROLLBACK: 1, DEPLOY: 2, DESTROY: 3};

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
