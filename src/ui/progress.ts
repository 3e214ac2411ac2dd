import type {ExecutorEvents, StepResult} from '../engine/executor.js';
import type {PlannedStep} from '../resources/types.js';
import {c} from './color.js';
import type {Logger} from '../util/logger.js';

const DETAIL_EVERY_MS = 2000;

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function line(r: StepResult): string {
  const mark =
    r.status === 'succeeded' ? c.green('✓') : r.status === 'failed' ? c.red('✗') : r.status === 'rolled_back' ? c.yellow('↺') : c.dim('·');
  const note =
    r.status === 'failed' || r.status === 'rolled_back'
      ? `: ${r.error}`
      : r.status === 'skipped'
        ? ' (not started)'
        : r.adopted
          ? ' (adopted existing object)'
          : '';
  return `${mark} ${r.step.address}: ${r.step.action} ${r.status.replace('_', ' ')} (${secs(r.elapsed_ms)})${note}`;
}

/**
 * Progress on stderr: on a TTY a live status line under the finished steps; otherwise
 * one plain line per finished step, which is what CI logs want.
 */
export function progressReporter(write: (s: string) => void, tty: boolean, now: () => number = Date.now): ExecutorEvents & {close(): void} {
  const running = new Map<string, PlannedStep>();
  const details = new Map<string, string>();
  const printed = new Map<string, number>();
  const t0 = now();
  let done = 0;
  let failed = 0;
  let timer: NodeJS.Timeout | undefined;
  const label = (a: string): string => (details.has(a) ? `${a} ${details.get(a)}` : a);
  const status = (): string =>
    `${c.cyan('…')} running ${running.size} [${[...running.keys()].slice(0, 3).map(label).join(', ')}${running.size > 3 ? ', …' : ''}] · done ${done} · failed ${failed} · ${secs(now() - t0)}`;
  const redraw = (): void => {
    if (tty) write(`\r\x1b[2K${status()}`);
  };
  if (tty) timer = setInterval(redraw, 200);
  return {
    onStart(step) {
      running.set(step.address, step);
      redraw();
    },
    onDetail(address, detail) {
      details.set(address, detail);
      // without a terminal: a plain line now and then, so a CI log shows what a long step waits for
      const last = printed.get(address);
      if (!tty && (last === undefined || now() - last >= DETAIL_EVERY_MS)) {
        printed.set(address, now());
        write(`  ${address}: ${detail}\n`);
      }
    },
    onFinish(r) {
      running.delete(r.step.address);
      details.delete(r.step.address);
      if (r.status === 'succeeded') done++;
      if (r.status === 'failed' || r.status === 'rolled_back') failed++;
      write(tty ? `\r\x1b[2K${line(r)}\n` : `${line(r)}\n`);
      redraw();
    },
    close() {
      if (timer) clearInterval(timer);
      if (tty) write('\r\x1b[2K');
    },
  };
}

/** With `--log-format json`: one structured line per step, correlated by run id. */
export function jsonProgressReporter(log: Logger): ExecutorEvents & {close(): void} {
  return {
    onStart() {},
    onFinish(r) {
      const fields = {
        address: r.step.address,
        action: r.step.action,
        status: r.status,
        elapsed_ms: r.elapsed_ms,
        ...(r.error ? {error: r.error} : {}),
        ...(r.adopted ? {adopted: true} : {}),
      };
      const run = log.withRun(r.run_id);
      if (r.status === 'failed') run.error(`${r.step.action} failed`, fields);
      else if (r.status === 'rolled_back') run.warn(`${r.step.action} rolled back`, fields);
      else run.info(`${r.step.action} ${r.status}`, fields);
    },
    close() {},
  };
}
