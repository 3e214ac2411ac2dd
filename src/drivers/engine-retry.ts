// The engine shares image layers and build cache between all its clients: a build that
// reuses a cached layer while another client removes the image behind it fails with an
// error that names a file that vanished mid-way. Such a failure says nothing about the
// build itself, and the same call a moment later succeeds.
import {engineMessage, statusCode} from './docker.js';

/** The engine's words for races with another client (moby's classic builder and image store). */
const TRANSIENT: RegExp[] = [
  // the build cache pointed at an image config another client just removed
  /failed to get digest sha256:[0-9a-f]+: open .*: no such file or directory/i,
  /failed to register layer: .*no such file or directory/i,
  /layer does not exist/i,
  // two pulls of one image at once
  /cannot overwrite digest sha256:/i,
  // a forced removal of the same container is still running
  /removal of container \S+ is already in progress/i,
  // runc lost the container's init process between create and start on a loaded host
  /cannot start a stopped process/i,
];

// A cached intermediate image removed between the builder's cache lookup and its use. Only
// in a build's progress stream: the same words in answer to a request mean the image is gone.
const TRANSIENT_IN_BUILD = /no such image: sha256:[0-9a-f]+/i;

export function isTransientEngineError(err: unknown): boolean {
  const message = engineMessage(err);
  const code = statusCode(err);
  if (code === undefined && TRANSIENT_IN_BUILD.test(message)) return true;
  // a refused request (4xx but 404/409) is about the request, never a race
  if (code !== undefined && code >= 400 && code < 500 && code !== 404 && code !== 409) return false;
  return TRANSIENT.some((re) => re.test(message));
}

export interface RetryOptions {
  /** how many tries in all (default 4) */
  attempts?: number;
  /** the wait before the n-th retry is base * 2^(n-1) ms (default 250) */
  baseDelayMs?: number;
  signal?: AbortSignal;
  /** told of each retry, with the error that caused it */
  onRetry?: (attempt: number, err: unknown) => void;
}

/**
 * Runs `call` again, after a short growing pause, while it fails with a transient engine
 * error; any other failure, an abort or the last attempt's failure is thrown as it is.
 */
export async function retryTransient<T>(call: () => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const attempts = o.attempts ?? 4;
  const base = o.baseDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || o.signal?.aborted || !isTransientEngineError(err)) throw err;
      o.onRetry?.(attempt, err);
      await pause(base * 2 ** (attempt - 1), o.signal);
      if (o.signal?.aborted) throw err;
    }
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, {once: true});
  });
}
