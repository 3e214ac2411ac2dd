// Where backups live: dr.destination (default .orx/backups), one directory per backup named by
// its id. A backup is written under a ".partial-" name and renamed only when complete, so a
// listing never shows half a backup.
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type {WorkspaceConfig} from '../config/types.js';
import {OrxError} from '../errors.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_BUNDLE = 'manifest.sigstore.json';
export const LEDGER_COPY = 'ledger.db';
const PARTIAL = '.partial-';
const ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function backupRoot(dir: string, config: WorkspaceConfig): string {
  return path.resolve(dir, config.dr.destination);
}

/** Sorts by time: a compact UTC stamp, then randomness. */
export function newBackupId(now = new Date()): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-${randomBytes(3).toString('hex')}`;
}

export const partialDir = (root: string, id: string): string => path.join(root, `${PARTIAL}${id}`);
export const finalDir = (root: string, id: string): string => path.join(root, id);

/** Complete backups on disk (a manifest present), newest first. */
export function backupsOnDisk(root: string): Array<{id: string; dir: string}> {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .filter((n) => ID.test(n) && fs.existsSync(path.join(root, n, MANIFEST_FILE)))
    .sort()
    .reverse()
    .map((id) => ({id, dir: path.join(root, id)}));
}

/** Partial backups left by an interrupted run (never listed, removed by the next backup). */
export function partialsOnDisk(root: string): string[] {
  try {
    return fs
      .readdirSync(root)
      .filter((n) => n.startsWith(PARTIAL))
      .map((n) => path.join(root, n));
  } catch {
    return [];
  }
}

/** A backup named by id, unique id prefix, or directory path. */
export function findBackup(root: string, ref: string, cwd: string): {id: string; dir: string} {
  const asPath = path.resolve(cwd, ref);
  if (fs.existsSync(path.join(asPath, MANIFEST_FILE))) return {id: path.basename(asPath), dir: asPath};
  const matches = backupsOnDisk(root).filter((b) => b.id.startsWith(ref));
  if (matches.length === 1) return matches[0];
  throw new OrxError({
    code: matches.length ? 'ambiguous' : 'not_found',
    message: matches.length
      ? `"${ref}" matches ${matches.length} backups: ${matches.map((m) => m.id).join(', ')}`
      : `no backup "${ref}" in ${root}`,
    actions: ['See `orx dr list`.'],
  });
}

export function dirSize(dir: string): number {
  let total = 0;
  for (const f of fs.readdirSync(dir)) {
    const st = fs.statSync(path.join(dir, f));
    if (st.isFile()) total += st.size;
  }
  return total;
}
