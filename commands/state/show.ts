import {Args} from '@oclif/core';
import {withLedger} from '../../src/engine/workspace.js';
import {OrxError} from '../../src/errors.js';
import {renderResource} from '../../src/ui/state-view.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';

export default class StateShow extends OrxCommand {
  static override summary = 'Show the recorded attributes of one address.';
  static override args = {address: Args.string({required: true, description: 'e.g. agent.researcher'})};

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(StateShow);
    await this.setup(flags);
    return withLedger(this.orx.dir, (ledger) => {
      const r = ledger.getResource(args.address);
      if (!r) throw new OrxError({code: 'not_found', message: `${args.address} is not in the state`, actions: ['See `orx state list`.']});
      return {data: {resource: r}, human: renderResource(r)};
    });
  }
}
