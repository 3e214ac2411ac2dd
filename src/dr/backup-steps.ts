// The steps of a backup plan. Each volume step writes its archive and a small sidecar with
// what it measured into the backup's partial directory; the finishing step turns the sidecars
// into the signed manifest and renames the directory into place, so a backup exists only
// once it is whole.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {loadConfig} from '../config/load.js';
import {workspaceKey} from '../engine/workspace-key.js';
import {recordBackup} from '../ledger/backups.js';
import {currentSnapshot} from '../ledger/snapshots.js';
import type {ApplyContext, StepOutcome} from '../resources/types.js';
import {backupVolume, CONTENT_DIGEST_FORMAT, fileSha256, scanVolume, type VolumeScan} from './archive.js';
import {DEFAULT_MAX_VOLUME_BYTES} from '../config/normalize.js';
import {OrxError} from '../errors.js';
import {dirSize, finalDir, LEDGER_COPY, partialDir, partialsOnDisk} from './layout.js';
import {pidAlive} from '../ledger/locks.js';
import {MANIFEST_FORMAT, writeSignedManifest, type ArchiveEntry, type BackupManifest} from './manifest.js';
import {withQuiesced} from './quiesce.js';

export type BackupVolumeOp = {
  op: 'backup-volume';
  backup_id: string;
  root: string;
  volume: string;
  volume_name: string;
  quiesce: 'pause' | 'stop';
  /** dr.skip_special and dr.max_volume_bytes when the plan was made (absent in older plans: the defaults) */
  skip_special?: boolean;
  max_volume_bytes?: number;
  agents: Array<{address: string; container: string}>;
};

export type BackupLedgerOp = {
  op: 'backup-ledger';
  backup_id: string;
  root: string;
};

export type BackupFinishOp = {
  op: 'backup-finish';
  backup_id: string;
  root: string;
  volumes: string[];
};

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const NO_CHANGE: StepOutcome = {object_id: null, attributes: null, changes: []};
const sidecar = (dir: string, name: string): string => path.join(dir, `.${name}.json`);

const OWNER = '.owner';

function ensurePartial(root: string, id: string): string {
  const dir = partialDir(root, id);
  fs.mkdirSync(dir, {recursive: true, mode: 0o700});
  fs.writeFileSync(path.join(dir, OWNER), JSON.stringify({pid: process.pid, host: os.hostname()}), {mode: 0o600});
  return dir;
}

/** Partial backups whose writer is gone (killed mid-backup): never listed, and removed here. */
function removeDeadPartials(root: string): void {
  for (const dir of partialsOnDisk(root)) {
    let owner: {pid?: number; host?: string} = {};
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, OWNER), 'utf8')) as typeof owner;
    } catch {
      // no owner file: it died before writing anything worth keeping
    }
    if (owner.host && owner.host !== os.hostname()) continue;
    if (owner.pid && owner.pid !== process.pid && pidAlive(owner.pid)) continue;
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

const fmtBytes = (n: number): string => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

/** What would make the backup fail or unfaithful, refused while every agent still runs. */
function refuseBeforePause(op: BackupVolumeOp, scan: VolumeScan): void {
  const address = `volume.${op.volume}`;
  if (scan.special_count > 0 && !op.skip_special) {
    const named = scan.specials
      .slice(0, 5)
      .map((s) => `${s.path} (${s.kind})`)
      .join(', ');
    const more = scan.special_count > 5 ? ` and ${scan.special_count - 5} more` : '';
    throw new OrxError({
      code: 'dr_special_entry',
      message: `${address} (${op.volume_name}) holds entries no restore can put back faithfully: ${named}${more}; nothing was paused or written`,
      actions: [
        'Remove them from the volume, or set `dr.skip_special: true` to leave FIFOs, sockets and devices out of backups (the manifest lists them as skipped).',
      ],
      data: {volume: op.volume, specials: scan.specials, count: scan.special_count},
    });
  }
  const max = op.max_volume_bytes ?? DEFAULT_MAX_VOLUME_BYTES;
  if (scan.apparent > max) {
    throw new OrxError({
      code: 'dr_volume_too_large',
      message: `${address} (${op.volume_name}) holds ${scan.apparent} bytes (${fmtBytes(scan.apparent)} apparent size, ${fmtBytes(scan.allocated)} on disk), more than dr.max_volume_bytes (${max} bytes); nothing was paused or written`,
      actions: ['Raise `dr.max_volume_bytes` in orchestration.yml, or remove data from the volume.'],
      data: {volume: op.volume, apparent: scan.apparent, allocated: scan.allocated, max},
    });
  }
}

