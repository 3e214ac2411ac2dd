import {planForApply} from '../src/app/plan.js';
import {runApplyFlow} from '../src/cli/apply-session.js';
import {exitCodeHelp, OrxCommand, type CommandResult} from '../src/cli/command.js';
import {applyFlags, planFlags, variableFlags} from '../src/cli/flags.js';
import type {ResultOf} from '../src/app/results.js';

export default class Destroy extends OrxCommand {
  static override summary = 'Plan and apply the deletion of everything this workspace owns.';
  static override description = `Volumes go too: back them up first.\n\n${exitCodeHelp()}`;
  static override flags = {
    ...applyFlags,
    target: planFlags.target,
    refresh: planFlags.refresh,
    autonomy: planFlags.autonomy,
    ...variableFlags,
  };

  async exec(): Promise<CommandResult<ResultOf<'destroy'>>> {
    const {flags} = await this.parse(Destroy);
    await this.setup(flags);
    const doc = await planForApply(this.orx, {
      mode: 'destroy',
      refresh: flags.refresh,
      targets: flags.target ?? [],
      replace: [],
      autonomy: flags.autonomy,
    });
    return runApplyFlow({
      ctx: this.orx,
      doc,
      fromFile: false,
      autoApprove: flags['auto-approve'],
      parallelism: flags.parallelism,
      ...this.terminal,
      logFormat: flags['log-format'],
    });
  }
}
