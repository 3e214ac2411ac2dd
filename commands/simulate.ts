import path from 'node:path';
import {Args, Flags} from '@oclif/core';
import {resimulate} from '../src/app/simulate.js';
import {refuseVariablesWithSavedPlan} from '../src/app/saved-plan-vars.js';
import {variableFlags} from '../src/cli/flags.js';
import {readinessLine} from '../src/ui/plan-view.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';

export default class Simulate extends OrxCommand {
  static override summary = "Recompute a saved plan's readiness: the same inputs and seed give the same numbers on any machine.";
  static override description =
    "Uses the steps and the ledger history stored in the plan (a plan without them: the steps and this workspace's ledger). Changes nothing.";
  static override examples = ['orx simulate plans/next.plan.json', 'orx simulate plans/next.plan.json --seed 42 --iterations 10000 --json'];
  static override args = {file: Args.string({description: 'A plan saved with `orx plan -out FILE`.', required: true})};
  static override flags = {
    seed: Flags.string({description: "Another seed (default: the plan's).", env: 'ORX_SIM_SEED'}),
    iterations: Flags.integer({description: "Iterations (default: the plan's).", min: 1, max: 1_000_000, env: 'ORX_SIM_ITERATIONS'}),
    ...variableFlags,
  };

  async exec(): Promise<CommandResult<ResultOf<'simulate'>>> {
    const {args, flags} = await this.parse(Simulate);
    await this.setup(flags);
    refuseVariablesWithSavedPlan(this.orx, args.file);
    const sim = await resimulate(this.orx.dir, path.resolve(this.orx.dir, args.file), {seed: flags.seed, iterations: flags.iterations});
    const {inputs: _inputs, ...summary} = sim;
    return {data: {simulation: summary}, human: readinessLine(sim, {force: true})};
  }
}
