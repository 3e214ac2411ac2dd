// What a command wrote to this process's stdout and stderr, captured for the duration of fn
// (the command layer writes to the real streams; these tests read what it wrote there).
export interface Captured<T> {
  value: T;
  stdout: string;
  stderr: string;
  exitCode: number | string | null | undefined;
}

export async function captureOutput<T>(fn: () => Promise<T>, o: {stderr?: boolean} = {}): Promise<Captured<T>> {
  const out = {stdout: '', stderr: ''};
  const writes = {stdout: process.stdout.write, stderr: process.stderr.write};
  const sink = (which: 'stdout' | 'stderr') =>
    ((chunk: unknown, enc?: unknown, cb?: unknown) => {
      out[which] += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      const done = typeof enc === 'function' ? enc : cb;
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    }) as typeof process.stdout.write;
  const exitBefore = process.exitCode;
  process.stdout.write = sink('stdout');
  if (o.stderr !== false) process.stderr.write = sink('stderr');
  try {
    const value = await fn();
    return {value, ...out, exitCode: process.exitCode};
  } finally {
    process.stdout.write = writes.stdout;
    if (o.stderr !== false) process.stderr.write = writes.stderr;
    process.exitCode = exitBefore;
  }
}
