// `orx dr verify BACKUP [--drill]`: a backup's signature and archives checked, and with
// --drill restored into scratch volumes; a passing drill is what makes a backup count.
import {loadConfig} from '../config/load.js';
import {connectDocker} from '../drivers/docker.js';
import {verifyBackup} from '../dr/drill.js';
import {backupRoot, dirSize, findBackup} from '../dr/layout.js';
import {checkpointChain} from '../engine/checkpoint.js';
import type {OrxContext} from '../engine/context.js';
import {withLedger} from '../ledger/session.js';
import {EXIT, type ExitCode} from '../exit-codes.js';
import {getBackup, markVerified, recordBackup} from '../ledger/backups.js';
import {signerKeys} from '../trust/keys.js';

export type BackupVerification = Awaited<ReturnType<typeof verifyBackup>>;

export interface DrVerifyResult {
  backup: string;
  dir: string;
  verification: BackupVerification;
  verified_at: string | null;
  exit: ExitCode;
}

export async function verifyBackupById(
  ctx: OrxContext,
  o: {backup: string; drill: boolean; trustedKeys: string[]},
): Promise<DrVerifyResult> {
  const loaded = loadConfig(ctx.dir, {vars: ctx.vars});
  const found = findBackup(backupRoot(ctx.dir, loaded.config), o.backup, ctx.dir);
  return withLedger(ctx.dir, async (ledger) => {
    const v = await verifyBackup(
      found.dir,
      signerKeys(ctx.dir, o.trustedKeys),
      o.drill ? {docker: await connectDocker(), workspace: loaded.config.workspace} : null,
    );
    let verifiedAt: string | null = null;
    if (o.drill && v.ok && v.manifest) {
      if (!getBackup(ledger, found.id))
        recordBackup(
          ledger,
          {
            id: found.id,
            path: found.dir,
            created_at: v.manifest.created_at,
            size: dirSize(found.dir),
            manifest: v.manifest,
          },
          null,
        );
      verifiedAt = markVerified(ledger, found.id, {drill: v.drill});
      await checkpointChain(ctx, ledger, loaded.config, {reason: 'dr-verify'});
    }
    const exit = v.ok ? EXIT.OK : v.problems.some((p) => p.part === 'signature') ? EXIT.STALE : EXIT.ERROR;
    return {backup: found.id, dir: found.dir, verification: v, verified_at: verifiedAt, exit};
  });
}
