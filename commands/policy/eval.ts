import {Flags} from '@oclif/core';
import {evaluatePlanFile} from '../../src/app/policy.js';
import {table} from '../../src/ui/state-view.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import type {ResultOf} from '../../src/app/results.js';

export default class PolicyEval extends OrxCommand {
  static override summary = "Show every rule's result for a saved plan (for review in CI).";
  static override flags = {plan: Flags.string({description: 'A plan saved with `orx plan -out FILE`.', required: true, env: 'ORX_PLAN'})};

  async exec(): Promise<CommandResult<ResultOf<'policy eval'>>> {
    const {flags} = await this.parse(PolicyEval);
    await this.setup(flags);
    const {doc, results} = await evaluatePlanFile(this.orx, flags.plan);
    const shown = results.filter((r) => r.result !== 'not_matched');
    const rows = shown.map((r) => [r.rule, r.address ?? '(plan)', r.result, r.result === 'true' ? r.effect : '-', r.message ?? '']);
    const fired = shown.filter((r) => r.result === 'true' || r.result === 'error').length;
    return {
      data: {plan_id: doc.plan_id, results},
      human: `${table([['RULE', 'STEP', 'RESULT', 'EFFECT', 'MESSAGE'], ...rows])}\n\n${shown.length} evaluations, ${fired} fired (${results.length - shown.length} not matched by kind/category/action).`,
    };
  }
}
