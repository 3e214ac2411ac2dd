import {Args, Flags} from '@oclif/core';
import {verifyBackupById} from '../../src/app/dr-verify.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderBackupVerification} from '../../src/ui/dr-view.js';
import type {ResultOf} from '../../src/app/results.js';
export default class DrVerify extends OrxCommand {
  static override summary =
    'Check a backup: its signature, every digest and that every archive entry can be restored; with --drill, restore it into scratch volumes and compare content.';
  static override description =
    'Exit 0 when everything checks out, 5 when the manifest signature fails, 1 for anything else. A backup counts as verified (orx dr list) only after a drill passed.';
  static override examples = [
    'orx dr verify 20261122T023000Z-ab12cd',
    'orx dr verify 20261122 --drill',
    'orx dr verify .orx/backups/20261122T023000Z-ab12cd --json',
  ];
  static override args = {backup: Args.string({description: 'A backup id (or unique prefix), or a backup directory.', required: true})};
  static override flags = {
    drill: Flags.boolean({
      description: 'Restore every archive into a scratch volume and compare its content digest (then delete it).',
      default: false,
      env: 'ORX_DRILL',
    }),
    'trusted-key': Flags.string({
      description: 'Also accept manifests signed by this public key (PEM; repeatable).',
      multiple: true,
      env: 'ORX_TRUSTED_KEY',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'dr verify'>>> {
    const {args, flags} = await this.parse(DrVerify);
    await this.setup(flags);
    const r = await verifyBackupById(this.orx, {backup: args.backup, drill: flags.drill, trustedKeys: flags['trusted-key'] ?? []});
    const v = r.verification;
    return {
      data: {
        backup: r.backup,
        dir: r.dir,
        ok: v.ok,
        signed_by: v.signed_by,
        problems: v.problems,
        drill: v.drill,
        verified_at: r.verified_at,
      },
      human: renderBackupVerification(r.backup, v, r.verified_at),
      exit: r.exit,
    };
  }
}
