// What a backup, restore or prune plan holds: one step per volume (and the ledger, and the
// manifest), each saying exactly what it will do, so the plan can be reviewed, approved and
// saved like any other. Pure: the ledger's records and the backups on disk come in.
import {randomBytes} from 'node:crypto';
import type {WorkspaceConfig} from '../config/types.js';
import {OrxError} from '../errors.js';
import type {BackupRecord} from '../ledger/backups.js';
import type {ResourceRecord} from '../ledger/types.js';
import {objectName} from '../util/labels.js';
import type {SafetyCategory, StepAction, StepDraft} from '../resources/types.js';
import type {DrOp} from './action.js';
import type {BackupVolumeOp} from './backup-steps.js';
import type {BackupManifest} from './manifest.js';

// Actions are chosen for how the executor runs them: never 'replace' (it would run the step
// twice, as a delete and a create); a restore is an 'update' of what exists, in DESTROY's category.

function step(
  address: string,
  action: StepAction,
  category: SafetyCategory,
  op: DrOp,
  reason: string,
  depends_on: string[] = [],
): StepDraft {
  return {
    address,
    kind: 'dr',
    action,
    category,
    before: null,
    after: op,
    changes: [],
    reasons: [reason],
    depends_on,
    object_id: null,
    record: false,
    budget_ms: 3_600_000,
  };
}

const mounts = (a: ResourceRecord): Array<{source: string}> => (a.attributes.mounts as Array<{source: string}> | undefined) ?? [];

export interface BackupPlanInput {
  config: WorkspaceConfig;
  records: ResourceRecord[];
  /** volume names from --volume; empty: every volume with backup: true */
  volumes: string[];
  root: string;
  backupId: string;
}

export function backupSteps(i: BackupPlanInput): StepDraft[] {
  for (const v of i.volumes)
    if (!i.config.volumes[v])
      throw new OrxError({
        code: 'not_found',
        message: `--volume ${v}: no such volume in orchestration.yml`,
        actions: [`Volumes: ${Object.keys(i.config.volumes).join(', ') || '(none)'}`],
      });
  const chosen =
    i.volumes.length > 0
      ? i.volumes
      : Object.entries(i.config.volumes)
          .filter(([, s]) => s.backup)
          .map(([n]) => n);
  const drafts: StepDraft[] = [];
  for (const volume of chosen.sort()) {
    const rec = i.records.find((r) => r.address === `volume.${volume}`);
    if (!rec)
      throw new OrxError({
        code: 'not_applied',
        message: `volume.${volume} has not been applied yet: there is nothing to back up`,
        actions: ['Run `orx apply` first.'],
      });
    const name = String(rec.attributes.name);
    const users = i.records.filter((r) => r.kind === 'agent' && mounts(r).some((m) => m.source === name) && r.object_id);
    const how = i.config.volumes[volume].quiesce;
    const held = users.map((u) => u.address);
    // two volumes of one agent are copied one after the other: the first to finish would
    // otherwise resume the agent while the second is still being copied
    const after = drafts
      .filter((d) => ((d.after as BackupVolumeOp).agents ?? []).some((a) => held.includes(a.address)))
      .map((d) => d.address);
    drafts.push(
      step(
        `backup.${volume}`,
        'create',
        'WRITE',
        {
          op: 'backup-volume',
          backup_id: i.backupId,
          root: i.root,
          volume,
          volume_name: name,
          quiesce: how,
          skip_special: i.config.dr.skip_special,
          max_volume_bytes: i.config.dr.max_volume_bytes,
          agents: users.map((u) => ({address: u.address, container: u.object_id!})),
        },
        held.length ? `archive ${name}; ${how} ${held.join(', ')} while it is copied` : `archive ${name} (no agent mounts it)`,
        after,
      ),
    );
  }
  drafts.push(
    step(
      'backup.ledger',
      'create',
      'WRITE',
      {op: 'backup-ledger', backup_id: i.backupId, root: i.root},
      'an online copy of the ledger (.orx/ledger.db)',
    ),
  );
  drafts.push(
    step(
      'backup.manifest',
      'create',
      'WRITE',
      {op: 'backup-finish', backup_id: i.backupId, root: i.root, volumes: chosen},
      `write and sign manifest.json, then move the backup into place as ${i.backupId}`,
      drafts.map((d) => d.address),
    ),
  );
  return drafts;
}

