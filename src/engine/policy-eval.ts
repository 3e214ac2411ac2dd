import {readPlanFile, type PlanDocument} from './planfile.js';
import {withLedger} from './workspace.js';
import {recentActivity} from '../ledger/safety.js';
import {buildPolicyInput} from '../policy/context.js';
import {evaluateAll} from '../policy/evaluate.js';
import {loadPolicies} from '../policy/load.js';
import type {RuleResult} from '../policy/types.js';

/** Every rule against every step of a saved plan, with today's rate-limit counts. */
export async function evaluatePlanRules(dir: string, file: string): Promise<{doc: PlanDocument; results: RuleResult[]}> {
  const doc = readPlanFile(file);
  const set = loadPolicies(dir);
  const recent = await withLedger(dir, (l) => recentActivity(l));
  const input = buildPolicyInput({plan: {kind: doc.kind, steps: doc.steps, summary: doc.summary}, workspace: doc.workspace, autonomy: doc.autonomy, now: new Date(), recent});
  return {doc, results: evaluateAll(set, input)};
}
