// A DR plan from the terminal: saved (-out, for `orx apply FILE`) or reviewed and applied
// like `orx apply`: the same for backup, restore and prune.
import path from 'node:path';
import {makeDrPlan, type DrPlanBuilder} from '../app/dr-plan.js';
import type {DrPlanResult} from '../app/results.js';
import type {OrxContext} from '../engine/context.js';
import {renderPlan} from '../ui/plan-view.js';
import {runApplyFlow} from './apply-session.js';
import type {CommandResult} from './command.js';

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

export async function drPlanFlow(o: DrFlowOptions, build: DrPlanBuilder): Promise<CommandResult<DrPlanResult>> {
  const {doc, saved_to} = await makeDrPlan(o.ctx, build, {out: o.out, keyFile: o.keyFile});
  if (saved_to) {
    const rel = path.relative(o.ctx.dir, saved_to) || saved_to;
    return {data: {...doc, saved_to}, human: `${renderPlan(doc)}\nSaved the plan to ${rel}. Apply exactly it with: orx apply ${rel}`};
  }
  return runApplyFlow({
    ctx: o.ctx,
    doc,
    fromFile: false,
    autoApprove: o.autoApprove,
    parallelism: o.parallelism,
    autonomy: o.autonomy,
    ...o.terminal,
    logFormat: o.logFormat,
  });
}
