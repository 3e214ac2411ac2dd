// The ink review screen: pure (props in, callbacks out). All decisions live in model.ts;
// this maps keys to events and draws the state. Readable without colour.
import {Box, Text, useInput, useStdout} from 'ink';
import {useEffect, useReducer, useRef} from 'react';
import {
  diffLines,
  FOOTER_LIST,
  FOOTER_REASON,
  layoutFor,
  type Line,
  stepRow,
  summaryText,
  type Tone,
  windowStart,
  actionTone,
  clean,
} from './format.js';
import {initialReviewState, reviewReducer, stepStatuses} from './model.js';
import {type StepStatus} from './types.js';
import type {ReviewProps} from './types.js';

export interface ReviewScreenProps extends ReviewProps {
  /** Step rows shown at once (default: fitted to the terminal height). */
  listRows?: number;
  /** Diff lines shown at once (default: fitted to the terminal height). */
  diffRows?: number;
}

const TONE_COLOR: Record<Tone, string | undefined> = {
  add: 'green',
  change: 'yellow',
  remove: 'red',
  danger: 'red',
  warn: 'yellow',
  muted: 'gray',
  plain: undefined,
};

function decisionColor(st: StepStatus): string | undefined {
  if (st.decision === 'rejected') return 'red';
  if (st.decision === 'pending') return 'yellow';
  return st.auto ? 'gray' : 'green';
}

function StepRow({st, selected}: {st: StepStatus; selected: boolean}) {
  const text = stepRow(st);
  return (
    <Text color={decisionColor(st)} bold={selected} wrap="truncate-end">
      {selected ? '> ' : '  '}
      {text}
    </Text>
  );
}

function DiffLine({line}: {line: Line}) {
  return (
    <Text color={TONE_COLOR[line.tone]} wrap="truncate-end">
      {line.text}
    </Text>
  );
}

/** What stays on the terminal once the screen is left: one line of what was decided, no field or keys. */
function FinalFrame({title, text, width}: {title: string; text: string; width: number}) {
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate-end">
        {title}
      </Text>
      <Text wrap="truncate-end">{text}</Text>
    </Box>
  );
}

export function ReviewScreen(props: ReviewScreenProps) {
  const {planId, kind, summary, steps, onSubmit, onCancel} = props;
  const [state, dispatch] = useReducer(reviewReducer, steps, initialReviewState);
  const {stdout} = useStdout();
  const fitted = layoutFor(stdout?.rows, steps.length);
  const listRows = Math.max(1, props.listRows ?? fitted.listRows);
  const diffRows = Math.max(1, props.diffRows ?? fitted.diffRows);

  const statuses = stepStatuses(state);
  const current = statuses[state.selected];
  const lines = current ? diffLines(current.step) : [];
  const maxScroll = Math.max(0, lines.length - diffRows);
  const scroll = Math.min(state.diffScroll, maxScroll);

  // The reducer maps the key with the focus of the latest state (keys can outrun renders).
  useInput((input, key) => dispatch({type: 'key', input, key, diffRows}), {isActive: state.status === 'reviewing'});

  // Report the outcome once; the wrapper (or the test) decides what happens next.
  const reported = useRef(false);
  useEffect(() => {
    if (reported.current) return;
    if (state.status === 'submitted' && state.result) {
      reported.current = true;
      onSubmit(state.result);
    } else if (state.status === 'cancelled') {
      reported.current = true;
      onCancel();
    }
  }, [state.status, state.result, onSubmit, onCancel]);

  const start = windowStart(state.selected, statuses.length, listRows);
  const visible = statuses.slice(start, start + listRows);
  const above = start;
  const below = statuses.length - start - visible.length;
  const counts = {
    approved: statuses.filter((s) => s.decision === 'approved').length,
    rejected: statuses.filter((s) => s.decision === 'rejected').length,
    pending: statuses.filter((s) => s.decision === 'pending').length,
  };
  const reasonNeeded = statuses.some((s) => s.step.reason_required && s.decision !== 'rejected');
  const inField = state.focus === 'reason';
  // one column short of the terminal: a line that fills the last column makes some terminals
  // wrap on their own, mid-word, before ink's truncation can
  const width = Math.max(20, (stdout?.columns || 80) - 1);
  const title = `Review ${kind} plan ${clean(planId)}`;

  if (state.status === 'submitted' && state.result)
    return (
      <FinalFrame
        title={title}
        width={width}
        text={`Submitted: ${state.result.approved.length} approved, ${state.result.rejected.length} rejected${state.result.reason ? `; reason: ${clean(state.result.reason)}` : ''}.`}
      />
    );
  if (state.status === 'cancelled')
    return <FinalFrame title={title} width={width} text="Cancelled at the review screen: nothing was approved." />;

  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate-end">
        {title}
      </Text>
      <Text wrap="truncate-end">{summaryText(summary)}</Text>
      <Text> </Text>
      <Text bold wrap="truncate-end">
        Steps ({statuses.length}): {counts.approved} approved, {counts.rejected} rejected, {counts.pending} pending
      </Text>
      {above > 0 ? <Text color="gray"> ↑ {above} more</Text> : null}
      {statuses.length === 0 ? <Text color="gray"> (no steps to review)</Text> : null}
      {visible.map((st, i) => (
        <StepRow key={st.step.id || st.step.address} st={st} selected={start + i === state.selected} />
      ))}
      {below > 0 ? <Text color="gray"> ↓ {below} more</Text> : null}
      <Text> </Text>
      {current ? (
        <Box flexDirection="column">
          <Text bold wrap="truncate-end">
            <Text color={TONE_COLOR[actionTone(current.step.action)]}>Diff</Text>
            {lines.length > diffRows
              ? ` (lines ${scroll + 1}-${Math.min(lines.length, scroll + diffRows)} of ${lines.length}, pgup/pgdn scroll)`
              : ''}
          </Text>
          {lines.slice(scroll, scroll + diffRows).map((line, i) => (
            <DiffLine key={scroll + i} line={line} />
          ))}
        </Box>
      ) : null}
      <Text> </Text>
      <Text wrap="truncate-end">
        <Text bold={inField} color={inField ? 'cyan' : undefined}>
          {inField ? '> ' : '  '}Reason for access:{' '}
        </Text>
        <Text>
          [{state.reason}
          {inField ? '_' : ''}]
        </Text>
        <Text color="gray">{reasonNeeded ? '  (required)' : '  (optional)'}</Text>
      </Text>
      {/* a message is a sentence to read whole: wrapped at words, inside the width */}
      <Text color={state.message?.level === 'error' ? 'red' : 'gray'}>{state.message ? clean(state.message.text) : ' '}</Text>
      <Text color="gray" wrap="truncate-end">
        {inField ? FOOTER_REASON : FOOTER_LIST}
      </Text>
    </Box>
  );
}
