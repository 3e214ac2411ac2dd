// Recent activity counted from the runs and steps tables: what rate-limit rules read.
import {sessionOf} from './db.js';
import type {Ledger} from './ledger.js';

/** Activity counts over one window, from the ledger. Every documented key is always present. */
export interface RecentWindow {
  /** apply runs started in the window */
  applies: number;
  /** steps run in the window (noops not counted) */
  steps: number;
  by_kind: Record<string, number>;
  by_category: Record<string, number>;
}

export type RecentActivity = {
  hour: RecentWindow;
  day: RecentWindow;
};

const CATEGORIES = ['READ', 'WRITE', 'DEPLOY', 'DESTROY', 'ROLLBACK'];
const KINDS = ['network', 'volume', 'image', 'agent'];

function window(ledger: Ledger, since: string): RecentWindow {
  const db = sessionOf(ledger);
  const applies = (db.stmt(`SELECT COUNT(*) AS n FROM runs WHERE mode = 'APPLY' AND started_at >= ?`).get(since) as {n: number}).n;
  const rows = db
    .stmt(
      `SELECT substr(address, 1, instr(address, '.') - 1) AS kind, category, COUNT(*) AS n FROM steps
       WHERE status = 'succeeded' AND action != 'noop' AND finished_at >= ? GROUP BY kind, category`,
    )
    .all(since) as Array<{kind: string; category: string | null; n: number}>;
  const w: RecentWindow = {
    applies,
    steps: 0,
    by_kind: Object.fromEntries(KINDS.map((k) => [k, 0])),
    by_category: Object.fromEntries(CATEGORIES.map((c) => [c, 0])),
  };
  for (const r of rows) {
    w.steps += r.n;
    w.by_kind[r.kind] = (w.by_kind[r.kind] ?? 0) + r.n;
    if (r.category) w.by_category[r.category] += r.n;
  }
  return w;
}

/** Counts of applies and of finished steps over the last hour and day: what rate-limit rules read. */
export function recentActivity(ledger: Ledger, now: Date = new Date()): RecentActivity {
  return {
    hour: window(ledger, new Date(now.getTime() - 3_600_000).toISOString()),
    day: window(ledger, new Date(now.getTime() - 86_400_000).toISOString()),
  };
}
