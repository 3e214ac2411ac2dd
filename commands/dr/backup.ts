import {Flags} from '@oclif/core';
import {planBackup} from '../../src/app/dr-plans.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {drPlanFlow} from '../../src/cli/dr-plan-session.js';
import {applyFlags, planFlags} from '../../src/cli/flags.js';
import type {ResultOf} from '../../src/app/results.js';

export default class DrBackup extends OrxCommand {
  static override summary = 'Back up volumes (and the ledger) as a plan: quiesce, stream, checksum, sign.';
  static override description =
    "Plans one step per volume with `backup: true` (or each --volume): the volume is first scanned (a FIFO, socket or device fails it unless dr.skip_special, as does a volume over dr.max_volume_bytes), then its agents are paused (or stopped, `quiesce: stop`) while orx's own helper container streams it as a tar (links never followed, sparse files kept sparse), gzip-compressed and hashed; then an online copy of the ledger and a signed manifest. The backup appears under dr.destination only once complete. With -out the plan is saved for `orx apply FILE`; otherwise it is reviewed and applied like `orx apply`.";
  static override examples = [
    'orx dr backup',
    'orx dr backup --volume memory -out plans/backup.json',
    'orx dr backup --auto-approve --json',
  ];
  static override flags = {
    volume: Flags.string({
      description: 'Back up this volume (repeatable; default: every volume with backup: true).',
      multiple: true,
      env: 'ORX_VOLUME',
    }),
    out: Flags.string({char: 'o', description: 'Save the plan to this file instead of applying it.', env: 'ORX_OUT'}),
    'key-file': Flags.string({description: 'Sign a saved plan with this private key (PEM).', env: 'ORX_KEY_FILE'}),
    ...applyFlags,
    autonomy: planFlags.autonomy,
  };

  async exec(): Promise<CommandResult<ResultOf<'dr backup'>>> {
    const {flags} = await this.parse(DrBackup);
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
      (ledger, loaded) => planBackup(this.orx, ledger, loaded, {volumes: flags.volume ?? [], autonomy: flags.autonomy}),
    );
  }
}
