import {render} from 'ink-testing-library';
import {afterEach, describe, expect, it, vi} from 'vitest';
import {cleanup} from 'ink-testing-library';
import {diffLines, formatValue, layoutFor, noteTags, stepRow, summaryText, windowStart} from '../../src/ui/review/format.js';
import {
  initialReviewState,
  keyToEvent,
  MAX_REASON_LENGTH,
  type ReviewEvent,
  reviewReducer,
  reviewResult,
  type ReviewState,
  splitKeys,
  stepStatuses,
  submitBlocker,
} from '../../src/ui/review/model.js';
import {renderReview} from '../../src/ui/review/render-review.js';
import {ReviewScreen} from '../../src/ui/review/ReviewScreen.js';
import type {ReviewInput, ReviewResult, ReviewStep} from '../../src/ui/review/types.js';
import {FakeTTYIn, FakeTTYOut} from '../helpers/fake-tty.js';

const step = (over: Partial<ReviewStep> & Pick<ReviewStep, 'address'>): ReviewStep => ({
  id: `s-${over.address}`,
  kind: over.address.split('.')[0],
  action: 'create',
  category: 'DEPLOY',
  changes: [],
  after: null,
  depends_on: [],
  needs_approval: true,
  reason_required: false,
  notes: [],
  ...over,
});

/** auto network, an agent to create, an agent to replace with a dependent, a volume to destroy. */
const STEPS: ReviewStep[] = [
  step({address: 'network.backplane', category: 'WRITE', after: {name: 'research-lab-backplane', internal: true}, needs_approval: false}),
  step({
    address: 'agent.researcher',
    after: {image: 'agent-base', env: {LOG_LEVEL: 'info'}, config_hash: 'abc'},
    depends_on: ['network.backplane'],
    reason_required: true,
    notes: [{rule: 'baseline.unpinned-image', effect: 'warn', message: 'image agent-base is not pinned by digest'}],
  }),
  step({
    address: 'agent.planner',
    action: 'replace',
    changes: [
      {path: 'env.MODEL', before: 'small', after: 'large', forces_replacement: true},
      {path: 'memory_bytes', before: 1024, after: 2048, forces_replacement: false},
    ],
    depends_on: ['network.backplane'],
    reason_required: true,
  }),
  step({
    address: 'agent.helper',
    action: 'update',
    changes: [{path: 'cpus', before: 1, after: 2, forces_replacement: false}],
    depends_on: ['agent.planner'],
  }),
  step({
    address: 'volume.old',
    kind: 'volume',
    action: 'delete',
    category: 'DESTROY',
    reason_required: true,
    notes: [{rule: 'baseline.destroy-needs-approval', effect: 'require_approval', message: 'DESTROY steps need a human'}],
  }),
];

const INPUT: ReviewInput = {
  planId: 'plan-7f3a',
  kind: 'apply',
  summary: {create: 2, update: 1, replace: 1, delete: 1},
  steps: STEPS,
};

const run = (events: ReviewEvent[], steps: ReviewStep[] = STEPS): ReviewState => events.reduce(reviewReducer, initialReviewState(steps));
const decisions = (s: ReviewState): Record<string, string> =>
  Object.fromEntries(
    stepStatuses(s).map((st) => [st.step.address, st.decision + (st.auto ? ' auto' : '') + (st.cause ? ` <- ${st.cause}` : '')]),
  );
const at = (address: string): ReviewEvent => ({type: 'select', index: STEPS.findIndex((s) => s.address === address)});

