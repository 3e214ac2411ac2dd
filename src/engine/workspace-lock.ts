// The workspace lock as every writing command takes it: named for this process, waiting up to
// -lock-timeout for another holder (and saying so once on stderr), else exit 4.
import os from 'node:os';
import type {Ledger} from '../ledger/ledger.js';
import type {LockRecord} from '../ledger/types.js';
import type {OrxContext} from './context.js';

export function takeWorkspaceLock(ctx: OrxContext, ledger: Ledger): Promise<LockRecord> {
  const timeoutMs = ctx.lockTimeoutMs ?? 0;
  return ledger.acquireLockWaiting({pid: process.pid, host: os.hostname(), command: ctx.command}, timeoutMs, (held) =>
    ctx.log.info(`waiting up to ${timeoutMs / 1000}s for the workspace lock held by pid ${held.pid} (\`${held.command}\`)`),
  );
}
