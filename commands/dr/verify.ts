import {Args, Flags} from '@oclif/core';
import {loadConfig} from '../../src/config/load.js';
import {connectDocker} from '../../src/drivers/docker.js';
import {verifyBackup} from '../../src/dr/drill.js';
import {backupRoot, dirSize, findBackup} from '../../src/dr/layout.js';
import {withLedger} from '../../src/engine/workspace.js';
import {checkpointChain} from '../../src/engine/checkpoint.js';
import {EXIT} from '../../src/exit-codes.js';
import {getBackup, markVerified, recordBackup} from '../../src/ledger/backups.js';
import {signerKeys} from '../../src/trust/keys.js';
import {renderBackupVerification} from '../../src/ui/dr-view.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';

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
      default: [],
      env: 'ORX_TRUSTED_KEY',
    }),
  };

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(DrVerify);
    await this.setup(flags);
    const loaded = loadConfig(this.orx.dir);
    const found = findBackup(backupRoot(this.orx.dir, loaded.config), args.backup, this.orx.dir);
    return withLedger(this.orx.dir, async (ledger) => {
      const v = await verifyBackup(
        found.dir,
        signerKeys(this.orx.dir, flags['trusted-key']),
        flags.drill ? {docker: await connectDocker(), workspace: loaded.config.workspace} : null,
      );
      let verifiedAt: string | null = null;
      if (flags.drill && v.ok && v.manifest) {
        if (!getBackup(ledger, found.id))
          recordBackup(
            ledger,
            {
              id: found.id,
              path: found.dir,
              created_at: v.manifest.created_at,
              size: dirSize(found.dir),
              manifest: v.manifest as unknown as Record<string, unknown>,
            },
            null,
          );
        verifiedAt = markVerified(ledger, found.id, {drill: v.drill});
        await checkpointChain(this.orx, ledger, loaded.config, {reason: 'dr-verify'});
      }
      const exit = v.ok ? EXIT.OK : v.problems.some((p) => p.part === 'signature') ? EXIT.STALE : EXIT.ERROR;
      return {
        data: {
          backup: found.id,
          dir: found.dir,
          ok: v.ok,
          signed_by: v.signed_by,
          problems: v.problems,
          drill: v.drill,
          verified_at: verifiedAt,
        },
        human: renderBackupVerification(found.id, v, verifiedAt),
        exit,
      };
    });
  }
}
