/**
 * The CPU time this process spent running `fn`, in ms. Bounds on it catch runaway work
 * (a blow-up, a read of gigabytes) like wall-clock bounds do, without failing when other
 * processes on a loaded machine delay this one.
 */
export function cpuMs<T>(fn: () => T): {value: T; ms: number} {
  const before = process.cpuUsage();
  const value = fn();
  const used = process.cpuUsage(before);
  return {value, ms: (used.user + used.system) / 1000};
}
