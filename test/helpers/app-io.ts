// Shared by the in-process use-case tests: a real workspace and ledger, and an ApplyIO that
// records what the terminal side was given instead of drawing it.
import type {ApplyIO} from '../../src/app/apply.js';
import type {StepResult} from '../../src/engine/executor.js';
import type {PlanDocument} from '../../src/engine/planfile.js';
import type {ReviewInput, ReviewResult} from '../../src/ui/review/types.js';

/** Networks and volumes only: applies in a second, no image to build. */
export const NET_VOL_YAML = `workspace: __WS__
autonomy: 3
networks:
  backplane: {internal: true}
volumes:
  memory: {backup: true}
`;

export interface RecordingIO extends ApplyIO {
  shown: PlanDocument[];
  dropped: string[][];
  finished: StepResult[];
  reviewed: ReviewInput[];
  closed: number;
  stopsOff: number;
}

export function recordingIO(o: {review?: (input: ReviewInput) => ReviewResult | null; abortBeforeRun?: boolean} = {}): RecordingIO {
  const io: RecordingIO = {
    shown: [],
    dropped: [],
    finished: [],
    reviewed: [],
    closed: 0,
    stopsOff: 0,
    showPlan: (doc) => io.shown.push(doc),
    onRejected: (d) => io.dropped.push(d),
    events: {
      onStart: () => undefined,
      onFinish: (r) => io.finished.push(r),
      close: () => io.closed++,
    },
    watchStop: () => {
      const c = new AbortController();
      if (o.abortBeforeRun) c.abort();
      return {signal: c.signal, off: () => io.stopsOff++};
    },
  };
  if (o.review) {
    const review = o.review;
    io.review = async (input) => {
      io.reviewed.push(input);
      return review(input);
    };
  }
  return io;
}
