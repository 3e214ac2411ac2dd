import {describe, expect, it} from 'vitest';
import {wrapText} from '../../src/ui/wrap.js';

describe('wrapText: lines printed above the review screen', () => {
  it('breaks at spaces before the width and indents the continuation', () => {
    const line = '  Readiness: not enough history (agent: 0 runs, image: 0 runs; an estimate needs 20 outcomes)';
    const out = wrapText(line, 40).split('\n');
    for (const l of out) expect(l.length).toBeLessThan(40);
    expect(out.length).toBeGreaterThan(2);
    expect(out.slice(1).every((l) => l.startsWith('    '))).toBe(true);
    expect(out.map((l) => l.trim()).join(' ')).toBe(line.trim());
  });

  it('counts visible columns only, so colour codes do not break a line early', () => {
    const coloured = `\u001b[33m${'word '.repeat(7).trim()}\u001b[39m`;
    expect(wrapText(coloured, 40)).toBe(coloured);
  });

  it('leaves short lines, blank lines and a single over-long word as they are', () => {
    const long = 'x'.repeat(60);
    expect(wrapText(`a\n\n${long}\nb`, 40)).toBe(`a\n\n${long}\nb`);
  });
});