describe('review model', () => {
  it('starts in the list with steps that need no approval approved automatically and the rest pending', () => {
    const s = initialReviewState(STEPS);
    expect(s).toMatchObject({selected: 0, focus: 'list', reason: '', status: 'reviewing', message: null, result: null});
    expect(decisions(s)).toEqual({
      'network.backplane': 'approved auto',
      'agent.researcher': 'pending',
      'agent.planner': 'pending',
      'agent.helper': 'pending',
      'volume.old': 'pending',
    });
  });

  it('moves the selection within bounds and resets the diff scroll', () => {
    expect(run([{type: 'move', delta: -1}]).selected).toBe(0);
    expect(
      run([
        {type: 'move', delta: 1},
        {type: 'move', delta: 1},
      ]).selected,
    ).toBe(2);
    expect(run([{type: 'move', delta: 99}]).selected).toBe(4);
    expect(run([{type: 'select', index: 3}]).selected).toBe(3);
    const scrolled = run([{type: 'scrollDiff', delta: 5, max: 3}]);
    expect(scrolled.diffScroll).toBe(3);
    expect(reviewReducer(scrolled, {type: 'scrollDiff', delta: -10}).diffScroll).toBe(0);
    expect(reviewReducer(scrolled, {type: 'move', delta: 1}).diffScroll).toBe(0);
  });

  it('approves and rejects the selected step, or a named one', () => {
    const s = run([at('agent.researcher'), {type: 'approve'}, {type: 'reject', address: 'volume.old'}]);
    expect(decisions(s)['agent.researcher']).toBe('approved');
    expect(decisions(s)['volume.old']).toBe('rejected');
    expect(s.message).toEqual({level: 'info', text: 'rejected volume.old'});
  });

  it('rejecting a step rejects everything depending on it, transitively, with the cause', () => {
    const s = run([at('agent.planner'), {type: 'reject'}]);
    expect(decisions(s)['agent.planner']).toBe('rejected');
    expect(decisions(s)['agent.helper']).toBe('rejected <- agent.planner');
    expect(s.message?.text).toBe('rejected agent.planner and 1 step(s) that depend on it (agent.helper)');

    // rejecting the auto-approved network takes down all three agents that depend on it
    const n = run([{type: 'reject', address: 'network.backplane'}]);
    expect(decisions(n)).toEqual({
      'network.backplane': 'rejected',
      'agent.researcher': 'rejected <- network.backplane',
      'agent.planner': 'rejected <- network.backplane',
      'agent.helper': 'rejected <- network.backplane',
      'volume.old': 'pending',
    });
    expect(n.message?.text).toBe(
      'rejected network.backplane and 3 step(s) that depend on it (agent.researcher, agent.planner, agent.helper)',
    );
  });

  it('refuses to approve a step whose dependency is rejected, and restores dependents when it is re-approved', () => {
    const rejected = run([at('agent.planner'), {type: 'reject'}]);
    const refused = reviewReducer(rejected, {type: 'approve', address: 'agent.helper'});
    expect(refused.message).toEqual({
      level: 'error',
      text: 'cannot approve agent.helper: it depends on rejected agent.planner (approve agent.planner first)',
    });
    expect(refused.choices).toEqual(rejected.choices);

    const restored = reviewReducer(rejected, {type: 'approve', address: 'agent.planner'});
    expect(decisions(restored)['agent.planner']).toBe('approved');
    expect(decisions(restored)['agent.helper']).toBe('pending');
    expect(restored.message?.text).toBe('approved agent.planner (1 dependent step(s) no longer rejected)');

    // an explicit approval of a dependent comes back once its dependency is approved again
    const s = run([
      {type: 'approve', address: 'agent.helper'},
      {type: 'reject', address: 'agent.planner'},
    ]);
    expect(decisions(s)['agent.helper']).toBe('rejected <- agent.planner');
    expect(decisions(reviewReducer(s, {type: 'approve', address: 'agent.planner'}))['agent.helper']).toBe('approved');
  });

  it('lets the user reject an auto-approved step and approve it back', () => {
    const s = run([{type: 'reject'}]);
    expect(decisions(s)['network.backplane']).toBe('rejected');
    expect(decisions(reviewReducer(s, {type: 'approve'}))['network.backplane']).toBe('approved auto');
  });

  it('approves all pending steps, leaving rejected ones alone', () => {
    const s = run([{type: 'reject', address: 'agent.planner'}, {type: 'approveAll'}]);
    expect(decisions(s)).toEqual({
      'network.backplane': 'approved auto',
      'agent.researcher': 'approved',
      'agent.planner': 'rejected',
      'agent.helper': 'rejected <- agent.planner',
      'volume.old': 'approved',
    });
    expect(s.message?.text).toBe('approved 2 pending step(s)');
    expect(reviewReducer(s, {type: 'approveAll'}).message?.text).toBe('no pending steps');
  });

  it('rejects all pending steps, leaving approved and auto ones alone', () => {
    const s = run([{type: 'approve', address: 'agent.researcher'}, {type: 'rejectAll'}]);
    expect(decisions(s)).toEqual({
      'network.backplane': 'approved auto',
      'agent.researcher': 'approved',
      'agent.planner': 'rejected',
      'agent.helper': 'rejected',
      'volume.old': 'rejected',
    });
    expect(s.message?.text).toBe('rejected 3 pending step(s)');
    expect(reviewReducer(s, {type: 'rejectAll'}).message?.text).toBe('no pending steps');
  });

  it('refuses to submit while a step needing approval is pending', () => {
    const s = run([{type: 'approve', address: 'agent.researcher'}, {type: 'submit'}]);
    expect(s.status).toBe('reviewing');
    expect(s.message).toEqual({
      level: 'error',
      text: 'cannot submit: 3 step(s) still need a decision (agent.planner, agent.helper, volume.old): a approve, r reject, A/R all',
    });
  });

  it('refuses to submit without a reason when an approved step requires one', () => {
    const s = run([{type: 'approveAll'}, {type: 'submit'}]);
    expect(s.status).toBe('reviewing');
    expect(s.message?.text).toBe(
      'cannot submit: a reason for access is required to approve agent.researcher, agent.planner, volume.old: press tab and type it',
    );
    // whitespace is not a reason
    expect(submitBlocker({...s, reason: '   '})).toMatch(/reason for access is required/);
  });

  it('submits without a reason when no approved step requires one', () => {
    const s = run([{type: 'reject', address: 'agent.researcher'}, {type: 'rejectAll'}, {type: 'submit'}]);
    expect(s.status).toBe('submitted');
    expect(s.result).toEqual({
      approved: ['network.backplane'],
      rejected: ['agent.researcher', 'agent.planner', 'agent.helper', 'volume.old'],
      reason: '',
    });
  });

  it('submits the approved and rejected addresses in step order with the trimmed reason', () => {
    const s = run([
      {type: 'approve', address: 'volume.old'},
      {type: 'approve', address: 'agent.researcher'},
      {type: 'reject', address: 'agent.planner'},
      {type: 'focusReason'},
      {type: 'typeReason', text: ' INC-42 '},
      {type: 'submit'},
    ]);
    expect(s.status).toBe('submitted');
    expect(s.result).toEqual({
      approved: ['network.backplane', 'agent.researcher', 'volume.old'],
      rejected: ['agent.planner', 'agent.helper'],
      reason: 'INC-42',
    });
    expect(reviewResult(s)).toEqual(s.result);
    // nothing changes after the screen is done
    expect(reviewReducer(s, {type: 'reject', address: 'volume.old'})).toBe(s);
    expect(reviewReducer(s, {type: 'cancel'})).toBe(s);
  });

  it('edits the reason: typing appends printable text, backspace removes one character, focus moves in and out', () => {
    let s = run([{type: 'focusReason'}]);
    expect(s.focus).toBe('reason');
    s = reviewReducer(s, {type: 'typeReason', text: 'fix\u001b[31m db'});
    expect(s.reason).toBe('fix[31m db');
    s = reviewReducer(s, {type: 'typeReason', text: '\r\n'});
    expect(s.reason).toBe('fix[31m db');
    s = reviewReducer(s, {type: 'deleteReason'});
    expect(s.reason).toBe('fix[31m d');
    s = reviewReducer(reviewReducer(s, {type: 'typeReason', text: '🔥'}), {type: 'deleteReason'});
    expect(s.reason).toBe('fix[31m d');
    expect(reviewReducer({...s, reason: ''}, {type: 'deleteReason'}).reason).toBe('');
    expect(reviewReducer(s, {type: 'typeReason', text: 'x'.repeat(1000)}).reason).toHaveLength(MAX_REASON_LENGTH);
    expect(reviewReducer(s, {type: 'blurReason'}).focus).toBe('list');
  });

  it('cancels', () => {
    const s = run([{type: 'approve'}, {type: 'cancel'}]);
    expect(s.status).toBe('cancelled');
    expect(s.result).toBeNull();
  });

  it('survives dependency cycles and dependencies outside the reviewed steps', () => {
    const cyc = [
      step({address: 'agent.a', depends_on: ['agent.b', 'network.not-reviewed']}),
      step({address: 'agent.b', depends_on: ['agent.a']}),
      step({address: 'agent.c', depends_on: ['agent.b']}),
    ];
    const s = run([{type: 'reject', address: 'agent.a'}], cyc);
    expect(decisions(s)).toEqual({'agent.a': 'rejected', 'agent.b': 'rejected <- agent.a', 'agent.c': 'rejected <- agent.a'});
    expect(decisions(run([], cyc))).toEqual({'agent.a': 'pending', 'agent.b': 'pending', 'agent.c': 'pending'});
  });

  it('handles an empty step list', () => {
    const s = run([{type: 'move', delta: 1}, {type: 'approve'}], []);
    expect(s.selected).toBe(0);
    expect(s.message).toEqual({level: 'error', text: 'nothing to approve'});
    expect(reviewReducer(s, {type: 'reject'}).message?.text).toBe('nothing to reject');
    expect(reviewReducer(s, {type: 'submit'}).result).toEqual({approved: [], rejected: [], reason: ''});
  });

  it('maps keys to events in the list and in the reason field', () => {
    const list = (input: string, key = {}) => keyToEvent(input, key, 'list');
    const field = (input: string, key = {}) => keyToEvent(input, key, 'reason');
    expect(list('', {upArrow: true})).toEqual({type: 'move', delta: -1});
    expect(list('k')).toEqual({type: 'move', delta: -1});
    expect(list('', {downArrow: true})).toEqual({type: 'move', delta: 1});
    expect(list('j')).toEqual({type: 'move', delta: 1});
    expect(list('a')).toEqual({type: 'approve'});
    expect(list('r')).toEqual({type: 'reject'});
    expect(list('A')).toEqual({type: 'approveAll'});
    expect(list('R')).toEqual({type: 'rejectAll'});
    expect(list('', {tab: true})).toEqual({type: 'focusReason'});
    expect(list('', {return: true})).toEqual({type: 'submit'});
    expect(list('q')).toEqual({type: 'cancel'});
    expect(list('', {escape: true, meta: true})).toEqual({type: 'cancel'});
    expect(list('c', {ctrl: true})).toEqual({type: 'cancel'});
    expect(list('', {pageDown: true})).toEqual({type: 'scrollDiff', delta: 5});
    expect(list('', {pageUp: true})).toEqual({type: 'scrollDiff', delta: -5});
    expect(list('x')).toBeNull();
    expect(list('a', {ctrl: true})).toBeNull();

    expect(field('q')).toEqual({type: 'typeReason', text: 'q'});
    expect(field('a')).toEqual({type: 'typeReason', text: 'a'});
    expect(field('paste text')).toEqual({type: 'typeReason', text: 'paste text'});
    expect(field('', {backspace: true})).toEqual({type: 'deleteReason'});
    expect(field('', {delete: true})).toEqual({type: 'deleteReason'});
    expect(field('', {tab: true})).toEqual({type: 'blurReason'});
    expect(field('', {escape: true, meta: true})).toEqual({type: 'blurReason'});
    expect(field('', {return: true})).toEqual({type: 'submit'});
    expect(field('c', {ctrl: true})).toEqual({type: 'cancel'});
    expect(field('', {downArrow: true})).toEqual({type: 'move', delta: 1});
    expect(field('u', {ctrl: true})).toBeNull();
    expect(field('')).toBeNull();
  });
  it('maps raw key events with the focus each previous key left, splitting chunks that arrived at once', () => {
    const key = (input: string, k = {}, diffRows?: number): ReviewEvent => ({type: 'key', input, key: k, diffRows});
    // tab then "q" in one chunk types q into the reason field instead of cancelling
    const s = run([key('ja\tq\u007fok'), key('', {tab: true}), key('jr')]);
    expect(s.status).toBe('reviewing');
    expect(s.reason).toBe('ok');
    expect(s.focus).toBe('list');
    expect(decisions(s)['agent.researcher']).toBe('approved');
    expect(decisions(s)['agent.planner']).toBe('rejected');
    expect(run([key('A\tx\r')]).result).toEqual({approved: STEPS.map((st) => st.address), rejected: [], reason: 'x'});
    expect(run([key('\u0003')]).status).toBe('cancelled');
    // pgdn moves a whole pane (3 rows here), then stops at the last line: 7 diff lines - 3 rows
    expect(run([key('j'), key('', {pageDown: true}, 3)]).diffScroll).toBe(3);
    expect(run([key('j'), key('', {pageDown: true}, 3), key('', {pageDown: true}, 3)]).diffScroll).toBe(4);
    expect(run([key('', {pageDown: true})]).diffScroll).toBe(5);
    expect(run([key('zz'), key('')])).toEqual(initialReviewState(STEPS));

    expect(splitKeys('a', {})).toEqual([['a', {}]]);
    expect(splitKeys('', {upArrow: true})).toEqual([['', {upArrow: true}]]);
    expect(splitKeys('a\r\t\u007f\b\u001b\u0003\u0001🔥', {})).toEqual([
      ['a', {}],
      ['', {return: true}],
      ['', {tab: true}],
      ['', {backspace: true}],
      ['', {backspace: true}],
      ['', {escape: true}],
      ['c', {ctrl: true}],
      ['🔥', {}],
    ]);
  });
});

