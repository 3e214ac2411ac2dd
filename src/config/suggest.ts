// "Did you mean" for unknown keys, enum values and cross-references.

/** Edit distance, giving up early once it exceeds `max` (callers only care about near misses). */
export function levenshtein(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

// Words people bring from docker compose / Kubernetes that are too far from ours for edit distance.
const SYNONYMS: Record<string, string[]> = {
  healthcheck: ['health'],
  environment: ['env'],
  depends: ['depends_on'],
  dependencies: ['depends_on'],
  mounts: ['volumes'],
  network: ['networks'],
  volume: ['volumes'],
  port: ['ports'],
  label: ['labels'],
  entrypoint: ['command'],
  cmd: ['command'],
  args: ['command'],
  limits: ['resources'],
  cpu: ['cpus', 'resources'],
  cpus: ['resources'],
  mem: ['memory', 'resources'],
  memory: ['resources'],
  mem_limit: ['memory', 'resources'],
  pids: ['resources'],
  pids_limit: ['pids', 'resources'],
  image: ['ref'],
};

function snakeCase(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/**
 * The closest candidate to `input`, or undefined when nothing is close enough.
 * Short words allow fewer edits so that "ab" does not "mean" "id".
 */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  if (list.length === 0 || input.length === 0 || input.length > 64) return undefined;
  const lower = input.toLowerCase();
  for (const c of list) if (c.toLowerCase() === lower) return c;
  const snake = snakeCase(input);
  if (list.includes(snake)) return snake;
  const syn = SYNONYMS[lower]?.find((c) => list.includes(c));
  if (syn !== undefined) return syn;
  // Edit distance is quadratic per pair; a hostile file can make thousands of near-identical
  // 63-character names, so past a work budget we only offer the cheap matches above.
  let work = 0;
  for (const c of list) work += c.length * input.length;
  if (work > 200_000) return undefined;
  const max = input.length <= 3 ? 1 : input.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestD = max + 1;
  for (const c of list) {
    const d = levenshtein(lower, c.toLowerCase(), max);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= max ? best : undefined;
}

/** ` (did you mean "x"?)` or the empty string. */
export function suggestion(input: string, candidates: Iterable<string>): string {
  const s = didYouMean(input, candidates);
  return s === undefined ? '' : ` (did you mean "${s}"?)`;
}