export interface RestorePlanInput {
  config: WorkspaceConfig;
  workspace: string;
  records: ResourceRecord[];
  backup: {id: string; dir: string; manifest: BackupManifest};
  volumes: string[];
  ledger: boolean;
}

export function restoreSteps(i: RestorePlanInput): StepDraft[] {
  const m = i.backup.manifest;
  if (m.workspace !== i.workspace)
    throw new OrxError({
      code: 'wrong_workspace',
      message: `backup ${i.backup.id} is of workspace "${m.workspace}", this is "${i.workspace}"`,
    });
  for (const v of i.volumes)
    if (!m.archives.some((a) => a.volume === v))
      throw new OrxError({
        code: 'not_found',
        message: `backup ${i.backup.id} has no archive of volume ${v}`,
        actions: [`It has: ${m.archives.map((a) => a.volume).join(', ') || '(none)'}`],
      });
  const drafts: StepDraft[] = [
    step(
      'restore.check',
      'create',
      'READ',
      {op: 'restore-check', backup_dir: i.backup.dir},
      'check the manifest signature and every archive digest first',
    ),
  ];
  if (i.ledger) {
    if (!m.ledger) throw new OrxError({code: 'not_found', message: `backup ${i.backup.id} has no copy of the ledger`});
    drafts.push(
      step(
        'restore.ledger',
        'update',
        'DESTROY',
        {op: 'restore-ledger', backup_dir: i.backup.dir, file: m.ledger.file, backup_id: i.backup.id},
        `restore the recorded state to backup ${i.backup.id}'s (serial ${m.ledger.serial}); history is kept and the restore recorded as new events`,
        ['restore.check'],
      ),
    );
  }
  const suffix = randomBytes(3).toString('hex');
  for (const a of m.archives.filter((x) => i.volumes.length === 0 || i.volumes.includes(x.volume))) {
    const rec = i.records.find((r) => r.address === `volume.${a.volume}`);
    const base = objectName(i.workspace, a.volume);
    const users = rec ? i.records.filter((r) => r.kind === 'agent' && mounts(r).some((x) => x.source === rec.attributes.name)) : [];
    const agents = users.map((u) => u.address);
    const reason = rec
      ? `restore ${a.file} into a fresh volume; ${agents.length ? `${agents.join(', ')} are recreated on it and must be healthy before ` : ''}the old volume ${String(rec.attributes.name)} is removed`
      : `restore ${a.file} into a new volume ${base} (not recorded here yet)`;
    const op: DrOp = {
      op: 'restore-volume',
      backup_dir: i.backup.dir,
      archive: {file: a.file, sha256: a.sha256, content_digest: a.content_digest, volume: a.volume},
      new_name: rec ? `${base}-r${suffix}` : base,
      health_timeout_ms: i.config.dr.health_timeout_ms,
      agents,
    };
    drafts.push(
      step(`restore.${a.volume}`, 'update', 'DESTROY', op, reason, i.ledger ? ['restore.check', 'restore.ledger'] : ['restore.check']),
    );
  }
  return drafts;
}

export interface PrunePlanInput {
  backups: Array<{id: string; dir: string}>;
  recorded: BackupRecord[];
  keep: number;
  keepVerified: number;
}

/** Keeps the newest `keep`, the newest `keepVerified` verified ones, and always the last verified one. */
export function pruneSteps(i: PrunePlanInput): StepDraft[] {
  const verified = new Map(i.recorded.filter((b) => b.verified_at).map((b) => [b.id, b.verified_at!]));
  const newestFirst = [...i.backups].sort((a, b) => (a.id < b.id ? 1 : -1));
  const keep = new Set(newestFirst.slice(0, Math.max(0, i.keep)).map((b) => b.id));
  const verifiedNewestFirst = newestFirst.filter((b) => verified.has(b.id));
  for (const b of verifiedNewestFirst.slice(0, Math.max(1, i.keepVerified))) keep.add(b.id);
  return newestFirst
    .filter((b) => !keep.has(b.id))
    .map((b) =>
      step(
        `prune.${b.id}`,
        'delete',
        'DESTROY',
        {op: 'prune-backup', backup_id: b.id, dir: b.dir},
        `delete backup ${b.id}${verified.has(b.id) ? ' (verified)' : ' (never verified)'}`,
      ),
    );
}
