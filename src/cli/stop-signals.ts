import {EXIT} from '../exit-codes.js';
import {onOutputClosed} from './output-guard.js';

export interface StopSignals {
  /** aborted by the first Ctrl-C, SIGTERM, SIGHUP, `orx halt` (SIGUSR2) or a closed output */
  signal: AbortSignal;
  /** removes the handlers; call it when the run is over */
  off(): void;
}

/**
 * How a running apply hears it should stop. The first signal stops new steps and lets the
 * running ones finish; a second one calls `forceStop` (synchronous: the run is recorded as
 * interrupted and the lock released) and ends the process with exit 130.
 */
export function watchStopSignals(forceStop: () => void): StopSignals {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      process.stderr.write(
        `\n${signal === 'SIGINT' ? 'Interrupt' : signal} received: no new steps will start; waiting for running ones to finish (press Ctrl-C again to stop at once).\n`,
      );
      controller.abort();
    } else {
      process.stderr.write(
        `\n${signal} received again: stopping at once; the run is recorded as interrupted and the lock released. The next apply removes what the running steps half made.\n`,
      );
      forceStop();
      process.exit(EXIT.INTERRUPTED);
    }
  };
  // `orx halt` nudges a running apply with SIGUSR2: stop starting steps, finish the running ones
  const onHalt = (): void => controller.abort();
  // nobody reads the output any more: as for one Ctrl-C (a pipe's reader is no signal to count)
  const offOutput = onOutputClosed(() => controller.abort());
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('SIGUSR2', onHalt);
  return {
    signal: controller.signal,
    off: () => {
      offOutput();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.off('SIGUSR2', onHalt);
    },
  };
}

/** Aborted by the first Ctrl-C or SIGTERM: for commands that run until interrupted (`orx events -f`). */
export function untilInterrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}
