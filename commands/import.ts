import {Args} from '@oclif/core';
import {importIntoState} from '../src/app/state-ops.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {lockFlags} from '../src/cli/flags.js';
import type {ResultOf} from '../src/app/results.js';

export default class Import extends OrxCommand {
  static override summary = 'Adopt an existing Docker object into the state.';
  static override description =
    "The address must be declared in orchestration.yml; the next plan shows how the object differs from it. Docker's own networks (host, none, bridge) and objects labelled for another workspace are refused.";
  static override examples = ['orx import volume.memory my-old-volume', 'orx import agent.researcher 3f2c9a1b'];
  static override flags = {...lockFlags};
  static override args = {
    address: Args.string({required: true, description: 'e.g. volume.memory'}),
    id: Args.string({required: true, description: 'Container, network or volume id or name, or image reference'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'import'>>> {
    const {args, flags} = await this.parse(Import);
    await this.setup(flags);
    const rec = await importIntoState(this.orx, args.address, args.id);
    return {
      data: {imported: rec},
      human: `Imported ${rec.object_id} as ${rec.address}. Run \`orx plan\` to see how it differs from the configuration.`,
    };
  }
}
