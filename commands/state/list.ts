import {withLedger} from '../../src/engine/workspace.js';
import {table} from '../../src/ui/state-view.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';

export default class StateList extends OrxCommand {
  static override summary = 'List the addresses recorded in the ledger.';

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(StateList);
    await this.setup(flags);
    return withLedger(this.orx.dir, (ledger) => {
      const resources = ledger.listResources();
      const rows = resources.map((r) => [r.address, r.object_id ?? '-']);
      return {
        data: {resources: resources.map((r) => ({address: r.address, kind: r.kind, object_id: r.object_id, serial: r.serial}))},
        human: resources.length ? table(rows) : 'The state is empty.',
      };
    });
  }
}