describe('review formatting', () => {
  it('formats the summary, rows and policy tags', () => {
    expect(summaryText(INPUT.summary)).toBe('Plan: 2 to add, 1 to change, 1 to replace, 1 to destroy.');
    const st = stepStatuses(initialReviewState(STEPS));
    expect(stepRow(st[0])).toBe('auto WRITE    +   network.backplane');
    expect(stepRow(st[1])).toBe('?    DEPLOY   +   agent.researcher  approval: autonomy  ⚠ warn: image agent-base is not pinned by digest');
    expect(stepRow(st[4])).toBe('?    DESTROY  -   volume.old  approval: baseline.destroy-needs-approval');
    const rej = stepStatuses(run([{type: 'reject', address: 'agent.planner'}]));
    expect(stepRow(rej[2])).toBe('✗    DEPLOY   -/+ agent.planner  approval: autonomy');
    expect(stepRow(rej[3])).toBe('✗    DEPLOY   ~   agent.helper  (depends on agent.planner)  approval: autonomy');
    expect(
      noteTags(
        step({
          address: 'agent.x',
          needs_approval: false,
          notes: [
            {rule: 'r1', effect: 'deny', message: 'no'},
            {rule: 'r2', effect: 'allow', message: 'ok'},
          ],
        }),
      ),
    ).toEqual(['✗ deny: r1']);
  });

  it('formats the diff of creates, updates, replaces and deletes', () => {
    expect(diffLines(STEPS[1]).map((l) => l.text)).toEqual([
      '# agent.researcher (agent, DEPLOY) will be created',
      '  + env:',
      '      LOG_LEVEL: info',
      '  + image = "agent-base"',
      'depends on: network.backplane',
      'needs approval · reason for access required',
      'policy warn baseline.unpinned-image: image agent-base is not pinned by digest',
    ]);
    expect(
      diffLines(STEPS[2])
        .map((l) => l.text)
        .slice(0, 3),
    ).toEqual([
      '# agent.planner (agent, DEPLOY) must be replaced',
      '  ~ env.MODEL = "small" -> "large" # forces replacement',
      '  ~ memory    = "1k" -> "2k"',
    ]);
    expect(
      diffLines(STEPS[4])
        .map((l) => l.text)
        .slice(0, 2),
    ).toEqual(['# volume.old (volume, DESTROY) will be destroyed', '  - volume.old']);
    expect(diffLines(step({address: 'network.n', after: null}))[1].text).toBe('  + network.n');
    expect(diffLines(step({address: 'agent.u', action: 'update'}))[1].text).toBe('  (no attribute changes listed)');
    expect(diffLines(step({address: 'agent.n', action: 'noop'}))[1].text).toBe('  (no changes)');
  });

  it('neutralises hostile strings and long values', () => {
    const evil = step({address: 'agent.\u001b[2Jx', after: {'k\u0007': 'v\u001b]0;pwn\u0007'}});
    const text = diffLines(evil)
      .map((l) => l.text)
      .join('\n');
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(formatValue('x'.repeat(500))).toHaveLength(120);
    expect(formatValue(undefined)).toBe('null');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(formatValue(circular)).toBe('[object Object]');
  });

  it('fits the list and diff to the terminal and keeps the selection in view', () => {
    expect(layoutFor(undefined, 40)).toEqual({listRows: 12, diffRows: 14});
    expect(layoutFor(undefined, 3)).toEqual({listRows: 3, diffRows: 14});
    expect(layoutFor(40, 40)).toEqual({listRows: 13, diffRows: 14});
    expect(layoutFor(24, 5)).toEqual({listRows: 5, diffRows: 6});
    expect(layoutFor(10, 40)).toEqual({listRows: 3, diffRows: 3});
    expect(windowStart(0, 40, 10)).toBe(0);
    expect(windowStart(20, 40, 10)).toBe(15);
    expect(windowStart(39, 40, 10)).toBe(30);
    expect(windowStart(3, 5, 10)).toBe(0);
  });
});

