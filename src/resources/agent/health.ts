// Waiting for an agent to be healthy: the engine's healthcheck status, or orx's own probe (an
// exec through the Engine API, or an HTTP GET on a port published on 127.0.0.1), with the
// output of the last check kept for the ledger when the answer is no.
import {Writable} from 'node:stream';
import type Dockerode from 'dockerode';
import {excerpt} from '../../util/redact.js';
import {demuxLogs} from '../../drivers/docker.js';
import type {HealthSpec} from '../../config/types.js';

export type HealthFailure = 'unhealthy' | 'exit' | 'timeout';

export type HealthResult =
  {ok: true; attempts: number} | {ok: false; reason: HealthFailure; detail: string; output: string; attempts: number};

export interface WaitOptions {
  timeoutMs: number;
  /** what a terminal shows: "waiting for health: attempt k of n" */
  progress?: (detail: string) => void;
  signal?: AbortSignal;
  /** chaos rehearsal: every check fails, as a broken new version's would */
  forceUnhealthy?: boolean;
  /** with no health check: how long running counts as started (default SETTLE_MS) */
  settleMs?: number;
}

const POLL_MS = 250;
// with no health check at all, running this long after start is all there is to know
const SETTLE_MS = 1000;
const MAX_OUTPUT = 4096;
const MAX_OUTPUT_LINES = 40;
// bigger than the largest secret file (1 MiB): orx itself never cuts a whole value here before tail() redacts it
const MAX_PROBE_OUTPUT = 2 * 1024 * 1024;

// the listener goes when the timer fires: a wait polls many times on one run's signal
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const onAbort = (): void => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    signal?.addEventListener('abort', onAbort, {once: true});
  });

// what the last check printed, redacted as a whole before it is cut to its end: this goes into
// the ledger and into the messages built from it
const tail = (s: string): string => excerpt(s, {max: MAX_OUTPUT, keep: 'end', lines: MAX_OUTPUT_LINES});

export async function waitHealthy(docker: Dockerode, id: string, health: HealthSpec | null, opts: WaitOptions): Promise<HealthResult> {
  const c = docker.getContainer(id);
  const probe = health?.probe;
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const retries = Math.max(1, health?.retries ?? 1);
  // the most checks that fit in the time allowed: the "n" of "attempt k of n"
  const most = Math.max(retries, Math.ceil(opts.timeoutMs / Math.max(1, health?.interval_ms ?? POLL_MS)));
  let attempts = 0;
  let failing = 0;
  let output = '';
  const settle = opts.settleMs ?? SETTLE_MS;
  const timedOut = (): HealthResult => ({
    ok: false,
    reason: 'timeout',
    detail: `not healthy within ${Math.round(opts.timeoutMs / 1000)}s`,
    output: tail(output),
    attempts,
  });
  // with no check of orx's own: one look after the settle time (an exit in between shows in the
  // restart count) instead of polling an engine many replaces share
  if (!probe && !health?.test.length && !opts.forceUnhealthy) await sleep(settle, opts.signal);
  for (;;) {
    const info = await c.inspect();
    const s = info.State;
    // the engine restarting it (restart policy) means it exited: Running stays true meanwhile,
    // and once restarted only the count tells
    if (!s.Running || s.Restarting || info.RestartCount > 0)
      return {
        ok: false,
        reason: 'exit',
        detail: `the container exited (code ${s.ExitCode})`,
        output: tail(output || (await logsTail(c))),
        attempts,
      };
    if (opts.signal?.aborted) return {ok: false, reason: 'timeout', detail: 'cancelled', output: tail(output), attempts};
    if (probe || opts.forceUnhealthy) {
      if (Date.now() >= started + (health?.start_period_ms ?? 0) || opts.forceUnhealthy) {
        attempts++;
        opts.progress?.(`waiting for health: attempt ${attempts} of ${most} (${failing} of ${retries} failed in a row)`);
        const r = opts.forceUnhealthy
          ? {ok: false, output: 'chaos: health check forced to fail'}
          : probe
            ? await runProbe(docker, c, probe, health.timeout_ms)
            : {ok: true, output: ''};
        output = r.output;
        if (r.ok) return {ok: true, attempts};
        if (++failing >= retries)
          return {
            ok: false,
            reason: 'unhealthy',
            detail: `the health check failed ${failing} times in a row`,
            output: tail(output),
            attempts,
          };
      }
      if (Date.now() > deadline) return timedOut();
      await sleep(health?.interval_ms ?? POLL_MS, opts.signal);
      continue;
    }
    const h = s.Health;
    if (!h) {
      if (Date.now() >= started + settle) return {ok: true, attempts};
    } else {
      const log = h.Log ?? [];
      attempts = log.length;
      output = log.at(-1)?.Output ?? output;
      opts.progress?.(
        attempts === 0
          ? `waiting for health: ${h.Status}, no check has run yet`
          : `waiting for health: ${h.Status}, attempt ${attempts} of ${most} (${h.FailingStreak} of ${retries} failed in a row)`,
      );
      if (h.Status === 'healthy') return {ok: true, attempts};
      if (h.Status === 'unhealthy')
        return {
          ok: false,
          reason: 'unhealthy',
          detail: `the health check failed ${h.FailingStreak} times in a row`,
          output: tail(output),
          attempts,
        };
    }
    if (Date.now() > deadline) return timedOut();
    await sleep(POLL_MS, opts.signal);
  }
}

