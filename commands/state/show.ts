import {Args} from '@oclif/core';
import {showResource} from '../../src/app/state.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderResource} from '../../src/ui/state-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class StateShow extends OrxCommand {
  static override summary = 'Show the recorded attributes of one address.';
  static override args = {address: Args.string({required: true, description: 'e.g. agent.researcher'})};

  async exec(): Promise<CommandResult<ResultOf<'state show'>>> {
    const {args, flags} = await this.parse(StateShow);
    await this.setup(flags);
    const r = await showResource(this.orx, args.address);
    return {data: {resource: r}, human: renderResource(r)};
  }
}
