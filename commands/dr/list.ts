import {listBackupsOnDisk} from '../../src/app/dr-list.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderBackupList} from '../../src/ui/dr-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class DrList extends OrxCommand {
  static override summary = 'List backups with size, age and whether a restore drill has verified them.';
  static override examples = ['orx dr list', 'orx dr list --json'];

  async exec(): Promise<CommandResult<ResultOf<'dr list'>>> {
    const {flags} = await this.parse(DrList);
    await this.setup(flags);
    const list = await listBackupsOnDisk(this.orx);
    return {data: list, human: renderBackupList(list.destination, list.backups)};
  }
}
