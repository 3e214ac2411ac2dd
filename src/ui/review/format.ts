// Pure text formatting for the review screen: rows, diff lines, notes, layout.
// Everything here is readable without colour; `tone` only picks a colour.
import {stepAttrText} from '../plan-view.js';
import type {ReviewAction, ReviewStep, ReviewSummary} from './types.js';
import type {StepStatus} from './types.js';

export type Tone = 'add' | 'change' | 'remove' | 'danger' | 'warn' | 'muted' | 'plain';

export interface Line {
  text: string;
  tone: Tone;
}

export const ACTION_SYMBOL: Record<ReviewAction, string> = {create: '+', update: '~', replace: '-/+', delete: '-', noop: ' ', move: '->'};
const VERB: Record<ReviewAction, string> = {
  create: 'will be created',
  update: 'will be updated in place',
  replace: 'must be replaced',
  delete: 'will be destroyed',
  noop: 'has no changes',
  move: 'has moved (the record only)',
};

/** Replaces control characters so hostile strings cannot drive the terminal. */
export function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function shorten(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s;
}

export function formatValue(v: unknown, max = 120): string {
  if (v === null || v === undefined) return 'null';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return shorten(clean(s), max);
}

export function summaryText(s: ReviewSummary): string {
  return `Plan: ${s.create} to add, ${s.update} to change, ${s.replace} to replace, ${s.delete} to destroy.`;
}

export function actionTone(action: ReviewAction): Tone {
  return action === 'create' ? 'add' : action === 'delete' ? 'remove' : action === 'noop' ? 'muted' : 'change';
}

/** The decision column: ✓ approved, ✗ rejected, ? pending, auto (approved, needs no human). */
export function decisionMark(st: StepStatus): string {
  if (st.decision === 'rejected') return '✗';
  if (st.decision === 'pending') return '?';
  return st.auto ? 'auto' : '✓';
}

/** Short policy tags for a step row, e.g. "⚠ warn: image not pinned", "approval: baseline.destroy". */
export function noteTags(step: ReviewStep, maxMessage = 40): string[] {
  const tags: string[] = [];
  for (const n of step.notes) {
    if (n.effect === 'deny') tags.push(`✗ deny: ${clean(n.rule)}`);
    else if (n.waived) tags.push(`waived: ${clean(n.rule)}`);
    else if (n.effect === 'require_approval') tags.push(`approval: ${clean(n.rule)}`);
    else if (n.effect === 'warn') tags.push(`⚠ warn: ${shorten(clean(n.message), maxMessage)}`);
  }
  if (step.needs_approval && !step.notes.some((n) => n.effect === 'require_approval')) tags.unshift('approval: autonomy');
  return tags;
}

/** One row of the step list, without the selection marker. */
export function stepRow(st: StepStatus): string {
  const {step} = st;
  const parts = [decisionMark(st).padEnd(4), step.category.padEnd(8), ACTION_SYMBOL[step.action].padEnd(3), clean(step.address)];
  let row = parts.join(' ');
  if (st.cause) row += `  (depends on ${clean(st.cause)})`;
  const tags = noteTags(step);
  if (tags.length) row += `  ${tags.join('  ')}`;
  return row;
}

/** The diff pane of one step: a header, the attribute lines, then dependencies and policy notes. */
export function diffLines(step: ReviewStep): Line[] {
  const address = clean(step.address);
  const lines: Line[] = [{text: `# ${address} (${clean(step.kind)}, ${step.category}) ${VERB[step.action]}`, tone: 'plain'}];
  if (step.action === 'create') {
    // the same attributes, in the same units, as the plan text the screen stands in for
    const attrs = stepAttrText({
      kind: step.kind,
      address: step.address,
      action: step.action,
      after: step.after ?? null,
      changes: step.changes,
    });
    if (attrs.length === 0) lines.push({text: `  + ${address}`, tone: 'add'});
    for (const l of attrs) lines.push({text: clean(l), tone: 'add'});
  } else if (step.action === 'delete') {
    lines.push({text: `  - ${address}`, tone: 'remove'});
  } else if (step.action === 'update' || step.action === 'replace') {
    if (step.changes.length === 0) lines.push({text: '  (no attribute changes listed)', tone: 'muted'});
    for (const l of stepAttrText({
      kind: step.kind,
      address: step.address,
      action: step.action,
      after: step.after ?? null,
      changes: step.changes,
    }))
      lines.push({text: clean(l), tone: l.includes('# forces replacement') ? 'danger' : 'change'});
  } else {
    lines.push({text: '  (no changes)', tone: 'muted'});
  }
  if (step.depends_on.length) lines.push({text: `depends on: ${step.depends_on.map(clean).join(', ')}`, tone: 'muted'});
  const needs: string[] = [];
  if (step.needs_approval) needs.push('needs approval');
  if (step.reason_required) needs.push('reason for access required');
  if (needs.length) lines.push({text: needs.join(' · '), tone: 'warn'});
  for (const n of step.notes) {
    const tone: Tone = n.effect === 'deny' ? 'danger' : n.effect === 'warn' || n.effect === 'require_approval' ? 'warn' : 'muted';
    lines.push({text: `policy ${n.waived ? 'waived (needs approval)' : n.effect} ${clean(n.rule)}: ${clean(n.message)}`, tone});
  }
  return lines;
}

export interface Layout {
  listRows: number;
  diffRows: number;
}

/** How many step rows and diff lines fit a terminal of `rows` lines (unknown: generous defaults). */
export function layoutFor(rows: number | undefined, stepCount: number): Layout {
  if (!rows || rows < 1) return {listRows: Math.max(1, Math.min(stepCount, 12)), diffRows: 14};
  // header 2, blank lines 3, list title 1, "more" markers 2, diff title 1, reason 1, message 1,
  // footer 1, and one spare line (ink redraws the whole screen when its output fills it)
  const available = Math.max(6, rows - 13);
  const listRows = Math.max(1, Math.min(stepCount, Math.max(3, Math.floor(available / 2))));
  return {listRows, diffRows: Math.max(3, available - listRows)};
}

/** The first row to show so that `selected` stays visible in a window of `size` rows. */
export function windowStart(selected: number, total: number, size: number): number {
  if (total <= size) return 0;
  const start = selected - Math.floor(size / 2);
  return Math.max(0, Math.min(start, total - size));
}

export const FOOTER_LIST = '↑↓ jk move · a/r approve/reject · A/R all · tab reason · enter submit · q cancel';
export const FOOTER_REASON = 'type the reason · backspace deletes · tab/esc leave the field · enter submit';
