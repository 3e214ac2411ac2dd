// How a running apply hears it should stop (src/cli/stop-signals.ts, output-guard.ts), with
// the signals delivered to this process's handlers. The output guard's "closed" state is
// process-wide, so the closed-pipe cases come last.
import {EventEmitter} from 'node:events';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {guardOutput, onOutputClosed} from '../../src/cli/output-guard.js';
import {untilInterrupted, watchStopSignals} from '../../src/cli/stop-signals.js';
import {EXIT} from '../../src/exit-codes.js';
import {captureOutput} from '../helpers/capture.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'] as const;
type Sig = (typeof SIGNALS)[number];

// whatever the test runner listens for is set aside, so only the handlers under test hear the signals
let saved: Map<Sig, Array<(...a: unknown[]) => void>>;
beforeEach(() => {
  saved = new Map(SIGNALS.map((s) => [s, process.listeners(s) as Array<(...a: unknown[]) => void>]));
  for (const s of SIGNALS) process.removeAllListeners(s);
});
afterEach(() => {
  for (const s of SIGNALS) {
    process.removeAllListeners(s);
    for (const l of saved.get(s)!) process.on(s, l);
  }
});

const deliver = (s: Sig): boolean => process.emit(s as 'SIGINT', s as 'SIGINT');

describe('watchStopSignals', () => {
  it('aborts on the first Ctrl-C, saying running steps finish, and removes its handlers when off', async () => {
    let forced = 0;
    const stop = watchStopSignals(() => forced++);
    expect(SIGNALS.map((s) => process.listenerCount(s))).toEqual([1, 1, 1, 1]);
    const r = await captureOutput(async () => deliver('SIGINT'));
    expect(stop.signal.aborted).toBe(true);
    expect(r.stderr).toBe(
      '\nInterrupt received: no new steps will start; waiting for running ones to finish (press Ctrl-C again to stop at once).\n',
    );
    expect(forced).toBe(0);
    stop.off();
    expect(SIGNALS.map((s) => process.listenerCount(s))).toEqual([0, 0, 0, 0]);
  });

  it('names SIGTERM and SIGHUP, and a second signal forces the stop and exits 130', async () => {
    let forced = 0;
    const stop = watchStopSignals(() => forced++);
    const exits: Array<number | string | null | undefined> = [];
    // the process must outlive the test: the exit is recorded instead
    const exit = vi.spyOn(process, 'exit').mockImplementation((code?: number | string | null) => {
      exits.push(code);
      return undefined as never;
    });
    try {
      const r = await captureOutput(async () => {
        deliver('SIGTERM');
        deliver('SIGHUP');
      });
      expect(r.stderr).toContain('\nSIGTERM received: no new steps will start;');
      expect(r.stderr).toContain('\nSIGHUP received again: stopping at once; the run is recorded as interrupted and the lock released.');
    } finally {
      exit.mockRestore();
      stop.off();
    }
    expect(stop.signal.aborted).toBe(true);
    expect(forced).toBe(1);
    expect(exits).toEqual([EXIT.INTERRUPTED]);
  });

  it('stops starting steps on `orx halt` (SIGUSR2) without a message', async () => {
    const stop = watchStopSignals(() => undefined);
    const r = await captureOutput(async () => deliver('SIGUSR2'));
    expect(stop.signal.aborted).toBe(true);
    expect(r.stderr).toBe('');
    stop.off();
  });
});

describe('untilInterrupted', () => {
  it('is aborted by SIGINT or SIGTERM, once', () => {
    const a = untilInterrupted();
    expect(a.aborted).toBe(false);
    deliver('SIGTERM');
    expect(a.aborted).toBe(true);
    expect(process.listenerCount('SIGTERM')).toBe(0);
    const b = untilInterrupted();
    deliver('SIGINT');
    expect(b.aborted).toBe(true);
  });
});

class FakeOut extends EventEmitter {
  written: string[] = [];
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
}

describe('a closed output (EPIPE)', () => {
  it('tells a running apply once, then writes nowhere and swallows later errors', async () => {
    const out = new FakeOut();
    const stream = out as unknown as NodeJS.WriteStream;
    guardOutput(stream);
    guardOutput(stream);
    expect(out.listenerCount('error')).toBe(1);
    stream.write('before');
    expect(out.written).toEqual(['before']);

    let told = 0;
    const off = onOutputClosed(() => told++);
    const unrelated = onOutputClosed(() => told++);
    unrelated();
    const stop = watchStopSignals(() => undefined);
    out.emit('error', Object.assign(new Error('write EPIPE'), {code: 'EPIPE'}));
    expect(told).toBe(1);
    expect(stop.signal.aborted).toBe(true);
    stop.off();
    off();

    // the stream now writes nowhere, calling back as a write would
    const done = await new Promise<boolean>((resolve) => {
      const ok = stream.write('lost', () => resolve(ok));
    });
    expect(done).toBe(true);
    await new Promise<void>((resolve) => stream.write('lost too', 'utf8', () => resolve()));
    expect(out.written).toEqual(['before']);

    // a second stream's error after the first: nothing more to tell
    const other = new FakeOut();
    guardOutput(other as unknown as NodeJS.WriteStream);
    other.emit('error', new Error('EPIPE'));
    expect(told).toBe(1);
    // once closed, a new listener hears it at once
    let late = 0;
    onOutputClosed(() => late++);
    expect(late).toBe(1);
  });
});
