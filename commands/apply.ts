import {Args, Flags} from '@oclif/core';
import {loadPlan, planForApply} from '../src/app/plan.js';
import {runApplyFlow} from '../src/cli/apply-session.js';
import {exitCodeHelp, OrxCommand, type CommandResult} from '../src/cli/command.js';
import {applyFlags, planFlags} from '../src/cli/flags.js';
import type {ResultOf} from '../src/app/results.js';

export default class Apply extends OrxCommand {
  static override summary = 'Apply a saved plan exactly, or plan and apply after confirmation.';
  static override description = `With FILE, applies exactly that plan and refuses it (exit 5) if the ledger or the configuration moved since it was made. Without FILE, makes a plan, shows it and opens the review screen on a terminal. Without a terminal nothing is asked: --auto-approve covers what autonomy and policy let through, and \`orx approve FILE\` records the rest for a saved plan.\n\n${exitCodeHelp()}`;
  static override examples = ['orx apply plans/next.plan.json', 'orx apply --auto-approve --parallelism 4'];
  static override args = {file: Args.string({description: 'A plan saved with `orx plan -out FILE`.', required: false})};
  static override flags = {
    ...planFlags,
    ...applyFlags,
    chaos: Flags.string({
      description:
        'Rehearse failures: SEED[,rate=0.2][,kinds=agent+network]. Steps fail (before or after their change) or new containers never get healthy, chosen from the seed: the same seed on the same plan injects the same faults. Only where orchestration.yml sets chaos: {allowed: true}.',
      env: 'ORX_CHAOS',
    }),
    'trusted-key': Flags.string({
      description: "Also accept saved plans signed by this public key (PEM file; repeatable), e.g. a CI plan job's.",
      multiple: true,
      env: 'ORX_TRUSTED_KEY',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'apply'>>> {
    const {args, flags} = await this.parse(Apply);
    await this.setup(flags);
    const doc = args.file
      ? await loadPlan(this.orx, args.file, flags['trusted-key'] ?? [])
      : await planForApply(this.orx, {
          mode: 'apply',
          refresh: flags.refresh,
          targets: flags.target ?? [],
          replace: flags.replace ?? [],
          autonomy: flags.autonomy,
          refreshSecrets: true,
          simSeed: flags['sim-seed'],
          simIterations: flags['sim-iterations'],
        });
    return runApplyFlow({
      ctx: this.orx,
      doc,
      fromFile: Boolean(args.file),
      ...(args.file ? {file: args.file} : {}),
      autoApprove: flags['auto-approve'],
      parallelism: flags.parallelism,
      ...this.terminal,
      logFormat: flags['log-format'],
      autonomy: flags.autonomy,
      chaos: flags.chaos,
    });
  }
}
