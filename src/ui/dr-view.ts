// Human renderings of `orx dr list` and `orx dr verify`.
import type {BackupRow} from '../app/dr-list.js';
import type {Verification} from '../dr/drill.js';
import {c} from './color.js';

const size = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
const age = (s: number | null): string =>
  s === null
    ? '?'
    : s < 120
      ? `${s}s`
      : s < 7200
        ? `${Math.round(s / 60)}m`
        : s < 172800
          ? `${Math.round(s / 3600)}h`
          : `${Math.round(s / 86400)}d`;

export function renderBackupList(root: string, rows: BackupRow[]): string {
  if (rows.length === 0) return `No backups in ${root}. Make one with \`orx dr backup\`.`;
  const lines = rows.map(
    (r) =>
      `${r.id}  ${size(r.size).padStart(9)}  ${age(r.age_s).padStart(5)} ago  ${r.verified_at ? c.green(`verified ${r.verified_at}`) : c.yellow('not verified (orx dr verify --drill)')}${r.recorded ? '' : '  (not in this ledger)'}`,
  );
  return [`Backups in ${root}:`, ...lines].join('\n');
}

export function renderBackupVerification(id: string, v: Verification, verifiedAt: string | null): string {
  const lines: string[] = [];
  if (v.ok)
    lines.push(
      `${c.green('Backup OK')}: ${id}, signed by ${v.signed_by}; ${v.manifest?.archives.length ?? 0} archive(s) and the ledger copy match their digests.`,
    );
  else lines.push(`${c.red('Backup FAILED')}: ${id}`);
  for (const p of v.problems) lines.push(`  ${p.file ?? p.part}: ${p.reason}`);
  for (const d of v.drill ?? [])
    lines.push(
      `  drill ${d.volume}: ${d.ok ? c.green('restored content matches') : c.red(d.error ?? 'differs')} (${(d.ms / 1000).toFixed(1)} s)`,
    );
  if (verifiedAt) lines.push(`Marked verified at ${verifiedAt}.`);
  else if (v.ok && !v.drill) lines.push('Not marked verified: only a restore drill (--drill) does that.');
  return lines.join('\n');
}
