import type {StateMove} from '../app/state-ops.js';
import type {ApprovalRecord} from '../ledger/approvals.js';
import type {EventRecord, ResourceRecord, RunRecord, StepRecord} from '../ledger/types.js';
import {c} from './color.js';
import {fmtValue} from './plan-view.js';

export function renderResource(r: ResourceRecord): string {
  const keys = Object.keys(r.attributes).sort();
  const width = Math.max(0, ...keys.map((k) => k.length));
  return [
    c.bold(`# ${r.address}`) + c.dim(` (${r.kind}, object ${r.object_id ?? '-'}, serial ${r.serial})`),
    ...keys.map((k) => `    ${k.padEnd(width)} = ${fmtValue(r.attributes[k])}`),
  ].join('\n');
}

export function renderState(resources: ResourceRecord[], meta: {lineage: string; serial: number}): string {
  if (resources.length === 0) return `The state is empty (lineage ${meta.lineage}, serial ${meta.serial}).`;
  return `${resources.map(renderResource).join('\n\n')}\n\n${c.dim(`lineage ${meta.lineage}, serial ${meta.serial}`)}`;
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

export function renderRuns(runs: RunRecord[]): string {
  if (runs.length === 0) return 'No runs yet.';
  return table([
    ['RUN', 'KIND', 'MODE', 'STATUS', 'STARTED', 'ACTOR', 'PLAN'],
    ...runs.map((r) => [r.id, r.kind, r.mode, r.status, r.started_at, r.actor, r.plan_id ?? '-']),
  ]);
}

export function renderRun(run: RunRecord, steps: StepRecord[], approvals: ApprovalRecord[] = []): string {
  const head = `${c.bold(run.id)}  ${run.kind} ${run.mode} ${run.status}  started ${run.started_at}${run.finished_at ? `, finished ${run.finished_at}` : ''}  actor ${run.actor}  plan ${run.plan_id ?? '-'}`;
  const rows = steps.map((s) => [s.address, s.action, s.status, `attempt ${s.attempt}`, s.error ?? '']);
  const decided = approvals.map((a) => [a.ts, a.decision, a.address ?? '(all steps)', a.actor, a.reason]);
  return `${head}\n${rows.length ? table([['ADDRESS', 'ACTION', 'STATUS', 'ATTEMPT', 'ERROR'], ...rows]) : 'no steps'}${decided.length ? `\n\nApprovals:\n${table([['WHEN', 'DECISION', 'STEP', 'BY', 'REASON'], ...decided])}` : ''}`;
}

export function renderEvent(e: EventRecord): string {
  const level = e.level === 'error' ? c.red(e.level) : e.level === 'warn' ? c.yellow(e.level) : e.level;
  return `${String(e.seq).padStart(6)}  ${e.ts}  ${level.padEnd(5)}  ${e.run_id ?? '-'}  ${e.message}`;
}

/** `orx state mv`: what moved (or would), and that the object was left as it is. */
export function renderStateMove(m: StateMove): string {
  const object = `${m.kind === 'agent' ? 'container' : m.kind} ${m.name ?? m.object_id ?? '-'}`;
  return m.dry_run
    ? `Would move ${m.from} to ${m.to}; ${object} would be left as it is. Nothing was changed (--dry-run).`
    : `Moved ${m.from} to ${m.to}; ${object} was left as it is (its name and labels too): the next plan finds it at ${m.to} by its id.`;
}
