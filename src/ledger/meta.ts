// The meta table: the ledger's lineage and serial, and the small singletons kept by key
// (the halt state, the snapshot in force, agents held by a backup).
import {sessionOf, type LedgerHandle} from './db.js';
import type {LedgerMeta} from './types.js';

export function ledgerMeta(ledger: LedgerHandle): LedgerMeta {
  const db = sessionOf(ledger);
  const rows = db.stmt('SELECT key, value FROM meta').all() as {key: string; value: string}[];
  const m = new Map(rows.map((r) => [r.key, r.value]));
  return {lineage: m.get('lineage') ?? '', serial: Number(m.get('serial') ?? 0), schema_version: db.schemaVersion()};
}

/** Inside a write transaction: the next serial, recorded as the current one. */
export function bumpSerial(ledger: LedgerHandle): number {
  const serial = ledgerMeta(ledger).serial + 1;
  sessionOf(ledger).stmt("UPDATE meta SET value = ? WHERE key = 'serial'").run(String(serial));
  return serial;
}

export function metaValue(ledger: LedgerHandle, key: string): string | undefined {
  const row = sessionOf(ledger).stmt('SELECT value FROM meta WHERE key = ?').get(key) as {value: string} | undefined;
  return row?.value;
}

export function setMetaValue(ledger: LedgerHandle, key: string, value: string): void {
  sessionOf(ledger)
    .stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
    .run(key, value);
}

export function deleteMetaValue(ledger: LedgerHandle, key: string): void {
  sessionOf(ledger).stmt('DELETE FROM meta WHERE key = ?').run(key);
}
