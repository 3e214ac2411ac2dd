// "1 volume", "2 volumes": counts in sentences read as English.

/** `n` and the noun, plural unless n is 1 (`plural` for irregular nouns). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
