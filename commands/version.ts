import {versionInfo} from '../src/app/version.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';

export default class Version extends OrxCommand {
  static override summary = 'Print the version of orx (the line of `orx --version`).';
  static override examples = ['orx version', 'orx version --json'];

  async exec(): Promise<CommandResult<ResultOf<'version'>>> {
    const {flags} = await this.parse(Version);
    await this.setup(flags);
    const v = versionInfo(this.config.name, this.config.version);
    return {data: v, human: v.line};
  }
}
