import {Args} from '@oclif/core';
import {removeFromState} from '../../src/app/state-ops.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {lockFlags} from '../../src/cli/flags.js';
import type {ResultOf} from '../../src/app/results.js';

export default class StateRm extends OrxCommand {
  static override summary = 'Forget an address without deleting its object.';
  static override description = 'The Docker object is left exactly as it is and orx stops managing it; `orx import` binds it again.';
  static override flags = {...lockFlags};
  static override args = {address: Args.string({required: true, description: 'e.g. volume.memory'})};

  async exec(): Promise<CommandResult<ResultOf<'state rm'>>> {
    const {args, flags} = await this.parse(StateRm);
    await this.setup(flags);
    const rec = await removeFromState(this.orx, args.address);
    return {
      data: {removed: {address: rec.address, object_id: rec.object_id}},
      human: `Removed ${rec.address} from the state; object ${rec.object_id ?? '-'} was left as it is.`,
    };
  }
}
