// Lines printed straight to a terminal, broken at spaces before its last column: a terminal
// wraps a full line on its own, mid-word, and a screen drawn below it then miscounts its rows.
import {stripVTControlCharacters} from 'node:util';

const visible = (s: string): number => stripVTControlCharacters(s).length;

/** One line as several, each shorter than `width`; continuations indented 2 more than the line. */
function wrapLine(line: string, width: number): string[] {
  if (visible(line) < width) return [line];
  const indent = ' '.repeat((/^ */.exec(stripVTControlCharacters(line))?.[0].length ?? 0) + 2);
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(' ')) {
    const next = cur === '' ? word : `${cur} ${word}`;
    if (visible(next) < width || cur.trim() === '') cur = next;
    else {
      out.push(cur);
      cur = indent + word;
    }
  }
  out.push(cur);
  return out;
}

/** `text` with every line shorter than `width` columns (words longer than a line are left whole). */
export function wrapText(text: string, width: number): string {
  if (!Number.isFinite(width) || width < 20) return text;
  return text
    .split('\n')
    .flatMap((l) => wrapLine(l, width))
    .join('\n');
}
