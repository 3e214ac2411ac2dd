// Reading the ledger copy inside a backup, without migrating or otherwise touching it: the
// recorded state a restore puts back, and where that copy's history stood.
import Database from 'better-sqlite3';
import type {ChainHead} from './events.js';

export interface BackupLedgerState {
  resources: Array<{address: string; kind: string; attributes: Record<string, unknown>; object_id: string | null}>;
  /** the copy's serial, as stored */
  serial: string;
  /** the copy's newest event (undefined: it had none) */
  head: ChainHead | undefined;
}

export function readBackupLedger(file: string): BackupLedgerState {
  const copy = new Database(file, {readonly: true, fileMustExist: true});
  try {
    const rows = copy.prepare('SELECT address, kind, attributes, object_id FROM resources ORDER BY address').all() as Array<{
      address: string;
      kind: string;
      attributes: string;
      object_id: string | null;
    }>;
    return {
      resources: rows.map((r) => ({...r, attributes: JSON.parse(r.attributes) as Record<string, unknown>})),
      serial: (copy.prepare("SELECT value FROM meta WHERE key = 'serial'").get() as {value: string}).value,
      head: copy.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as ChainHead | undefined,
    };
  } finally {
    copy.close();
  }
}
