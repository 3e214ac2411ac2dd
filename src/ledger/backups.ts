// The backups table: every completed backup, and when a restore drill last proved it. A backup
// is "verified" only after a drill restored every archive and found the same content.
import {OrxError} from '../errors.js';
import {sessionOf} from './db.js';
import type {Ledger} from './ledger.js';

export interface BackupRecord {
  id: string;
  /** absolute path of the backup directory */
  path: string;
  created_at: string;
  /** bytes of every file of the backup */
  size: number;
  verified_at: string | null;
  manifest: Record<string, unknown>;
}

interface Row extends Omit<BackupRecord, 'manifest'> {
  manifest: string | null;
}

const toRecord = (r: Row): BackupRecord => ({...r, manifest: r.manifest ? (JSON.parse(r.manifest) as Record<string, unknown>) : {}});

export function recordBackup(ledger: Ledger, b: Omit<BackupRecord, 'verified_at'>, runId: string | null): void {
  ledger.write(() => {
    sessionOf(ledger)
      .stmt(
        'INSERT INTO backups (id, path, created_at, size, verified_at, manifest) VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT(id) DO UPDATE SET path = excluded.path, size = excluded.size, manifest = excluded.manifest',
      )
      .run(b.id, b.path, b.created_at, b.size, JSON.stringify(b.manifest));
    ledger.appendEvent({
      run_id: runId,
      level: 'info',
      message: `backup ${b.id} written (${b.size} bytes)`,
      payload: {backup: {id: b.id, path: b.path, size: b.size}},
    });
  });
}

export function markVerified(ledger: Ledger, id: string, detail: Record<string, unknown>): string {
  const at = new Date().toISOString();
  ledger.write(() => {
    const res = sessionOf(ledger).stmt('UPDATE backups SET verified_at = ? WHERE id = ?').run(at, id);
    if (res.changes === 0) throw new OrxError({code: 'not_found', message: `no backup ${id} in the ledger`});
    ledger.appendEvent({level: 'info', message: `backup ${id} verified by a restore drill`, payload: {verified: {id, at, ...detail}}});
  });
  return at;
}

export function listBackups(ledger: Ledger): BackupRecord[] {
  return (sessionOf(ledger).stmt('SELECT * FROM backups ORDER BY created_at DESC, id DESC').all() as Row[]).map(toRecord);
}

export function getBackup(ledger: Ledger, id: string): BackupRecord | null {
  const row = sessionOf(ledger).stmt('SELECT * FROM backups WHERE id = ?').get(id) as Row | undefined;
  return row ? toRecord(row) : null;
}

export function forgetBackup(ledger: Ledger, id: string, reason: string, runId: string | null): void {
  ledger.write(() => {
    sessionOf(ledger).stmt('DELETE FROM backups WHERE id = ?').run(id);
    ledger.appendEvent({run_id: runId, level: 'warn', message: `backup ${id} deleted: ${reason}`, payload: {pruned: {id, reason}}});
  });
}
