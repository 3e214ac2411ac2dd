// Backup, restore and prune as plan documents: the same envelope as an apply plan (lineage,
// serial, digests, policy decisions, signature when saved), so review, approval, `-out`,
// `orx apply FILE` and the ledger treat them like any other plan.
import type {LoadedConfig} from '../config/types.js';
import {backupRoot, backupsOnDisk, findBackup, newBackupId} from '../dr/layout.js';
import {checkBackup} from '../dr/manifest.js';
import {backupSteps, pruneSteps, restoreSteps} from '../dr/plans.js';
import {resumeInterruptedBackup} from '../engine/held-agents.js';
import {OrxError} from '../errors.js';
import {listBackups} from '../ledger/backups.js';
import type {Ledger} from '../ledger/ledger.js';
import {effectiveAutonomy} from '../policy/autonomy.js';
import {simulatePlan} from '../engine/plan-sim.js';
import type {PlannedStep, StepDraft} from '../resources/types.js';
import {contextDigests} from '../engine/desired.js';
import {planHeader} from '../engine/operations.js';
import type {OrxContext} from '../engine/context.js';
import {decidePolicy, loadPolicySet} from '../engine/policy-eval.js';
import {newPlanId, type PlanDocument, type PlanKind} from '../engine/planfile.js';
import {idempotencyKey, summarize} from '../engine/planner.js';

async function drPlanDocument(
  ctx: OrxContext,
  ledger: Ledger,
  loaded: LoadedConfig,
  kind: PlanKind,
  drafts: StepDraft[],
  notes: string[],
  autonomy?: number,
): Promise<PlanDocument> {
  const planId = newPlanId();
  const steps: PlannedStep[] = drafts.map((d, i) => ({
    ...d,
    id: `s${i + 1}`,
    idempotency_key: idempotencyKey(planId, d.address, d.action),
  }));
  const level = effectiveAutonomy(loaded.config.autonomy, autonomy);
  const {decisions, waivers} = await decidePolicy(await loadPolicySet(ctx.dir), loaded.config.waivers, {
    kind,
    steps,
    workspace: loaded.config.workspace,
    autonomy: level,
    ledger,
  });
  return {
    ...planHeader(ctx, ledger, loaded, planId, contextDigests(loaded)),
    kind,
    autonomy: level,
    refresh: true,
    targets: [],
    replace: [],
    steps,
    drift: [],
    notes,
    summary: summarize(steps),
    policy: {decisions, waivers},
    simulation: await simulatePlan(ledger, {plan_id: planId, steps, decisions, autonomy: level}),
    signature: null,
  };
}

export async function planBackup(
  ctx: OrxContext,
  ledger: Ledger,
  loaded: LoadedConfig,
  o: {volumes: string[]; autonomy?: number},
): Promise<PlanDocument> {
  await resumeInterruptedBackup(ledger, ctx.log);
  const root = backupRoot(ctx.dir, loaded.config);
  const drafts = backupSteps({config: loaded.config, records: ledger.listResources(), volumes: o.volumes, root, backupId: newBackupId()});
  return drPlanDocument(ctx, ledger, loaded, 'backup', drafts, [`backups go to ${root}`], o.autonomy);
}

export async function planRestore(
  ctx: OrxContext,
  ledger: Ledger,
  loaded: LoadedConfig,
  o: {backup: string; volumes: string[]; ledger: boolean; autonomy?: number},
): Promise<PlanDocument> {
  await resumeInterruptedBackup(ledger, ctx.log);
  const found = findBackup(backupRoot(ctx.dir, loaded.config), o.backup, ctx.dir);
  // checked now as well as when applied: a corrupt backup is not worth reviewing
  const {signerKeys} = await import('../trust/keys.js');
  const check = await checkBackup(found.dir, signerKeys(ctx.dir));
  if (!check.ok || !check.manifest) {
    throw new OrxError({
      code: 'backup_invalid',
      message: `backup ${found.id} does not check out:\n${check.problems.map((p) => `  ${p.file ?? p.part}: ${p.reason}`).join('\n')}`,
      actions: ['Restore another backup (`orx dr list`).'],
      data: {problems: check.problems},
    });
  }
  const drafts = restoreSteps({
    config: loaded.config,
    workspace: loaded.config.workspace,
    records: ledger.listResources(),
    backup: {...found, manifest: check.manifest},
    volumes: o.volumes,
    ledger: o.ledger,
  });
  return drPlanDocument(
    ctx,
    ledger,
    loaded,
    'restore',
    drafts,
    [`restoring backup ${found.id} of ${check.manifest.created_at}`],
    o.autonomy,
  );
}

export async function planPrune(
  ctx: OrxContext,
  ledger: Ledger,
  loaded: LoadedConfig,
  o: {keep: number; keepVerified: number; autonomy?: number},
): Promise<PlanDocument> {
  const root = backupRoot(ctx.dir, loaded.config);
  const drafts = pruneSteps({backups: backupsOnDisk(root), recorded: listBackups(ledger), keep: o.keep, keepVerified: o.keepVerified});
  return drPlanDocument(
    ctx,
    ledger,
    loaded,
    'prune',
    drafts,
    [`keeping the newest ${o.keep}, the newest ${Math.max(1, o.keepVerified)} verified`],
    o.autonomy,
  );
}
