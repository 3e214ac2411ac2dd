// How the audit and history results read in a terminal.
import type {AuditVerification, LedgerVerification} from '../audit/chain.js';
import type {ChainHead} from '../ledger/events.js';
import {formatChange} from '../audit/diff.js';
import type {ExportSummary} from '../audit/export.js';
import {SHORT_ID, type HistoryDiff, type HistoryList} from '../audit/history.js';
import type {BundleVerification} from '../audit/verify-bundle.js';
import {EXIT} from '../exit-codes.js';
import {c} from './color.js';

const short = (id: string | null | undefined): string => (id ? id.slice(0, SHORT_ID) : '-');
const shortHash = (h: string): string => `${h.slice(0, 12)}…`;

export function renderHistory(h: HistoryList): string {
  if (h.snapshots.length === 0) return 'No configuration has been applied yet (contract snapshots are recorded by `orx apply`).';
  const rows = [
    ['', 'SNAPSHOT', 'RECORDED', 'RUN', 'POLICY', 'PARENT'],
    ...h.snapshots.map((s) => [s.current ? '*' : ' ', short(s.id), s.created_at, s.run_id ?? '-', short(s.policy_digest), short(s.parent)]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  lines[0] = c.bold(lines[0]);
  let foot = '';
  if (h.current) {
    const row = h.snapshots.find((s) => s.id === h.current!.id);
    foot = `\n\n* in force: ${short(h.current.id)} since ${h.current.at}${h.current.run_id ? ` (run ${h.current.run_id})` : ''}`;
    if (row && row.policy_digest !== h.current.policy_digest) foot += `, policy ${short(h.current.policy_digest)}`;
  }
  return `${lines.join('\n')}${foot}`;
}

export function renderHistoryDiff(d: HistoryDiff): string {
  const head = `${c.bold(`${short(d.from.id)} -> ${short(d.to.id)}`)}  (${d.from.created_at} -> ${d.to.created_at})`;
  const lines = d.changes.map((ch) => {
    const line = formatChange(ch);
    return ch.op === 'add' ? c.green(line) : ch.op === 'remove' ? c.red(line) : c.yellow(line);
  });
  if (d.policy_changed) lines.push(c.yellow(`~ (policy digest): ${d.from.policy_digest ?? 'none'} -> ${d.to.policy_digest ?? 'none'}`));
  if (lines.length === 0) return `${head}\nNo changes: the two snapshots hold the same configuration and policy digest.`;
  const counts = (['add', 'change', 'remove'] as const).map((op) => d.changes.filter((ch) => ch.op === op).length);
  return `${head}\n${lines.join('\n')}\n\n${counts[0]} added, ${counts[1]} changed, ${counts[2]} removed${d.policy_changed ? '; policy files changed' : ''}.`;
}

export function renderAuditVerification(v: AuditVerification | LedgerVerification): string {
  const lines: string[] = [];
  const cps = 'checkpoints' in v ? v.checkpoints : null;
  const headFile = 'head_file' in v ? v.head_file : null;
  const chainOk = 'chain_ok' in v ? v.chain_ok : v.ok;
  if (chainOk) {
    const intact = v.ok ? c.green('Chain intact') : 'Hash links intact';
    lines.push(
      `${intact}: ${v.count} event${v.count === 1 ? '' : 's'} verified from the genesis hash to head seq ${v.head.seq} ${v.head.hash}`,
    );
  } else {
    lines.push(
      `${c.red('Chain BROKEN')} at seq ${v.break!.seq}: ${v.break!.reason}`,
      `  ${v.count} event${v.count === 1 ? '' : 's'} before it verified; nothing from seq ${v.break!.seq} on can be trusted.`,
      `  stored head: seq ${v.head.seq} ${v.head.hash}`,
    );
  }
  if (cps) {
    const n = cps.newest;
    if (n) {
      lines.push(
        `Checkpoint #${n.id} (seq ${n.seq}, ${n.ts}, after ${n.reason}${n.run_id ? ` ${n.run_id}` : ''}) signed by ${n.key_fingerprint}; ${cps.verified} of ${cps.count} checkpoint signature${cps.count === 1 ? '' : 's'} verified.`,
      );
    }
    if (cps.problems.length) {
      lines.push(c.red(`Checkpoint problems (${cps.problems.length}):`));
      for (const p of cps.problems) lines.push(`  ${c.red('✗')} ${p.kind.replace('_', ' ')}: ${p.reason}`);
    }
    for (const note of cps.notes) lines.push(`  note: ${note}`);
  }
  if (headFile) {
    lines.push(
      headFile.ok
        ? `${c.green('Kept head found')}: ${headFile.file} (checkpoint #${headFile.checkpoint}, seq ${headFile.seq}, ${headFile.ts}) is in this ledger, signed by ${headFile.signed_by}.`
        : `${c.red('Kept head FAILED')}: ${headFile.file}${headFile.seq !== null ? ` (seq ${headFile.seq}, ${headFile.ts})` : ''}: ${headFile.reason}`,
    );
  }
  if ('checkpoints' in v && !v.ok) lines.push(c.red('Ledger FAILED verification.'));
  return lines.join('\n');
}

export function renderChainHead(h: ChainHead): string {
  return h.seq === 0 ? `No events yet: head is the genesis hash ${h.hash}` : `seq ${h.seq} ${h.hash}`;
}

export function renderExportSummary(s: ExportSummary): string {
  const span = s.range.from_seq == null ? 'no events matched' : `seq ${s.range.from_seq}..${s.range.to_seq}`;
  return [
    `${c.green('Wrote')} ${s.file}: ${s.events} event${s.events === 1 ? '' : 's'} (${span}), ${s.runs} run${s.runs === 1 ? '' : 's'}, ${s.snapshots} snapshot${s.snapshots === 1 ? '' : 's'}`,
    `  chain head at export: seq ${s.chain_head.seq} ${s.chain_head.hash}`,
    `  signed by ${s.key_fingerprint}`,
    `  check it with: orx audit verify-bundle ${s.file}`,
  ].join('\n');
}

export function renderBundleVerification(file: string, v: BundleVerification, max = 50): string {
  const mark = (ok: boolean): string => (ok ? c.green('ok') : c.red('FAILED'));
  const sig = v.signature.ok
    ? `${mark(true)}  signed by ${v.signature.fingerprint} (${v.signature.key === 'pinned' ? 'the pinned --key' : 'the key in the bundle'})`
    : `${mark(false)}  ${v.signature.reason}`;
  const evProblems = v.problems.filter((p) => p.part === 'event' || p.part === 'link' || p.part === 'range');
  const span = v.events.from_seq == null ? 'none' : `seq ${v.events.from_seq}..${v.events.to_seq}`;
  const lines = [
    `${c.bold('Audit bundle')} ${file}`,
    `  signature   ${sig}`,
    `  events      ${mark(evProblems.length === 0)}  ${v.events.count} (${span}), ${v.events.hashes_ok} hashes and ${v.events.links_checked} links verified`,
    `  chain head  ${mark(!v.problems.some((p) => p.part === 'chain_head'))}  ${v.chain_head ? `seq ${v.chain_head.seq} ${v.chain_head.hash}` : '(missing)'}`,
    `  checkpoint  ${v.checkpoint ? `${mark(v.checkpoint.ok)}  #${v.checkpoint.id} signed seq ${v.checkpoint.seq} ${v.checkpoint.hash} (${v.checkpoint.ts})` : v.problems.some((p) => p.part === 'checkpoint') ? `${mark(false)}  (missing or malformed)` : 'none (the ledger had no signed checkpoint yet)'}`,
    `  snapshots   ${mark(!v.problems.some((p) => p.part === 'snapshot' || p.part === 'policy_digest'))}  ${v.snapshots.ok} of ${v.snapshots.count} match their content address`,
  ];
  if (v.problems.length) {
    const sorted = v.problems;
    lines.push('', c.bold(`Problems (${v.problems.length}):`));
    for (const p of sorted.slice(0, max)) {
      const where =
        p.part === 'event' || p.part === 'link' || p.part === 'range'
          ? p.seq !== undefined
            ? `event seq ${p.seq}`
            : p.part
          : p.id
            ? `${p.part} ${shortHash(p.id)}`
            : p.part.replace('_', ' ');
      lines.push(`  ${c.red('✗')} ${where}: ${p.reason}`);
    }
    if (sorted.length > max) lines.push(`  … and ${sorted.length - max} more (--json lists them all)`);
  }
  if (v.notes.length) lines.push('', ...v.notes.map((n) => `  note: ${n}`));
  lines.push('', v.ok ? c.green('Bundle verified.') : c.red(`Bundle FAILED verification${v.exit === EXIT.STALE ? ' (signature)' : ''}.`));
  return lines.join('\n');
}
