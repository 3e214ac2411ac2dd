// The review screen's state and everything it decides, as a pure reducer.
// The ink component only maps keys to events (keyToEvent) and draws the state.
//
// Decisions are stored as the user's explicit choices; what each step ends up as is
// derived (stepStatuses): a step with a rejected dependency (transitively, through
// depends_on addresses among the reviewed steps) is rejected "(depends on X)"; otherwise
// the user's choice; otherwise pending, or approved automatically ("auto") when the step
// does not need approval. Re-approving a rejected step therefore restores its dependents.
import {diffLines} from './format.js';
import type {ReviewResult, ReviewStep, StepStatus} from './types.js';

export type Choice = 'approved' | 'rejected';

export interface ReviewMessage {
  level: 'info' | 'error';
  text: string;
}

export interface ReviewState {
  steps: readonly ReviewStep[];
  /** Explicit choices by address. */
  choices: Readonly<Record<string, Choice>>;
  selected: number;
  diffScroll: number;
  focus: 'list' | 'reason';
  reason: string;
  message: ReviewMessage | null;
  status: 'reviewing' | 'submitted' | 'cancelled';
  result: ReviewResult | null;
}

export type ReviewEvent =
  | {type: 'move'; delta: number}
  | {type: 'select'; index: number}
  | {type: 'scrollDiff'; delta: number; max?: number}
  | {type: 'approve'; address?: string}
  | {type: 'reject'; address?: string}
  | {type: 'approveAll'}
  | {type: 'rejectAll'}
  | {type: 'focusReason'}
  | {type: 'blurReason'}
  | {type: 'typeReason'; text: string}
  | {type: 'deleteReason'}
  | {type: 'submit'}
  | {type: 'cancel'}
  /** A raw key press from the terminal, mapped with the focus of the state it lands on. */
  | {type: 'key'; input: string; key: KeyInfo; diffRows?: number};

export const MAX_REASON_LENGTH = 500;

export function initialReviewState(steps: readonly ReviewStep[]): ReviewState {
  return {
    steps,
    choices: {},
    selected: 0,
    diffScroll: 0,
    focus: 'list',
    reason: '',
    message: null,
    status: 'reviewing',
    result: null,
  };
}

/** The directly rejected step that `address` depends on (transitively), or null. */
function rejectedAncestor(
  address: string,
  byAddress: ReadonlyMap<string, ReviewStep>,
  choices: Readonly<Record<string, Choice>>,
  memo: Map<string, string | null>,
): string | null {
  if (memo.has(address)) return memo.get(address)!;
  memo.set(address, null); // cycle guard: a cycle contributes nothing
  const step = byAddress.get(address);
  let found: string | null = null;
  for (const dep of step?.depends_on ?? []) {
    if (!byAddress.has(dep)) continue;
    if (choices[dep] === 'rejected') {
      found = dep;
      break;
    }
    const up = rejectedAncestor(dep, byAddress, choices, memo);
    if (up) {
      found = up;
      break;
    }
  }
  memo.set(address, found);
  return found;
}

function statusesFor(steps: readonly ReviewStep[], choices: Readonly<Record<string, Choice>>): StepStatus[] {
  const byAddress = new Map(steps.map((s) => [s.address, s]));
  const memo = new Map<string, string | null>();
  return steps.map((step) => {
    const choice = choices[step.address];
    if (choice === 'rejected') return {step, decision: 'rejected', auto: false, cause: null};
    const cause = rejectedAncestor(step.address, byAddress, choices, memo);
    if (cause) return {step, decision: 'rejected', auto: false, cause};
    if (choice === 'approved') return {step, decision: 'approved', auto: !step.needs_approval, cause: null};
    return step.needs_approval
      ? {step, decision: 'pending', auto: false, cause: null}
      : {step, decision: 'approved', auto: true, cause: null};
  });
}

/** The effective decision of every step, in step order. */
export function stepStatuses(state: Pick<ReviewState, 'steps' | 'choices'>): StepStatus[] {
  return statusesFor(state.steps, state.choices);
}

/** Steps still waiting for a human. */
export function pendingSteps(state: Pick<ReviewState, 'steps' | 'choices'>): StepStatus[] {
  return stepStatuses(state).filter((s) => s.decision === 'pending');
}

/** Approved steps that need a reason-for-access. */
export function reasonNeededBy(state: Pick<ReviewState, 'steps' | 'choices'>): StepStatus[] {
  return stepStatuses(state).filter((s) => s.decision === 'approved' && s.step.reason_required);
}

/** The result the screen would submit now (addresses in step order, reason trimmed). */
export function reviewResult(state: Pick<ReviewState, 'steps' | 'choices' | 'reason'>): ReviewResult {
  const st = stepStatuses(state);
  return {
    approved: st.filter((s) => s.decision === 'approved').map((s) => s.step.address),
    rejected: st.filter((s) => s.decision === 'rejected').map((s) => s.step.address),
    reason: state.reason.trim(),
  };
}