const UP = '\u001B[A';
const DOWN = '\u001B[B';
const ESC = '\u001B';
const PGDN = '\u001B[6~';
const PGUP = '\u001B[5~';
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
/** Waits for ink to catch up (keys are handled synchronously; frames and effects follow). */
const until = (check: () => void) => vi.waitFor(check, {timeout: 5000, interval: 5});

async function press(stdin: {write(s: string): void}, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    stdin.write(k);
    await tick();
  }
}

async function mount(input: ReviewInput = INPUT, extra: {listRows?: number; diffRows?: number} = {}) {
  const onSubmit = vi.fn<(r: ReviewResult) => void>();
  const onCancel = vi.fn<() => void>();
  const r = render(<ReviewScreen {...input} {...extra} onSubmit={onSubmit} onCancel={onCancel} />);
  const frame = (): string => r.lastFrame() ?? '';
  /** The frame with wrapped lines joined, for long messages. */
  const flat = (): string => frame().replace(/\s+/g, ' ');
  // ready once useInput has put stdin in raw mode and listens
  await until(() => expect(r.stdin.listenerCount('readable')).toBeGreaterThan(0));
  return {...r, onSubmit, onCancel, frame, flat};
}

describe('ReviewScreen', () => {
  afterEach(() => cleanup());

  it('shows the plan summary, the steps and the diff of the first step', async () => {
    const {frame} = await mount();
    const f = frame();
    expect(f).toContain('Review apply plan plan-7f3a');
    expect(f).toContain('Plan: 2 to add, 1 to change, 1 to replace, 1 to destroy.');
    expect(f).toContain('Steps (5): 1 approved, 0 rejected, 4 pending');
    expect(f).toContain('> auto WRITE    +   network.backplane');
    expect(f).toContain('  ?    DEPLOY   +   agent.researcher  approval: autonomy  ⚠ warn: image agent-base is not pinned');
    expect(f).toContain('  ?    DEPLOY   -/+ agent.planner');
    expect(f).toContain('  ?    DEPLOY   ~   agent.helper');
    expect(f).toContain('  ?    DESTROY  -   volume.old  approval: baseline.destroy-needs-approval');
    expect(f).toContain('# network.backplane (network, WRITE) will be created');
    expect(f).toContain('  + internal = true');
    // the name orx computes is not something the user set: the plan leaves it out, and so does the screen
    expect(f).not.toContain('research-lab-backplane');
    expect(f).toContain('Reason for access: []  (required)');
    expect(f).toContain('↑↓ jk move · a/r approve/reject · A/R all · tab reason · enter submit · q cancel');
    // order: header, list, diff, reason, footer
    const order = ['Plan: 2', 'network.backplane', 'volume.old', '# network.backplane', 'Reason for access', 'enter submit'].map((s) =>
      f.indexOf(s),
    );
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // no colour codes needed to read it (ink-testing-library frames keep colour off here anyway)
    expect(f).not.toMatch(/\u001b/);
  });

  it('moves the selection with arrows and j/k and shows the selected step in the diff pane', async () => {
    const {stdin, frame} = await mount();
    await press(stdin, DOWN);
    await until(() => expect(frame()).toContain('> ?    DEPLOY   +   agent.researcher'));
    expect(frame()).toContain('  + image = "agent-base"');
    expect(frame()).not.toContain('config_hash');
    expect(frame()).not.toContain('+ internal = true');
    await press(stdin, 'j');
    await until(() => expect(frame()).toContain('> ?    DEPLOY   -/+ agent.planner'));
    expect(frame()).toContain('  ~ env.MODEL = "small" -> "large" # forces replacement');
    await press(stdin, 'j', 'j', DOWN); // the last press stays on the last step
    await until(() => expect(frame()).toContain('> ?    DESTROY  -   volume.old'));
    expect(frame()).toContain('  - volume.old');
    await press(stdin, UP, 'k');
    await until(() => expect(frame()).toContain('> ?    DEPLOY   -/+ agent.planner'));
  });

  it('approves two, rejects one and its dependent, takes a reason and submits exactly those addresses', async () => {
    const {stdin, frame, flat, onSubmit, onCancel} = await mount();
    await press(stdin, DOWN, 'a'); // agent.researcher
    await until(() => expect(frame()).toContain('> ✓    DEPLOY   +   agent.researcher'));
    expect(frame()).toContain('approved agent.researcher');
    await press(stdin, DOWN, 'r'); // agent.planner, and agent.helper depends on it
    await until(() => expect(frame()).toContain('> ✗    DEPLOY   -/+ agent.planner'));
    expect(frame()).toContain('  ✗    DEPLOY   ~   agent.helper  (depends on agent.planner)');
    expect(frame()).toContain('rejected agent.planner and 1 step(s) that depend on it (agent.helper)');
    await press(stdin, DOWN, 'a'); // agent.helper cannot be approved
    await until(() => expect(flat()).toContain('cannot approve agent.helper: it depends on rejected agent.planner'));
    await press(stdin, DOWN, 'a'); // volume.old
    await until(() => expect(frame()).toContain('Steps (5): 3 approved, 2 rejected, 0 pending'));

    await press(stdin, '\r');
    await until(() =>
      expect(flat()).toContain(
        'cannot submit: a reason for access is required to approve agent.researcher, volume.old: press tab and type it',
      ),
    );
    expect(onSubmit).not.toHaveBeenCalled();

    await press(stdin, '\t');
    await until(() => expect(frame()).toContain('> Reason for access: [_]'));
    expect(frame()).toContain('type the reason · backspace deletes · tab/esc leave the field · enter submit');
    await press(stdin, 'I', 'N', 'C', '-', '4', '2', 'x', '\u007f', ' ', 'q', 'a');
    await until(() => expect(frame()).toContain('Reason for access: [INC-42 qa_]'));
    expect(onCancel).not.toHaveBeenCalled();
    await press(stdin, '\t');
    await until(() => expect(frame()).toContain('  Reason for access: [INC-42 qa]'));
    await press(stdin, '\r');
    await until(() => expect(onSubmit).toHaveBeenCalledTimes(1));
    expect(onSubmit).toHaveBeenCalledWith({
      approved: ['network.backplane', 'agent.researcher', 'volume.old'],
      rejected: ['agent.planner', 'agent.helper'],
      reason: 'INC-42 qa',
    });
    expect(onCancel).not.toHaveBeenCalled();
    // keys after submitting do nothing
    await press(stdin, 'r', '\r', 'q');
    await tick(30);
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onCancel).not.toHaveBeenCalled();
  });

  it('handles keys that arrive in one chunk, faster than it re-renders (tmux send-keys, paste)', async () => {
    const {stdin, onSubmit, onCancel} = await mount();
    stdin.write('jajrjjaA\tquick fix\r');
    await until(() => expect(onSubmit).toHaveBeenCalledTimes(1));
    expect(onSubmit).toHaveBeenCalledWith({
      approved: ['network.backplane', 'agent.researcher', 'volume.old'],
      rejected: ['agent.planner', 'agent.helper'],
      reason: 'quick fix',
    });
    expect(onCancel).not.toHaveBeenCalled();
  });

  it('refuses to submit while steps are pending, then approves all pending with A', async () => {
    const {stdin, flat, onSubmit} = await mount();
    await press(stdin, '\r');
    await until(() =>
      expect(flat()).toContain('cannot submit: 4 step(s) still need a decision (agent.researcher, agent.planner, agent.helper and 1 more)'),
    );
    expect(onSubmit).not.toHaveBeenCalled();
    await press(stdin, 'A');
    await until(() => expect(flat()).toContain('approved 4 pending step(s)'));
    await press(stdin, '\t', 'o', 'k', '\r'); // enter submits from the reason field too
    await until(() => expect(onSubmit).toHaveBeenCalledWith({approved: STEPS.map((s) => s.address), rejected: [], reason: 'ok'}));
  });

  it('rejects all pending with R and lets an auto step be rejected', async () => {
    const {stdin, frame, onSubmit} = await mount();
    await press(stdin, 'R');
    await until(() => expect(frame()).toContain('rejected 4 pending step(s)'));
    await press(stdin, 'r');
    await until(() => expect(frame()).toContain('> ✗    WRITE    +   network.backplane'));
    await press(stdin, '\r');
    await until(() => expect(onSubmit).toHaveBeenCalledWith({approved: [], rejected: STEPS.map((s) => s.address), reason: ''}));
  });

  it('cancels with q', async () => {
    const {stdin, onCancel, onSubmit} = await mount();
    await press(stdin, 'q');
    await until(() => expect(onCancel).toHaveBeenCalledTimes(1));
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('cancels with esc outside the reason field; esc in the field only leaves it', async () => {
    const {stdin, frame, onCancel} = await mount();
    await press(stdin, '\t', 'x', ESC);
    await until(() => expect(frame()).toContain('  Reason for access: [x]'));
    expect(onCancel).not.toHaveBeenCalled();
    await press(stdin, ESC);
    await until(() => expect(onCancel).toHaveBeenCalledTimes(1));
  });

  it('cancels with ctrl-c', async () => {
    const {stdin, onCancel} = await mount();
    await press(stdin, '\u0003');
    await until(() => expect(onCancel).toHaveBeenCalledTimes(1));
  });

  it('windows a long step list and scrolls a long diff', async () => {
    const many = Array.from({length: 30}, (_, i) =>
      step({
        address: `agent.a${String(i).padStart(2, '0')}`,
        after: Object.fromEntries(Array.from({length: 20}, (_, k) => [`k${String(k).padStart(2, '0')}`, k])),
      }),
    );
    const {stdin, frame} = await mount({...INPUT, steps: many}, {listRows: 5, diffRows: 6});
    expect(frame()).toContain('agent.a04');
    expect(frame()).not.toContain('agent.a05');
    expect(frame()).toContain('↓ 25 more');
    expect(frame()).toContain('Diff (lines 1-6 of 22, pgup/pgdn scroll)');
    expect(frame()).toContain('+ k04 = 4');
    expect(frame()).not.toContain('+ k05 = 5');
    await press(stdin, PGDN);
    // a page is the pane: the first line after pgdn is the one after the last line seen
    await until(() => expect(frame()).toContain('Diff (lines 7-12 of 22, pgup/pgdn scroll)'));
    expect(frame()).toContain('+ k05 = 5');
    expect(frame()).not.toContain('+ k04 = 4');
    await press(stdin, PGDN, PGDN, PGDN, PGDN);
    await until(() => expect(frame()).toContain('Diff (lines 17-22 of 22, pgup/pgdn scroll)'));
    await press(stdin, PGUP);
    await until(() => expect(frame()).toContain('Diff (lines 11-16 of 22, pgup/pgdn scroll)'));
    await press(stdin, ...Array.from({length: 10}, () => 'j'));
    await until(() => expect(frame()).toContain('> ?    DEPLOY   +   agent.a10'));
    expect(frame()).toContain('↑ 8 more');
    expect(frame()).toContain('Diff (lines 1-6 of 22, pgup/pgdn scroll)');
  });

  it('shows an empty plan', async () => {
    const {frame} = await mount({...INPUT, steps: [], summary: {create: 0, update: 0, replace: 0, delete: 0}});
    expect(frame()).toContain('(no steps to review)');
  });
});

/** A stand-in terminal: the same shape ink-testing-library uses, driven by hand. */
function streams() {
  const stdin = new FakeTTYIn();
  const stdout = new FakeTTYOut();
  return {
    stdin,
    stdout,
    opts: {stdin: stdin as unknown as NodeJS.ReadStream, stdout: stdout as unknown as NodeJS.WriteStream},
  };
}

describe('renderReview', () => {
  it('draws on the given stream, resolves with the decisions and restores the terminal', async () => {
    const {stdin, stdout, opts} = streams();
    const done = renderReview(INPUT, opts);
    await until(() => expect(stdin.listenerCount('readable')).toBeGreaterThan(0));
    expect(stdout.out).toContain('Plan: 2 to add, 1 to change, 1 to replace, 1 to destroy.');
    await press(stdin, 'A', '\t', 'w', 'h', 'y', '\r');
    await expect(done).resolves.toEqual({approved: STEPS.map((s) => s.address), rejected: [], reason: 'why'});
    expect(stdin.rawModes[0]).toBe(true);
    expect(stdin.rawModes.at(-1)).toBe(false);
    expect(stdin.listenerCount('readable')).toBe(0);
  });

  it('resolves null when cancelled, also by ctrl-c', async () => {
    for (const key of ['q', '\u0003']) {
      const {stdin, opts} = streams();
      const done = renderReview(INPUT, opts);
      await until(() => expect(stdin.listenerCount('readable')).toBeGreaterThan(0));
      await press(stdin, key);
      await expect(done).resolves.toBeNull();
      expect(stdin.rawModes.at(-1)).toBe(false);
    }
  });
});
