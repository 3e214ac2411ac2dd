// Kubernetes resource quantities (cpu "500m", memory "2Gi") from orx's numbers (CPUs as a
// float, memory in bytes), written the way kubectl would print them back so that a diff
// against the cluster's copy shows no change.

const KiB = 1024;
export const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Millicores: Kubernetes cannot express less than 1m, so a smaller positive limit becomes 1m. */
export function cpuMillis(cpus: number): number {
  if (!Number.isFinite(cpus) || cpus <= 0) throw new RangeError(`cpus must be a positive number (got ${cpus})`);
  return Math.max(1, Math.round(cpus * 1000));
}

/** 1000 -> "1", 500 -> "500m", 4000 -> "4", 1500 -> "1500m". */
export function formatCpuMillis(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Bytes exactly, in the largest binary unit that divides them: "2Gi", "1536Mi", "12Ki", "1000". */
export function formatBytes(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RangeError(`memory must be a positive whole number of bytes (got ${bytes})`);
  if (bytes % GiB === 0) return `${bytes / GiB}Gi`;
  if (bytes % MiB === 0) return `${bytes / MiB}Mi`;
  if (bytes % KiB === 0) return `${bytes / KiB}Ki`;
  return String(bytes);
}
