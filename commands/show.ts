import {Args} from '@oclif/core';
import {planHumanNeeds} from '../src/app/plan.js';
import {readSavedPlan, readState} from '../src/app/state.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {renderPlan} from '../src/ui/plan-view.js';
import {renderState} from '../src/ui/state-view.js';
import type {ResultOf} from '../src/app/results.js';

export default class Show extends OrxCommand {
  static override summary = 'Render a saved plan, or the current state.';
  static override args = {file: Args.string({description: 'A plan saved with `orx plan -out FILE`.', required: false})};

  async exec(): Promise<CommandResult<ResultOf<'show'>>> {
    const {args, flags} = await this.parse(Show);
    await this.setup(flags);
    if (args.file) {
      const doc = readSavedPlan(this.orx, args.file);
      return {data: {plan: doc}, human: renderPlan(doc, {needs: planHumanNeeds(doc)})};
    }
    const {resources, meta} = await readState(this.orx);
    return {data: {state: {lineage: meta.lineage, serial: meta.serial, resources}}, human: renderState(resources, meta)};
  }
}
