// `orx resume`: the halt lifted, and a plan that starts again what the halt stopped.
import type {OrxContext} from '../engine/context.js';
import {planWorkspace} from '../engine/operations.js';
import type {PlanDocument} from '../engine/planfile.js';
import {withLedger} from '../ledger/session.js';
import type {HaltState} from '../ledger/halt.js';
import {liftHalt} from './halt.js';

export interface ResumePlan {
  resumed: HaltState;
  /** what the halt stopped and the ledger still records */
  targets: string[];
  /** null: the halt had stopped nothing */
  doc: PlanDocument | null;
}

export async function resumeAfterHalt(ctx: OrxContext, o: {reason: string; autonomy?: number}): Promise<ResumePlan> {
  const {was, recorded} = await withLedger(ctx.dir, async (l) => ({
    was: await liftHalt(ctx, l, o.reason),
    recorded: new Set(l.listResources().map((r) => r.address)),
  }));
  const targets = was.stopped.map((s) => s.address).filter((a) => recorded.has(a));
  if (targets.length === 0) return {resumed: was, targets, doc: null};
  const doc = await planWorkspace(ctx, {mode: 'apply', refresh: true, targets, replace: [], autonomy: o.autonomy, refreshSecrets: true});
  return {resumed: was, targets, doc};
}