/** Why submitting is refused right now, or null when it is allowed. */
export function submitBlocker(state: Pick<ReviewState, 'steps' | 'choices' | 'reason'>): string | null {
  const pending = pendingSteps(state);
  if (pending.length > 0) {
    return `cannot submit: ${pending.length} step(s) still need a decision (${listOf(pending.map((s) => s.step.address))}): a approve, r reject, A/R all`;
  }
  if (state.reason.trim() === '') {
    const needs = reasonNeededBy(state);
    if (needs.length > 0) {
      return `cannot submit: a reason for access is required to approve ${listOf(needs.map((s) => s.step.address))}: press tab and type it`;
    }
  }
  return null;
}

function listOf(addresses: string[], max = 3): string {
  const shown = addresses.slice(0, max).join(', ');
  return addresses.length > max ? `${shown} and ${addresses.length - max} more` : shown;
}

function sanitizeTyped(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

function clampIndex(i: number, n: number): number {
  return n === 0 ? 0 : Math.max(0, Math.min(n - 1, i));
}

const info = (text: string): ReviewMessage => ({level: 'info', text});
const error = (text: string): ReviewMessage => ({level: 'error', text});

/** Newly cascaded rejections between two choice sets (steps rejected only because of a dependency). */
function cascadedBy(before: StepStatus[], after: StepStatus[]): string[] {
  return after.filter((s, i) => s.cause !== null && before[i].decision !== 'rejected').map((s) => s.step.address);
}

export function reviewReducer(state: ReviewState, event: ReviewEvent): ReviewState {
  if (state.status !== 'reviewing') return state;
  const n = state.steps.length;
  const target = (address?: string): ReviewStep | undefined =>
    address === undefined ? state.steps[state.selected] : state.steps.find((s) => s.address === address);

  switch (event.type) {
    case 'move':
    case 'select': {
      const next = clampIndex(event.type === 'move' ? state.selected + event.delta : event.index, n);
      return next === state.selected ? {...state, message: null} : {...state, selected: next, diffScroll: 0, message: null};
    }
    case 'scrollDiff': {
      const max = event.max ?? Number.MAX_SAFE_INTEGER;
      return {...state, diffScroll: Math.max(0, Math.min(max, state.diffScroll + event.delta))};
    }
    case 'approve': {
      const step = target(event.address);
      if (!step) return {...state, message: error('nothing to approve')};
      const statuses = stepStatuses(state);
      const own = statuses.find((s) => s.step === step)!;
      if (own.cause) {
        return {
          ...state,
          message: error(`cannot approve ${step.address}: it depends on rejected ${own.cause} (approve ${own.cause} first)`),
        };
      }
      const choices = {...state.choices, [step.address]: 'approved' as const};
      const after = statusesFor(state.steps, choices);
      const restored = after.filter((s, i) => statuses[i].cause === step.address && s.decision !== 'rejected').length;
      const extra = restored > 0 ? ` (${restored} dependent step(s) no longer rejected)` : '';
      return {...state, choices, message: info(`approved ${step.address}${extra}`)};
    }
    case 'reject': {
      const step = target(event.address);
      if (!step) return {...state, message: error('nothing to reject')};
      const before = stepStatuses(state);
      const choices = {...state.choices, [step.address]: 'rejected' as const};
      const cascaded = cascadedBy(before, statusesFor(state.steps, choices));
      const extra = cascaded.length > 0 ? ` and ${cascaded.length} step(s) that depend on it (${listOf(cascaded)})` : '';
      return {...state, choices, message: info(`rejected ${step.address}${extra}`)};
    }
    case 'approveAll':
    case 'rejectAll': {
      const before = stepStatuses(state);
      const pending = before.filter((s) => s.decision === 'pending').map((s) => s.step.address);
      if (pending.length === 0) return {...state, message: info('no pending steps')};
      const choice: Choice = event.type === 'approveAll' ? 'approved' : 'rejected';
      const choices: Record<string, Choice> = {...state.choices};
      for (const a of pending) choices[a] = choice;
      if (choice === 'approved') return {...state, choices, message: info(`approved ${pending.length} pending step(s)`)};
      const cascaded = cascadedBy(before, statusesFor(state.steps, choices));
      const extra = cascaded.length > 0 ? ` and ${cascaded.length} step(s) that depend on them (${listOf(cascaded)})` : '';
      return {...state, choices, message: info(`rejected ${pending.length} pending step(s)${extra}`)};
    }
    case 'focusReason':
      return {...state, focus: 'reason', message: null};
    case 'blurReason':
      return {...state, focus: 'list'};
    case 'typeReason': {
      const text = sanitizeTyped(event.text);
      if (!text) return state;
      return {...state, reason: (state.reason + text).slice(0, MAX_REASON_LENGTH)};
    }
    case 'deleteReason':
      return state.reason === '' ? state : {...state, reason: Array.from(state.reason).slice(0, -1).join('')};
    case 'submit': {
      const blocker = submitBlocker(state);
      if (blocker) return {...state, message: error(blocker)};
      return {...state, status: 'submitted', result: reviewResult(state), message: info('submitted')};
    }
    case 'cancel':
      return {...state, status: 'cancelled', result: null, message: info('cancelled')};
    case 'key': {
      // Mapped here, not in the component, so keys arriving faster than ink re-renders
      // (tmux send-keys, a paste) see the focus the previous key left, never a stale one.
      let next = state;
      for (const [input, key] of splitKeys(event.input, event.key)) {
        // a page is the diff pane's height: pgdn shows the lines right after the last one seen
        const mapped = keyToEvent(input, key, next.focus, event.diffRows ?? DIFF_PAGE);
        if (!mapped) continue;
        next = reviewReducer(next, mapped.type === 'scrollDiff' ? {...mapped, max: maxDiffScroll(next, event.diffRows)} : mapped);
      }
      return next;
    }
  }
}

/** How far the diff pane of the selected step can scroll when it shows `rows` lines. */
export function maxDiffScroll(state: Pick<ReviewState, 'steps' | 'selected'>, rows: number | undefined): number | undefined {
  const step = state.steps[state.selected];
  if (rows === undefined || !step) return undefined;
  return Math.max(0, diffLines(step).length - rows);
}

const NO_KEY: KeyInfo = {};

/**
 * Splits a chunk of plain input that arrived at once (a paste, or keys sent faster than
 * they are read: "ar\r") into single key presses. A key ink recognised (arrows, tab,
 * enter, ctrl-c, shift+letter, ...) stays as it is.
 */
export function splitKeys(input: string, key: KeyInfo): Array<[string, KeyInfo]> {
  if (Object.values(key).some((v) => v === true)) return [[input, key]];
  const out: Array<[string, KeyInfo]> = [];
  for (const ch of Array.from(input)) {
    if (ch === '\r' || ch === '\n') out.push(['', {return: true}]);
    else if (ch === '\t') out.push(['', {tab: true}]);
    else if (ch === '\u007f' || ch === '\b') out.push(['', {backspace: true}]);
    else if (ch === '\u0003') out.push(['c', {ctrl: true}]);
    else if (ch === '\u001b') out.push(['', {escape: true}]);
    else if (/[\u0000-\u001f\u007f-\u009f]/.test(ch)) continue;
    else out.push([ch, NO_KEY]);
  }
  return out;
}

/** The subset of ink's Key the screen reads (so tests need not build a whole Key). */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

/** The page size of pgup/pgdn in the diff pane when its height is not known; else a whole pane. */
export const DIFF_PAGE = 5;

/**
 * Maps one key press to an event. In the list: ↑/k ↓/j move, a r A R decide, tab focuses
 * the reason field, enter submits, q/esc/ctrl-c cancel, pgup/pgdn scroll the diff pane.
 * In the reason field: printable input is typed, backspace deletes, tab/esc leave,
 * enter submits, ctrl-c cancels.
 */
export function keyToEvent(input: string, key: KeyInfo, focus: ReviewState['focus'], page = DIFF_PAGE): ReviewEvent | null {
  if (key.ctrl && input === 'c') return {type: 'cancel'};
  if (key.return) return {type: 'submit'};
  if (key.upArrow) return {type: 'move', delta: -1};
  if (key.downArrow) return {type: 'move', delta: 1};
  if (key.pageUp) return {type: 'scrollDiff', delta: -page};
  if (key.pageDown) return {type: 'scrollDiff', delta: page};
  if (focus === 'reason') {
    if (key.tab || key.escape) return {type: 'blurReason'};
    if (key.backspace || key.delete) return {type: 'deleteReason'};
    if (key.ctrl || key.meta || input === '') return null;
    return {type: 'typeReason', text: input};
  }
  if (key.tab) return {type: 'focusReason'};
  if (key.escape) return {type: 'cancel'};
  if (key.ctrl || key.meta) return null;
  switch (input) {
    case 'k':
      return {type: 'move', delta: -1};
    case 'j':
      return {type: 'move', delta: 1};
    case 'a':
      return {type: 'approve'};
    case 'r':
      return {type: 'reject'};
    case 'A':
      return {type: 'approveAll'};
    case 'R':
      return {type: 'rejectAll'};
    case 'q':
      return {type: 'cancel'};
    default:
      return null;
  }
}
