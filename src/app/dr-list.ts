// `orx dr list`: the backups on disk, with what the ledger knows of them.
import {withReadLedger} from '../ledger/session.js';
import {loadConfig} from '../config/load.js';
import {backupRoot, backupsOnDisk, dirSize} from '../dr/layout.js';
import type {OrxContext} from '../engine/context.js';
import {listBackups} from '../ledger/backups.js';
import {Ledger} from '../ledger/ledger.js';

export async function listBackupsOnDisk(ctx: OrxContext): Promise<{destination: string; backups: BackupRow[]}> {
  const loaded = loadConfig(ctx.dir, {vars: ctx.vars});
  const root = backupRoot(ctx.dir, loaded.config);
  // a machine that holds the backups but no ledger yet (before a restore) still lists them
  const recorded = Ledger.exists(ctx.dir) ? await withReadLedger(ctx.dir, (l) => listBackups(l)) : [];
  const byId = new Map(recorded.map((r) => [r.id, r]));
  const now = Date.now();
  const backups: BackupRow[] = backupsOnDisk(root).map((b) => {
    const r = byId.get(b.id);
    const created = r?.created_at ?? null;
    return {
      id: b.id,
      dir: b.dir,
      created_at: created,
      age_s: created ? Math.round((now - Date.parse(created)) / 1000) : null,
      size: r?.size ?? dirSize(b.dir),
      verified_at: r?.verified_at ?? null,
      recorded: Boolean(r),
    };
  });
  return {destination: root, backups};
}

export interface BackupRow {
  id: string;
  dir: string;
  created_at: string | null;
  age_s: number | null;
  size: number;
  verified_at: string | null;
  /** false: on disk but not in this ledger (copied in from elsewhere) */
  recorded: boolean;
}
