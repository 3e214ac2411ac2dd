import {Args, Flags} from '@oclif/core';
import {moveInState} from '../../src/app/state-ops.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderStateMove} from '../../src/ui/state-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class StateMv extends OrxCommand {
  static override summary = 'Move a record to another address, keeping its object.';
  static override description =
    'For an agent, network or volume renamed in orchestration.yml: the record (and the object it is bound to) is taken to the new address in the ledger, so the next plan keeps the object instead of destroying and creating it. The Docker object is left exactly as it is, its name and labels included; refresh finds it by its recorded id. `moved:` in orchestration.yml does the same as a step of the next plan.';
  static override examples = ['orx state mv agent.old agent.new', 'orx state mv volume.data volume.memory --dry-run'];
  static override args = {
    source: Args.string({required: true, description: 'The recorded address, e.g. agent.old'}),
    destination: Args.string({required: true, description: 'The new address, e.g. agent.new'}),
  };
  static override flags = {
    'dry-run': Flags.boolean({description: 'Say what would move, and change nothing.', default: false, env: 'ORX_DRY_RUN'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'state mv'>>> {
    const {args, flags} = await this.parse(StateMv);
    await this.setup(flags);
    const moved = await moveInState(this.orx, args.source, args.destination, flags['dry-run']);
    return {data: {moved}, human: renderStateMove(moved)};
  }
}
