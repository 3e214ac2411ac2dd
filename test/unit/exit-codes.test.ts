import {describe, expect, it} from 'vitest';
import {EXIT, EXIT_TABLE, exitCodeHelp} from '../../src/exit-codes.js';
import {OrxError, preview, toOrxError} from '../../src/errors.js';
import {normalizeArgv} from '../../src/cli-argv.js';

describe('exit codes', () => {
  it('has the documented numbers, once each', () => {
    expect(EXIT).toEqual({OK: 0, ERROR: 1, CHANGES: 2, APPROVAL: 3, LOCKED: 4, STALE: 5, PARTIAL: 6, INTERRUPTED: 130});
    expect(new Set(EXIT_TABLE.map((e) => e.code)).size).toBe(EXIT_TABLE.length);
    expect(EXIT_TABLE.map((e) => e.code).sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });

  it('generates help text from the table', () => {
    const help = exitCodeHelp();
    for (const e of EXIT_TABLE) expect(help).toContain(`${e.code}  ${e.meaning}`);
  });
});

describe('errors', () => {
  it('keeps one JSON shape', () => {
    const e = new OrxError({code: 'locked', exit: EXIT.LOCKED, message: 'm', actions: ['a'], data: {x: 1}});
    expect(e.toJSON()).toEqual({status: 4, code: 'locked', message: 'm', actions: ['a'], diagnostics: [], data: {x: 1}});
  });

  it('turns unknown throwables into bugs', () => {
    const e = toOrxError(new TypeError('boom'));
    expect(e.kind).toBe('bug');
    expect(e.exit).toBe(1);
  });

  it('previews hostile values short and without control characters', () => {
    const p = preview('x'.repeat(10_000_000));
    expect(p.length).toBeLessThan(100);
    expect(preview('a\u001b[31mb')).toBe('a?[31mb');
  });
});

describe('normalizeArgv', () => {
  it('accepts terraform-style single-dash long flags and =false booleans', () => {
    expect(normalizeArgv(['plan', '-out=p.json', '-target', 'agent.a', '--refresh=false', '-C', 'dir'])).toEqual([
      'plan',
      '--out=p.json',
      '--target',
      'agent.a',
      '--no-refresh',
      '-C',
      'dir',
    ]);
    expect(normalizeArgv(['apply', '-auto-approve', '--json=true', '--debug=false'])).toEqual(['apply', '--auto-approve', '--json']);
    expect(normalizeArgv(['state', 'rm', '--', '-weird'])).toEqual(['state', 'rm', '--', '-weird']);
  });
});
