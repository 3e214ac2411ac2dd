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
  // the streams' own write (or the one a command layer already wrapped it in), put back as it was
  const writes = {
    stdout: Object.getOwnPropertyDescriptor(process.stdout, 'write'),
    stderr: Object.getOwnPropertyDescriptor(process.stderr, 'write'),
  };
  const restore = (which: 'stdout' | 'stderr'): void => {
    const d = writes[which];
    if (d) Object.defineProperty(process[which], 'write', d);
    else delete (process[which] as unknown as Record<string, unknown>).write;
  };
  const sink = (which: 'stdout' | 'stderr') =>
    ((chunk: unknown, enc?: unknown, cb?: unknown) => {
      out[which] += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      const done = typeof enc === 'function' ? enc : cb;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    }) as typeof process.stdout.write;
  const exitBefore = process.exitCode;
  process.stdout.write = sink('stdout');
  if (o.stderr !== false) process.stderr.write = sink('stderr');
  try {
    const value = await fn();
    return {value, ...out, exitCode: process.exitCode};
  } finally {
    restore('stdout');
    if (o.stderr !== false) restore('stderr');
    process.exitCode = exitBefore;
  }
}
