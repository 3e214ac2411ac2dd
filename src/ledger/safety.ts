// The safety envelope's records: approvals bound to a plan digest, the halt (safe mode)
// state, and recent activity for rate-limit rules. Each write is one transaction with
// its event, so the hash-chained history shows every approval, rejection and halt.
import {randomUUID} from 'node:crypto';
import type {Ledger} from './ledger.js';

export interface ApprovalRecord {
  id: string;
  plan_id: string;
  plan_digest: string;
  /** null: every step of the plan */
  address: string | null;
  decision: 'approved' | 'rejected';
  actor: string;
  reason: string;
  run_id: string | null;
  ts: string;
}

export function recordApprovals(ledger: Ledger, rows: Array<Omit<ApprovalRecord, 'id' | 'ts'>>): ApprovalRecord[] {
  return ledger.write(() => {
    const insert = ledger.sqlite.prepare(
      `INSERT INTO approvals (id, run_id, step_id, decision, actor, reason, ts, plan_id, plan_digest, address)
       VALUES (@id, @run_id, NULL, @decision, @actor, @reason, @ts, @plan_id, @plan_digest, @address)`,
    );
    return rows.map((r) => {
      const rec: ApprovalRecord = {...r, id: `appr-${randomUUID()}`, ts: new Date().toISOString()};
      insert.run(rec);
      ledger.appendEvent({
        run_id: r.run_id,
        level: 'info',
        message: `${r.address ?? 'all steps'} ${r.decision} by ${r.actor}: ${r.reason}`,
        payload: {
          approval: rec.id,
          plan_id: r.plan_id,
          plan_digest: r.plan_digest,
          address: r.address,
          decision: r.decision,
          actor: r.actor,
          reason: r.reason,
        },
      });
      return rec;
    });
  });
}

export function approvalsFor(ledger: Ledger, planDigest: string): ApprovalRecord[] {
  return ledger.sqlite
    .prepare(
      `SELECT id, plan_id, plan_digest, address, decision, actor, reason, run_id, ts FROM approvals WHERE plan_digest = ? ORDER BY ts, rowid`,
    )
    .all(planDigest) as ApprovalRecord[];
}

export interface HaltState {
  at: string;
  by: string;
  reason: string;
  /** what halt stopped, so resume can plan to start exactly that again */
  stopped: Array<{address: string; object_id: string}>;
}

const HALT_KEY = 'halt';

export function haltState(ledger: Ledger): HaltState | null {
  const row = ledger.sqlite.prepare('SELECT value FROM meta WHERE key = ?').get(HALT_KEY) as {value: string} | undefined;
  return row ? (JSON.parse(row.value) as HaltState) : null;
}

export function setHalt(ledger: Ledger, state: HaltState): void {
  ledger.write(() => {
    ledger.sqlite
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(HALT_KEY, JSON.stringify(state));
    ledger.appendEvent({level: 'warn', message: `workspace halted by ${state.by}: ${state.reason}`, payload: {halt: state}});
  });
}

export function clearHalt(ledger: Ledger, by: string, reason: string): HaltState | null {
  return ledger.write(() => {
    const was = haltState(ledger);
    ledger.sqlite.prepare('DELETE FROM meta WHERE key = ?').run(HALT_KEY);
    ledger.appendEvent({level: 'warn', message: `workspace resumed by ${by}: ${reason}`, payload: {resumed: {by, reason, halted: was}}});
    return was;
  });
}

const CATEGORIES = ['READ', 'WRITE', 'DEPLOY', 'DESTROY', 'ROLLBACK'];
const KINDS = ['network', 'volume', 'image', 'agent'];

function window(ledger: Ledger, since: string): RecentWindow {
  const applies = (
    ledger.sqlite.prepare(`SELECT COUNT(*) AS n FROM runs WHERE mode = 'APPLY' AND started_at >= ?`).get(since) as {n: number}
  ).n;
  const rows = ledger.sqlite
    .prepare(
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

/** Activity counts over one window, from the ledger. Every documented key is always present. */
export interface RecentWindow {
  /** apply runs started in the window */
  applies: number;
  /** steps run in the window (noops not counted) */
  steps: number;
  by_kind: Record<string, number>;
  by_category: Record<string, number>;
}

export interface RecentActivity {
  hour: RecentWindow;
  day: RecentWindow;
}
