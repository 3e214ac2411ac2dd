// The approvals table: approvals and rejections bound to a plan digest (and an address, or
// every step of the plan). Each is written with its hash-chained event in one transaction.
import {randomUUID} from 'node:crypto';
import {sessionOf} from './db.js';
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
    const insert = sessionOf(ledger).stmt(
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
  return sessionOf(ledger)
    .stmt(
      `SELECT id, plan_id, plan_digest, address, decision, actor, reason, run_id, ts FROM approvals WHERE plan_digest = ? ORDER BY ts, rowid`,
    )
    .all(planDigest) as ApprovalRecord[];
}
