import {describe, expect, it} from 'vitest';
import {isTransientEngineError, retryTransient} from '../../src/drivers/engine-retry.js';

// what dockerode rejects with for an engine error response, and what a build's progress stream fails with
const httpError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), {statusCode, json: {message}});
const RACE =
  'failed to get digest sha256:3f1a9c0d2e7b4a6f8c5d9e0b1a2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e: open /var/lib/docker/image/overlay2/imagedb/content/sha256/3f1a9c0d2e7b4a6f8c5d9e0b1a2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e: no such file or directory';

describe('transient engine errors', () => {
  it('knows the races of the image store and build cache, and nothing else', () => {
    expect(isTransientEngineError(new Error(RACE))).toBe(true);
    expect(isTransientEngineError(httpError(500, RACE))).toBe(true);
    expect(isTransientEngineError(new Error('No such image: sha256:0123abcd'))).toBe(true);
    expect(isTransientEngineError(httpError(404, 'No such image: sha256:0123abcd'))).toBe(false);
    expect(isTransientEngineError(httpError(409, 'removal of container 3f1a9c0d2e7b is already in progress'))).toBe(true);
    expect(isTransientEngineError(httpError(500, 'cannot start a stopped process: unknown'))).toBe(true);
    expect(isTransientEngineError(new Error("The command '/bin/sh -c exit 3' returned a non-zero code: 3"))).toBe(false);
    expect(isTransientEngineError(httpError(404, 'No such image: orx-test:1'))).toBe(false);
    expect(isTransientEngineError(httpError(400, RACE))).toBe(false);
    expect(isTransientEngineError('a string')).toBe(false);
  });

  it('retries a transient failure with a growing pause, then returns the result', async () => {
    const seen: number[] = [];
    let calls = 0;
    const t0 = Date.now();
    const out = await retryTransient(
      async () => {
        if (++calls < 3) throw new Error(RACE);
        return 'built';
      },
      {baseDelayMs: 20, onRetry: (n) => seen.push(n)},
    );
    expect(out).toBe('built');
    expect(calls).toBe(3);
    expect(seen).toEqual([1, 2]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55); // 20 + 40
  });

  it('throws a real failure at once, and the last transient one after the attempts run out', async () => {
    let calls = 0;
    await expect(
      retryTransient(async () => Promise.reject(new Error(`step ${++calls}: returned a non-zero code: 1`)), {baseDelayMs: 1}),
    ).rejects.toThrow('step 1:');
    calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls++;
          throw new Error(RACE);
        },
        {attempts: 3, baseDelayMs: 1},
      ),
    ).rejects.toThrow('failed to get digest');
    expect(calls).toBe(3);
  });

  it('stops retrying once aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = retryTransient(
      async () => {
        calls++;
        throw new Error(RACE);
      },
      {baseDelayMs: 60_000, signal: controller.signal},
    );
    setTimeout(() => controller.abort(), 10);
    await expect(run).rejects.toThrow('failed to get digest');
    expect(calls).toBe(1);
  });
});
