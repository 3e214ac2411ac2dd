// A DR plan is built, then either saved (-out, for `orx apply FILE`) or reviewed and applied
// like `orx apply`: the same for backup, restore and prune.
import path from 'node:path';
import {loadConfig} from '../../src/config/load.js';
import type {LoadedConfig} from '../../src/config/types.js';
import {savePlanIfAsked} from '../../src/engine/operations.js';
import {type OrxContext} from '../../src/engine/context.js';
import type {PlanDocument} from '../../src/engine/planfile.js';
import {withLedger} from '../../src/engine/workspace.js';
import type {Ledger} from '../../src/ledger/ledger.js';
import {effectiveAutonomy} from '../../src/policy/autonomy.js';
import {renderPlan} from '../../src/ui/plan-view.js';
import {runApplyFlow} from '../apply-flow.js';
import type {CommandResult} from '../base.js';

export interface DrFlowOptions {
  ctx: OrxContext;
  out?: string;
  keyFile?: string;
  autoApprove: boolean;
  parallelism: number;
  autonomy?: number;
  logFormat: string;
  terminal: {json: boolean; stdinIsTTY: boolean; stderrIsTTY: boolean};
}

export async function drPlanFlow(
  o: DrFlowOptions,
  build: (ledger: Ledger, loaded: LoadedConfig) => Promise<PlanDocument>,
): Promise<CommandResult> {
  const loaded = loadConfig(o.ctx.dir);
  const out = o.out ? path.resolve(o.ctx.dir, o.out) : undefined;
  const doc = await withLedger(o.ctx.dir, async (ledger) => {
    const d = await build(ledger, loaded);
    await savePlanIfAsked(o.ctx, ledger, loaded, d, {save: out, keyFile: o.keyFile});
    return d;
  });
  if (out) {
    const rel = path.relative(o.ctx.dir, out) || out;
    return {data: {...doc, saved_to: out}, human: `${renderPlan(doc)}\nSaved the plan to ${rel}. Apply exactly it with: orx apply ${rel}`};
  }
  return runApplyFlow({
    ctx: o.ctx,
    doc,
    fromFile: false,
    autoApprove: o.autoApprove,
    parallelism: o.parallelism,
    ...o.terminal,
    logFormat: o.logFormat,
    autonomy: effectiveAutonomy(doc.autonomy, o.autonomy),
  });
}
