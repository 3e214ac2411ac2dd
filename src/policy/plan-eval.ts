import {readPlanFile, type PlanDocument} from '../engine/planfile.js';
import {withLedger} from '../engine/workspace.js';
import {recentActivity} from '../ledger/safety.js';
import {buildPolicyInput} from './context.js';
import {evaluateAll} from './evaluate.js';
import {loadPolicies} from './load.js';
import type {RuleResult} from './types.js';

/** Every rule against every step of a saved plan, with today's rate-limit counts. */
export async function evaluatePlanRules(dir: string, file: string): Promise<{doc: PlanDocument; results: RuleResult[]}> {
  const doc = readPlanFile(file);
  const set = loadPolicies(dir);
  const recent = await withLedger(dir, (l) => recentActivity(l));
  const input = buildPolicyInput({plan: {kind: doc.kind, steps: doc.steps, summary: doc.summary}, workspace: doc.workspace, autonomy: doc.autonomy, now: new Date(), recent});
  return {doc, results: evaluateAll(set, input)};
}
