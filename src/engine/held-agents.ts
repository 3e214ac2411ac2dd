// The next orx command after a backup that was killed while its agents were paused: it
// notices (one ledger read) and resumes them before doing anything else.
import {connectDocker} from '../drivers/docker.js';
import {heldByDeadBackup, recoverQuiesced} from '../dr/quiesce.js';
import type {Ledger} from '../ledger/ledger.js';
import type {Logger} from '../util/logger.js';

export async function resumeInterruptedBackup(ledger: Ledger, log: Logger): Promise<void> {
  if (!heldByDeadBackup(ledger)) return;
  const resumed = await recoverQuiesced(await connectDocker(), ledger);
  if (resumed.length > 0)
    log.warn(
      `an interrupted backup had left ${resumed.map((r) => r.address).join(', ')} ${resumed[0].how === 'pause' ? 'paused' : 'stopped'}: resumed them`,
    );
}
