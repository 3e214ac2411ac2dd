import path from 'node:path';
import {Args} from '@oclif/core';
import {readPlanFile} from '../src/engine/planfile.js';
import {withLedger} from '../src/engine/workspace.js';
import {renderPlan} from '../src/ui/plan-view.js';
import {renderState} from '../src/ui/state-view.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';

export default class Show extends OrxCommand {
  static override summary = 'Render a saved plan, or the current state.';
  static override args = {file: Args.string({description: 'A plan saved with `orx plan -out FILE`.', required: false})};

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(Show);
    await this.setup(flags);
    if (args.file) {
      const doc = readPlanFile(path.resolve(this.orx.dir, args.file));
      return {data: {plan: doc}, human: renderPlan(doc)};
    }
    return withLedger(this.orx.dir, (ledger) => {
      const resources = ledger.listResources();
      const meta = ledger.meta();
      return {data: {state: {lineage: meta.lineage, serial: meta.serial, resources}}, human: renderState(resources, meta)};
    });
  }
}
