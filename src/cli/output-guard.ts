const output = {closed: false, listeners: new Set<() => void>()};
const guardedStreams = new WeakSet<NodeJS.WriteStream>();

/** Calls `fn` once stdout or stderr is found closed (its reader went away), at once if it already is. */
export function onOutputClosed(fn: () => void): () => void {
  if (output.closed) fn();
  else output.listeners.add(fn);
  return () => output.listeners.delete(fn);
}

/**
 * A write to a pipe nobody reads any more (`orx apply | head -1`) fails with EPIPE as an
 * 'error' event, which would end the process mid-apply with its run "running" and its lock
 * held. The first such error is told to the command (an apply stops between steps as for
 * Ctrl-C); the stream then writes nowhere, and later errors are swallowed.
 */
export function guardOutput(stream: NodeJS.WriteStream): void {
  if (guardedStreams.has(stream)) return;
  guardedStreams.add(stream);
  stream.on('error', () => {
    stream.write = (_chunk: unknown, enc?: unknown, cb?: unknown) => {
      const done = typeof enc === 'function' ? enc : cb;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    };
    if (output.closed) return;
    output.closed = true;
    for (const fn of [...output.listeners]) fn();
    output.listeners.clear();
  });
}
