// Durations as Terraform writes them on the command line (`-lock-timeout=30s`, `2m`, `1m30s`).
import {OrxError} from '../errors.js';

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000};

/** Milliseconds of `30s`, `2m`, `1m30s`, `500ms` or a bare number of seconds; a usage error otherwise. */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    throw new OrxError({
      code: 'usage',
      message: `${flag}: "${text}" is not a duration`,
      actions: [`Write it like 30s, 2m or 1m30s, e.g. ${flag}=30s.`],
    });
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]], 0));
}
