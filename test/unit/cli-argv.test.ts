import {describe, expect, it} from 'vitest';
import {normalizeArgv} from '../../src/cli-argv.js';
import {closest, editDistance} from '../../src/cli/suggest.js';
import {completeWords, type CompletionCommand} from '../../src/cli/complete-words.js';
import {parseDuration} from '../../src/cli/duration.js';
import {unknownCommandError} from '../../src/cli/unknown-input.js';

describe('global options before the command', () => {
  it('moves -C/-chdir/--chdir and the other global options after the command and its arguments', () => {
    expect(normalizeArgv(['-C', 'd', 'plan'])).toEqual(['plan', '-C', 'd']);
    expect(normalizeArgv(['-chdir=d', 'plan', '-out=p.json'])).toEqual(['plan', '--out=p.json', '--chdir=d']);
    expect(normalizeArgv(['--chdir', 'd', 'state', 'show', 'agent.a'])).toEqual(['state', 'show', 'agent.a', '--chdir', 'd']);
    expect(normalizeArgv(['-no-color', '-input=false', '-lock-timeout=30s', 'apply'])).toEqual([
      'apply',
      '--no-color',
      '--no-input',
      '--lock-timeout=30s',
    ]);
    expect(normalizeArgv(['--json', '-C', 'd', 'state', 'rm', '--', '-weird'])).toEqual([
      'state',
      'rm',
      '--json',
      '-C',
      'd',
      '--',
      '-weird',
    ]);
  });

  it('leaves what it does not know where it is', () => {
    expect(normalizeArgv(['-C', 'd'])).toEqual(['-C', 'd']);
    expect(normalizeArgv(['-C', 'd', '-h'])).toEqual(['-C', 'd', '-h']);
    expect(normalizeArgv(['plan', '-C', 'd'])).toEqual(['plan', '-C', 'd']);
    expect(normalizeArgv(['--version'])).toEqual(['--version']);
  });

  it('orx help WORDS is WORDS --help', () => {
    expect(normalizeArgv(['help'])).toEqual(['--help']);
    expect(normalizeArgv(['help', 'state', 'show'])).toEqual(['state', 'show', '--help']);
    expect(normalizeArgv(['-C', 'd', 'help', 'plan'])).toEqual(['plan', '-C', 'd', '--help']);
  });
});

describe('did you mean', () => {
  it('counts a swap of neighbours as one edit and suggests only what is close', () => {
    expect(editDistance('paln', 'plan')).toBe(1);
    expect(closest('plna', ['plan', 'policy', 'apply'])).toBe('plan');
    expect(closest('--targt', ['--target', '--replace'])).toBe('--target');
    expect(closest('frobnicate', ['list', 'rm', 'show'])).toBeUndefined();
    expect(closest('sh', ['list', 'rm', 'show'])).toBe('show');
  });

  it('names the unknown command without its arguments', () => {
    const e = unknownCommandError(['state', 'frobnicate', 'a', 'b'], {ids: ['state:show', 'state:rm', 'plan'], topics: ['state']});
    expect(e.exit).toBe(1);
    expect(e.message).toContain('`orx state frobnicate`');
    expect(e.message).not.toContain('frobnicate a');
    expect(unknownCommandError(['state', 'shwo'], {ids: ['state:show'], topics: ['state']}).data.suggestion).toBe('state show');
  });
});

describe('durations', () => {
  it('reads 30s, 2m, 1m30s, 500ms and bare seconds', () => {
    expect(parseDuration('30s', 'x')).toBe(30_000);
    expect(parseDuration('2m', 'x')).toBe(120_000);
    expect(parseDuration('1m30s', 'x')).toBe(90_000);
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(parseDuration('5', 'x')).toBe(5000);
    expect(() => parseDuration('soon', '--lock-timeout')).toThrow(/not a duration/);
    expect(() => parseDuration('5s later', '--lock-timeout')).toThrow(/not a duration/);
  });
});

describe('completion words', () => {
  const commands: CompletionCommand[] = [
    {id: 'plan', flags: {target: {type: 'option'}, refresh: {type: 'boolean', allowNo: true}, chdir: {type: 'option', char: 'C'}}},
    {id: 'policy:test', flags: {}},
    {id: 'state:show', flags: {}},
    {id: 'state:list', flags: {}},
    {id: '__complete', hidden: true, flags: {}},
  ];
  it('completes commands, subcommands and flags, and knows where an address goes', () => {
    expect(completeWords(['pl'], commands).candidates).toEqual(['plan']);
    expect(completeWords([''], commands).candidates).toEqual(['plan', 'policy', 'state']);
    expect(completeWords(['state', ''], commands).candidates).toEqual(['list', 'show']);
    expect(completeWords(['plan', '--re'], commands).candidates).toEqual(['--refresh']);
    expect(completeWords(['plan', '--no-'], commands).candidates).toEqual(['--no-refresh']);
    expect(completeWords(['plan', '--target', 'ag'], commands).wantsAddress).toBe(true);
    expect(completeWords(['-C', 'ws', 'state', 'show', ''], commands)).toMatchObject({wantsAddress: true, chdir: 'ws'});
    expect(completeWords(['state', 'list', ''], commands).wantsAddress).toBe(false);
  });
});
