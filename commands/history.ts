import {Flags} from '@oclif/core';
import {listHistory} from '../src/app/audit.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {renderHistory} from '../src/ui/audit-view.js';
import type {ResultOf} from '../src/app/results.js';

export default class History extends OrxCommand {
  static override summary = 'List the contract snapshots: each configuration applied, with its run, policy digest and parent.';
  static override description =
    'Snapshots are content-addressed (sha256 of the canonical JSON of the applied configuration). `orx history diff A B` shows what changed between two.';
  static override flags = {
    limit: Flags.integer({description: 'How many snapshots to list (newest first).', default: 20, min: 1, env: 'ORX_LIMIT'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'history'>>> {
    const {flags} = await this.parse(History);
    await this.setup(flags);
    const h = await listHistory(this.orx, flags.limit);
    return {data: {...h}, human: renderHistory(h)};
  }
}
