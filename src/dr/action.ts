// The Action behind every disaster-recovery step (kind "dr"): what a step does is in its
// `after.op`. They run through the same executor as resource steps, so they are reviewed,
// approved per policy, budgeted, halted and recorded like any other step; they change the
// resource state only where a restore says so.
import fs from 'node:fs';
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {forgetBackup} from '../ledger/backups.js';
import type {Action, StepOutcome} from '../resources/types.js';
import type {BackupFinishOp, BackupLedgerOp, BackupVolumeOp} from './backup-steps.js';
import type {RestoreCheckOp, RestoreLedgerOp, RestoreVolumeOp} from './restore-steps.js';

export type PruneOp = {
  op: 'prune-backup';
  backup_id: string;
  dir: string;
};

export type DrOp = BackupVolumeOp | BackupLedgerOp | BackupFinishOp | RestoreCheckOp | RestoreVolumeOp | RestoreLedgerOp | PruneOp;

const OPS = new Set([
  'backup-volume',
  'backup-ledger',
  'backup-finish',
  'restore-check',
  'restore-volume',
  'restore-ledger',
  'prune-backup',
]);

export const drAction: Action = {
  kind: 'dr',
  version: '1.0.0',
  safety: {category: 'WRITE', budget: {timeMs: 3_600_000, network: 'none'}},
  updatable: new Set(),
  computed: new Set(),

  validate(input) {
    const op = (input as {op?: unknown} | null)?.op;
    if (typeof op !== 'string' || !OPS.has(op))
      throw new OrxError({code: 'plan_invalid', exit: EXIT.STALE, message: `plan file: a dr step has no known op (${String(op)})`});
    return input as Record<string, unknown>;
  },

  plan() {
    throw new Error('dr steps are made by the dr plan builders, not by diffing');
  },

  async apply(step, ctx): Promise<StepOutcome> {
    const op = step.after as DrOp;
    // the archive code (tar, gzip) loads only when a DR plan runs, never for a plan of resources
    switch (op.op) {
      case 'backup-volume':
        return (await import('./backup-steps.js')).backupVolumeStep(op, ctx);
      case 'backup-ledger':
        return (await import('./backup-steps.js')).backupLedgerStep(op, ctx);
      case 'backup-finish':
        return (await import('./backup-steps.js')).backupFinishStep(op, ctx);
      case 'restore-check':
        return (await import('./restore-steps.js')).restoreCheckStep(op, ctx);
      case 'restore-volume':
        return (await import('./restore-steps.js')).restoreVolumeStep(op, step, ctx);
      case 'restore-ledger':
        return (await import('./restore-steps.js')).restoreLedgerStep(op, ctx);
      case 'prune-backup':
        fs.rmSync(op.dir, {recursive: true, force: true});
        forgetBackup(ctx.ledger, op.backup_id, 'pruned', ctx.runId);
        return {object_id: null, attributes: null, changes: []};
    }
  },

  async rollback() {
    // each op cleans up after itself on failure (a partial backup is never renamed into place)
  },
};
