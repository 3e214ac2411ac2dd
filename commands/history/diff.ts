import {Args} from '@oclif/core';
import {diffHistory} from '../../src/app/audit.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderHistoryDiff} from '../../src/ui/audit-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class HistoryDiff extends OrxCommand {
  static override summary = 'Show what changed between two applied configurations, key by key.';
  static override examples = ['orx history diff 3f2a9c 81be04'];
  static override args = {
    from: Args.string({required: true, description: 'The older snapshot id (or a unique prefix).'}),
    to: Args.string({required: true, description: 'The newer snapshot id (or a unique prefix).'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'history diff'>>> {
    const {args, flags} = await this.parse(HistoryDiff);
    await this.setup(flags);
    const d = await diffHistory(this.orx, args.from, args.to);
    return {data: {...d}, human: renderHistoryDiff(d)};
  }
}