export async function backupVolumeStep(op: BackupVolumeOp, ctx: ApplyContext): Promise<StepOutcome> {
  const labels = {'io.orchestrix.workspace': ctx.workspace};
  const scan = await scanVolume(ctx.docker, {volume: op.volume_name, labels, signal: ctx.signal});
  refuseBeforePause(op, scan);
  const dir = ensurePartial(op.root, op.backup_id);
  const file = `${op.volume}.tar.gz`;
  const dest = path.join(dir, file);
  fs.rmSync(dest, {force: true}); // a retry of this step starts the archive over
  const t0 = Date.now();
  const containers = op.agents.map((a) => ({id: a.container, address: a.address}));
  let ms = 0;
  const archive = await backupVolume(ctx.docker, {
    volume: op.volume_name,
    dest,
    skipSpecial: op.skip_special === true,
    labels,
    signal: ctx.signal,
    onProgress: (bytes) =>
      ctx.progress?.(`${(bytes / 1e6).toFixed(0)} MB, ${(bytes / 1e6 / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(0)} MB/s`),
    // the agents are held while the helper reads, not while its container is made or removed
    hold: async (read) => {
      ms = (await withQuiesced(ctx.docker, ctx.ledger, op.quiesce, containers, read)).ms;
    },
  });
  const skipped = op.skip_special && scan.special_count > 0 ? {skipped: scan.specials} : {};
  const entry: ArchiveEntry = {
    volume: op.volume,
    volume_name: op.volume_name,
    file,
    ...archive,
    content_digest_format: CONTENT_DIGEST_FORMAT,
    ...skipped,
    quiesce: {how: containers.length ? op.quiesce : 'none', agents: op.agents.map((a) => a.address), ms: containers.length ? ms : 0},
  };
  fs.writeFileSync(sidecar(dir, op.volume), JSON.stringify(entry), {mode: 0o600});
  const secs = Math.max(0.001, (Date.now() - t0) / 1000);
  ctx.log.info(
    `volume ${op.volume}: ${archive.bytes} bytes in ${archive.files} files -> ${archive.size} bytes, ${(archive.bytes / 1e6 / secs).toFixed(1)} MB/s; agents held ${entry.quiesce.ms} ms`,
    {address: `backup.${op.volume}`},
  );
  return NO_CHANGE;
}

export async function backupLedgerStep(op: BackupLedgerOp, ctx: ApplyContext): Promise<StepOutcome> {
  const dir = ensurePartial(op.root, op.backup_id);
  const dest = path.join(dir, LEDGER_COPY);
  fs.rmSync(dest, {force: true});
  // the head first: the copy holds at least this much of the chain
  const head = ctx.ledger.chainHead();
  const serial = ctx.ledger.meta().serial;
  await ctx.ledger.backup(dest);
  fs.chmodSync(dest, 0o600);
  fs.writeFileSync(
    sidecar(dir, 'ledger'),
    JSON.stringify({file: LEDGER_COPY, size: fs.statSync(dest).size, sha256: await fileSha256(dest), serial, chain_head: head}),
    {mode: 0o600},
  );
  return NO_CHANGE;
}

export async function backupFinishStep(op: BackupFinishOp, ctx: ApplyContext): Promise<StepOutcome> {
  const dir = partialDir(op.root, op.backup_id);
  const archives = op.volumes.map((v) => JSON.parse(fs.readFileSync(sidecar(dir, v), 'utf8')) as ArchiveEntry);
  const ledgerPart = fs.existsSync(sidecar(dir, 'ledger'))
    ? (JSON.parse(fs.readFileSync(sidecar(dir, 'ledger'), 'utf8')) as BackupManifest['ledger'])
    : null;
  const loaded = loadConfig(ctx.dir);
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    format_version: 1,
    id: op.backup_id,
    workspace: ctx.workspace,
    lineage: ctx.ledger.meta().lineage,
    created_at: new Date().toISOString(),
    orx_version: ctx.version,
    config_snapshot: currentSnapshot(ctx.ledger)?.id ?? null,
    ledger: ledgerPart,
    archives,
  };
  // the data reaches the disk before the manifest vouches for it
  for (const f of [...archives.map((a) => a.file), ...(ledgerPart ? [ledgerPart.file] : [])]) fsyncFile(path.join(dir, f));
  await writeSignedManifest(dir, manifest, await workspaceKey({dir: ctx.dir, version: ctx.version}, loaded.config));
  for (const v of [...op.volumes, 'ledger']) fs.rmSync(sidecar(dir, v), {force: true});
  fs.rmSync(path.join(dir, OWNER), {force: true});
  const final = finalDir(op.root, op.backup_id);
  fs.renameSync(dir, final);
  removeDeadPartials(op.root);
  recordBackup(
    ctx.ledger,
    {
      id: op.backup_id,
      path: final,
      created_at: manifest.created_at,
      size: dirSize(final),
      manifest,
    },
    ctx.runId,
  );
  return NO_CHANGE;
}
