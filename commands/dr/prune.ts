import {Flags} from '@oclif/core';
import {planPrune} from '../../src/app/dr-plans.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {drPlanFlow} from '../../src/cli/dr-plan-session.js';
import {applyFlags, planFlags} from '../../src/cli/flags.js';
import type {ResultOf} from '../../src/app/results.js';

export default class DrPrune extends OrxCommand {
  static override summary = 'Plan the deletion of old backups, keeping the newest ones and never the last verified one.';
  static override examples = ['orx dr prune --keep 7', 'orx dr prune --keep 3 --keep-verified 2 -out plans/prune.json'];
  static override flags = {
    keep: Flags.integer({description: 'Keep the newest N backups.', required: true, min: 0, env: 'ORX_KEEP'}),
    'keep-verified': Flags.integer({
      description: 'Also keep the newest M verified backups (at least 1: the last verified one is never deleted).',
      default: 1,
      min: 0,
      env: 'ORX_KEEP_VERIFIED',
    }),
    out: Flags.string({char: 'o', description: 'Save the plan to this file instead of applying it.', env: 'ORX_OUT'}),
    ...applyFlags,
    autonomy: planFlags.autonomy,
  };

  async exec(): Promise<CommandResult<ResultOf<'dr prune'>>> {
    const {flags} = await this.parse(DrPrune);
    await this.setup(flags);
    return drPlanFlow(
      {
        ctx: this.orx,
        out: flags.out,
        keyFile: undefined,
        autoApprove: flags['auto-approve'],
        parallelism: flags.parallelism,
        autonomy: flags.autonomy,
        logFormat: flags['log-format'],
        terminal: this.terminal,
      },
      (ledger, loaded) =>
        planPrune(this.orx, ledger, loaded, {keep: flags.keep, keepVerified: flags['keep-verified'], autonomy: flags.autonomy}),
    );
  }
}