async function runProbe(
  docker: Dockerode,
  c: Dockerode.Container,
  probe: NonNullable<HealthSpec['probe']>,
  timeoutMs: number,
): Promise<{ok: boolean; output: string}> {
  if ('http' in probe) {
    const url = `http://127.0.0.1:${probe.http.port}${probe.http.path}`;
    try {
      const res = await fetch(url, {signal: AbortSignal.timeout(timeoutMs), redirect: 'manual'});
      const body = excerpt(await bodyStart(res, MAX_PROBE_OUTPUT), {max: 512, markup: true});
      return {ok: res.status >= 200 && res.status < 400, output: `GET ${url}: ${res.status}${body ? ` ${body}` : ''}`};
    } catch (err) {
      return {ok: false, output: `GET ${url}: ${(err as Error).message}`};
    }
  }
  const exec = await c.exec({Cmd: probe.exec, AttachStdout: true, AttachStderr: true});
  const stream = await exec.start({hijack: true, stdin: false});
  let out = '';
  // a probe that prints without end must not fill orx's memory: its last part is what tail() keeps anyway
  const sink = new Writable({
    write(b: Buffer, _encoding, done) {
      out += b.toString('utf8');
      if (out.length > 2 * MAX_PROBE_OUTPUT) out = out.slice(-MAX_PROBE_OUTPUT);
      done();
    },
  });
  docker.modem.demuxStream(stream, sink, sink);
  const ended = new Promise<boolean>((resolve) => {
    stream.on('end', () => resolve(true));
    stream.on('error', () => resolve(true));
    setTimeout(() => resolve(false), timeoutMs);
  });
  if (!(await ended)) {
    stream.destroy();
    return {ok: false, output: `${probe.exec.join(' ')}: no answer within ${timeoutMs} ms`};
  }
  const {ExitCode} = await exec.inspect();
  return {ok: ExitCode === 0, output: `${probe.exec.join(' ')} exited ${ExitCode}${out ? `: ${out.trim()}` : ''}`};
}

/** At most `max` bytes of a response body: an agent that answers without end cannot fill orx's memory. */
async function bodyStart(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const {done, value} = (await reader.read()) as {done: false; value: Uint8Array} | {done: true; value?: undefined};
      if (done) break;
      parts.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}

async function logsTail(c: Dockerode.Container): Promise<string> {
  try {
    return demuxLogs(await c.logs({stdout: true, stderr: true, tail: 20})).both;
  } catch {
    return '';
  }
}
