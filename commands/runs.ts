import {Args, Flags} from '@oclif/core';
import {listRuns, showRun} from '../src/app/runs.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {renderRun, renderRuns} from '../src/ui/state-view.js';
import type {ResultOf} from '../src/app/results.js';
export default class Runs extends OrxCommand {
  static override summary = 'List apply runs, or show one with its steps.';
  static override args = {id: Args.string({description: 'Run id (or a unique prefix).', required: false})};
  static override flags = {limit: Flags.integer({description: 'How many runs to list.', default: 20, min: 1, env: 'ORX_LIMIT'})};

  async exec(): Promise<CommandResult<ResultOf<'runs'>>> {
    const {args, flags} = await this.parse(Runs);
    await this.setup(flags);
    if (!args.id) {
      const list = await listRuns(this.orx, flags.limit);
      return {data: list, human: renderRuns(list.runs)};
    }
    const r = await showRun(this.orx, args.id);
    return {data: r, human: renderRun(r.run, r.steps, r.approvals)};
  }
}
