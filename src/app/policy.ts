// `orx policy test [DIR]` and `orx policy eval --plan FILE`. Each loads only its own machinery
// (the test runner's schema validator, or the plan evaluator): one command, one start-up.
import path from 'node:path';
import type {OrxContext} from '../engine/context.js';
import type {PlanDocument} from '../engine/planfile.js';
import type {PolicyTestReport} from '../policy/testing.js';
import type {RuleResult} from '../policy/types.js';

export type {PolicyTestReport, RuleResult};

export async function testPolicies(ctx: OrxContext, dir?: string): Promise<PolicyTestReport> {
  const {runPolicyTests} = await import('../policy/testing.js');
  return runPolicyTests(ctx.dir, dir);
}

export async function evaluatePlanFile(ctx: OrxContext, file: string): Promise<{doc: PlanDocument; results: RuleResult[]}> {
  const {evaluatePlanRules} = await import('../engine/policy-eval.js');
  return evaluatePlanRules(ctx.dir, path.resolve(ctx.dir, file));
}
