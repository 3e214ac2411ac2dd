// `orx secrets check` as a table: where each secret lives and whether it resolves (never its value).
import type {SecretCheckRow} from '../app/validate.js';
import {c} from './color.js';

export function renderSecretChecks(rows: SecretCheckRow[]): string {
  if (rows.length === 0) return 'No secret references in orchestration.yml.';
  const head = ['REFERENCE', 'AGENT', 'SECRET', 'PROVIDER', 'STATUS'];
  const cells = rows.map((r) => [r.reference, r.address, r.key, r.provider, r.status]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((v, i) => (i === row.length - 1 ? v : v.padEnd(width[i]))).join('  ');
  const out = [
    line(head),
    ...cells.map((row, i) => {
      const text = line(row);
      return rows[i].status === 'ok' ? text.replace(/ok$/, c.green('ok')) : text.replace(/error$/, c.red('error'));
    }),
  ];
  const failed = rows.filter((r) => r.status !== 'ok');
  for (const f of failed) out.push(`  ${f.address} ${f.key}: ${f.error}`);
  out.push(
    failed.length === 0
      ? `All ${rows.length} reference${rows.length === 1 ? '' : 's'} resolve.`
      : `${failed.length} of ${rows.length} reference${rows.length === 1 ? '' : 's'} failed.`,
  );
  return out.join('\n');
}
