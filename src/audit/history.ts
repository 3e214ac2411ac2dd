// `orx history` and `orx history diff A B`: the applied configurations, and what changed between two.
import type {Ledger} from '../ledger/ledger.js';
import {currentSnapshot, listSnapshots, resolveSnapshot, type SnapshotHead, type SnapshotRecord} from '../ledger/snapshots.js';
import {c} from '../ui/color.js';
import {diffConfigs, formatChange, type ConfigChange} from './diff.js';

export const SHORT_ID = 12;
const short = (id: string | null | undefined): string => (id ? id.slice(0, SHORT_ID) : '-');

export interface HistoryEntry {
  id: string;
  parent: string | null;
  run_id: string | null;
  policy_digest: string | null;
  created_at: string;
  /** the configuration in force now */
  current: boolean;
}

export interface HistoryList {
  current: SnapshotHead | null;
  snapshots: HistoryEntry[];
}

export function historyList(ledger: Ledger, opts: {limit?: number} = {}): HistoryList {
  const current = currentSnapshot(ledger);
  const snapshots = listSnapshots(ledger, opts).map((s) => ({
    id: s.id,
    parent: s.parent,
    run_id: s.run_id,
    policy_digest: s.policy_digest,
    created_at: s.created_at,
    current: s.id === current?.id,
  }));
  return {current, snapshots};
}

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

export interface HistoryDiff {
  from: Omit<SnapshotRecord, 'config'>;
  to: Omit<SnapshotRecord, 'config'>;
  changes: ConfigChange[];
  policy_changed: boolean;
}

const withoutConfig = ({config: _config, ...rest}: SnapshotRecord): Omit<SnapshotRecord, 'config'> => rest;

export function historyDiff(ledger: Ledger, a: string, b: string): HistoryDiff {
  const from = resolveSnapshot(ledger, a);
  const to = resolveSnapshot(ledger, b);
  return {
    from: withoutConfig(from),
    to: withoutConfig(to),
    changes: diffConfigs(from.config, to.config),
    policy_changed: from.policy_digest !== to.policy_digest,
  };
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
