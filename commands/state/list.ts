import {listState} from '../../src/app/state.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {table} from '../../src/ui/state-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class StateList extends OrxCommand {
  static override summary = 'List the addresses recorded in the ledger.';

  async exec(): Promise<CommandResult<ResultOf<'state list'>>> {
    const {flags} = await this.parse(StateList);
    await this.setup(flags);
    const resources = await listState(this.orx);
    return {
      data: {resources: resources.map((r) => ({address: r.address, kind: r.kind, object_id: r.object_id, serial: r.serial}))},
      human: resources.length ? table(resources.map((r) => [r.address, r.object_id ?? '-'])) : 'The state is empty.',
    };
  }
}
