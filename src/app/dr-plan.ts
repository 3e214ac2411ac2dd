// A DR plan (backup, restore, prune) is built against the ledger and the configuration, and
// saved when -out asks; applying it is an ordinary apply.
import path from 'node:path';
import {loadConfig} from '../config/load.js';
import type {LoadedConfig} from '../config/types.js';
import type {OrxContext} from '../engine/context.js';
import {savePlanIfAsked} from '../engine/operations.js';
import type {PlanDocument} from '../engine/planfile.js';
import {withLedger} from '../ledger/session.js';
import type {Ledger} from '../ledger/ledger.js';

export type DrPlanBuilder = (ledger: Ledger, loaded: LoadedConfig) => Promise<PlanDocument>;

export async function makeDrPlan(
  ctx: OrxContext,
  build: DrPlanBuilder,
  opts: {out?: string; keyFile?: string},
): Promise<{doc: PlanDocument; saved_to?: string}> {
  const loaded = loadConfig(ctx.dir, {vars: ctx.vars});
  const out = opts.out ? path.resolve(ctx.dir, opts.out) : undefined;
  const doc = await withLedger(ctx.dir, async (ledger) => {
    const d = await build(ledger, loaded);
    await savePlanIfAsked(ctx, ledger, loaded, d, {save: out, keyFile: opts.keyFile});
    return d;
  });
  return out ? {doc, saved_to: out} : {doc};
}
