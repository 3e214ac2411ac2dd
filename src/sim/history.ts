// What the ledger knows about each step kind, for the readiness simulation: how often its steps
// succeeded or failed in applies, and how long they took.
import type {Ledger} from '../ledger/ledger.js';
import {finishedApplySteps} from '../ledger/steps.js';
import type {History, KindHistory} from './readiness.js';

// DR plans' steps are addressed by what they do (backup.<volume>, backup.ledger, restore.check,
// restore.<volume>, prune.<backup id>; src/dr/plans.ts) and all have step kind `dr`.
const DR_PREFIXES = new Set(['backup', 'restore', 'prune']);
const DR_RUN_KINDS = new Set(['backup', 'restore', 'prune']);

/** The step kind of a recorded step: the address up to the first '.', or `dr` for DR steps. */
export function kindOf(address: string, runKind: string): string {
  const dot = address.indexOf('.');
  const prefix = dot < 0 ? address : address.slice(0, dot);
  return DR_RUN_KINDS.has(runKind) || DR_PREFIXES.has(prefix) ? 'dr' : prefix;
}

/**
 * Outcomes and wall times of every finished step of every apply, per kind. Left out: noop steps
 * (they record state without doing anything and would flatter both rates and times), skipped
 * and running steps (no outcome), PLAN runs. A step with safety category ROLLBACK is undo work:
 * its time is a rollback duration of its kind, its outcome is not a success or failure of the
 * kind. A failed step's time counts as a duration too: failing also takes time in an apply.
 * A rolled-back step (a replace that put the old container back) is a failure of its kind.
 */
export function stepHistory(ledger: Ledger): History {
  const rows = finishedApplySteps(ledger);
  const byKind = new Map<string, KindHistory>();
  for (const r of rows) {
    const kind = kindOf(r.address, r.run_kind);
    let h = byKind.get(kind);
    if (!h) byKind.set(kind, (h = {successes: 0, failures: 0, durations_ms: [], rollback_durations_ms: []}));
    const ms = r.finished_at == null ? NaN : Date.parse(r.finished_at) - Date.parse(r.started_at);
    const rollback = r.category === 'ROLLBACK' || r.action === 'rollback';
    if (Number.isFinite(ms)) (rollback ? h.rollback_durations_ms : h.durations_ms).push(Math.max(0, ms));
    if (rollback) continue;
    if (r.status === 'succeeded') h.successes++;
    else h.failures++;
  }
  // keys in sorted order: the plan file stores what it is given, byte for byte
  const out: History = {};
  for (const kind of [...byKind.keys()].sort()) out[kind] = byKind.get(kind)!;
  return out;
}
