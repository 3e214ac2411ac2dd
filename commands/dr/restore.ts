import {Args, Flags} from '@oclif/core';
import {planRestore} from '../../src/app/dr-plans.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {drPlanFlow} from '../../src/cli/dr-plan-session.js';
import {applyFlags, planFlags} from '../../src/cli/flags.js';
import type {ResultOf} from '../../src/app/results.js';

export default class DrRestore extends OrxCommand {
  static override summary =
    'Restore volumes from a backup as a plan: verify, restore into fresh volumes, swap, health-check, roll back on failure.';
  static override description =
    'Checks the backup (signature and every digest), then per volume: its agents are stopped and set aside, the archive is restored into a fresh volume, the agents are recreated on it and must become healthy (dr.health_timeout, default 2m) before the old volume and containers are removed; if not, everything is put back as it was. A restore is DESTROY-category: it needs approval per policy and autonomy. --ledger also restores the recorded state (history is kept; the restore is new events). RTO is measured and recorded.';
  static override examples = [
    'orx dr restore 20261122T023000Z-ab12cd',
    'orx dr restore latest-id --volume memory -out plans/restore.json',
    'orx dr restore BACKUP --ledger',
  ];
  static override args = {
    backup: Args.string({description: 'A backup id (or unique prefix) from `orx dr list`, or a backup directory.', required: true}),
  };
  static override flags = {
    volume: Flags.string({description: 'Restore only this volume (repeatable).', multiple: true, env: 'ORX_VOLUME'}),
    ledger: Flags.boolean({
      description: "Also restore the ledger's recorded state from the backup.",
      default: false,
      env: 'ORX_RESTORE_LEDGER',
    }),
    out: Flags.string({char: 'o', description: 'Save the plan to this file instead of applying it.', env: 'ORX_OUT'}),
    'key-file': Flags.string({description: 'Sign a saved plan with this private key (PEM).', env: 'ORX_KEY_FILE'}),
    ...applyFlags,
    autonomy: planFlags.autonomy,
  };

  async exec(): Promise<CommandResult<ResultOf<'dr restore'>>> {
    const {args, flags} = await this.parse(DrRestore);
    await this.setup(flags);
    return drPlanFlow(
      {
        ctx: this.orx,
        out: flags.out,
        keyFile: flags['key-file'],
        autoApprove: flags['auto-approve'],
        parallelism: flags.parallelism,
        autonomy: flags.autonomy,
        logFormat: flags['log-format'],
        terminal: this.terminal,
      },
      (ledger, loaded) =>
        planRestore(this.orx, ledger, loaded, {
          backup: args.backup,
          volumes: flags.volume ?? [],
          ledger: flags.ledger,
          autonomy: flags.autonomy,
        }),
    );
  }
}
