// `orx force-unlock`: a lock a dead apply left, removed and recorded with why.
import {withCheckpointedLedger} from '../engine/checkpoint.js';
import type {OrxContext} from '../engine/context.js';

/** `orx force-unlock LOCK_ID`: the lock a dead apply left, removed and recorded with why. */
export async function forceUnlock(ctx: OrxContext, lockId: string, reason: string): Promise<void> {
  await withCheckpointedLedger(ctx, {reason: 'force-unlock'}, (ledger) => ledger.forceUnlock(lockId, reason, ctx.actor));
}
