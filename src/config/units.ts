// Durations and memory sizes as people write them in orchestration.yml.

const DURATION_PART = /([0-9]{1,9})(ms|s|m|h)/gy;
const DURATION_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000};

/** "1m30s" -> 90000. Undefined when the text is not a duration (the schema reports that). */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > 64) return undefined;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = DURATION_PART.exec(text); m !== null; m = DURATION_PART.exec(text)) {
    total += Number(m[1]) * DURATION_MS[m[2]];
    end = DURATION_PART.lastIndex;
  }
  return end === text.length ? total : undefined;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const MEMORY = /^([0-9]{1,15})(?:\.([0-9]{1,6}))?([kmgt]?)(i?b)?$/;
const MEMORY_POWER: Record<string, number> = {'': 0, k: 1, m: 2, g: 3, t: 4};

/**
 * "2GiB", "512m", "2g", "1.5G", 1073741824 -> bytes. Like Docker, every unit is binary
 * (1g = 1024^3), so "2GB" and "2GiB" agree with what `docker run -m` would do.
 * Undefined when not a size or not a whole number of bytes within JS's safe range.
 */
export function parseMemory(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = MEMORY.exec(value.toLowerCase());
  if (m === null) return undefined;
  const [, whole, frac = '', unit = '', suffix] = m;
  // "b" alone is bytes; "ib" needs a unit letter ("kib"), so "5ib" is not a size.
  if (unit === '' && suffix !== undefined && suffix !== 'b') return undefined;
  const mult = 1024 ** MEMORY_POWER[unit];
  const bytes = Math.round(Number(`${whole}.${frac || '0'}`) * mult);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** 134217728 -> "128m": bytes in the largest unit that divides them, as `docker run -m` takes them. */
export function formatMemory(bytes: number): string {
  for (const [unit, power] of [
    ['t', 4],
    ['g', 3],
    ['m', 2],
    ['k', 1],
  ] as const)
    if (bytes > 0 && bytes % 1024 ** power === 0) return `${bytes / 1024 ** power}${unit}`;
  return `${bytes}b`;
}

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
