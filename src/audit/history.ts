// `orx history` and `orx history diff A B`: the applied configurations, and what changed between two.
import type {Ledger} from '../ledger/ledger.js';
import {currentSnapshot, listSnapshots, resolveSnapshot, type SnapshotHead, type SnapshotRecord} from '../ledger/snapshots.js';
import {diffConfigs, type ConfigChange} from './diff.js';

export const SHORT_ID = 12;

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
