import {Args, Flags} from '@oclif/core';
import {withLedger} from '../src/engine/workspace.js';
import {OrxError} from '../src/errors.js';
import {approvalsFor} from '../src/ledger/safety.js';
import {renderRun, renderRuns} from '../src/ui/state-view.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';

export default class Runs extends OrxCommand {
  static override summary = 'List apply runs, or show one with its steps.';
  static override args = {id: Args.string({description: 'Run id (or a unique prefix).', required: false})};
  static override flags = {limit: Flags.integer({description: 'How many runs to list.', default: 20, min: 1, env: 'ORX_LIMIT'})};

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(Runs);
    await this.setup(flags);
    return withLedger(this.orx.dir, (ledger) => {
      if (!args.id) {
        const runs = ledger.listRuns({limit: flags.limit});
        return {data: {runs}, human: renderRuns(runs)};
      }
      const run = ledger.getRun(args.id);
      if (!run) throw new OrxError({code: 'not_found', message: `no run ${args.id}`, actions: ['See `orx runs`.']});
      const steps = ledger.listSteps(run.id);
      // approvals belong to the plan the run applied: its digest ties them together
      const approvals = run.plan_digest ? approvalsFor(ledger, run.plan_digest) : [];
      return {data: {run, steps, approvals}, human: renderRun(run, steps, approvals)};
    });
  }
}
