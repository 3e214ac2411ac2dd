import {describe, expect, it} from 'vitest';
import {formatDuration, formatMemory, parseDuration, parseMemory} from '../../src/config/units.js';
import {didYouMean, levenshtein, suggestion} from '../../src/config/suggest.js';
import {formatPath, fromPointer} from '../../src/config/paths.js';
import {parseMount} from '../../src/config/mounts.js';
import {parsePort, portsClash} from '../../src/config/ports.js';
import {scanYaml, YAML_LIMITS} from '../../src/config/yaml-guard.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1m', 60_000],
    ['2h', 7_200_000],
    ['1m30s', 90_000],
    ['1h1m1s1ms', 3_661_001],
    ['0s', 0],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 's', '5 s', '5sec', '-1s', '1.5s', '5S', '1m30', 'x5s'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  it('formats back', () => {
    expect([0, 1, 1500, 5000, 60_000, 3_600_000].map(formatDuration)).toEqual(['0s', '1ms', '1500ms', '5s', '1m', '1h']);
  });
});

describe('memory', () => {
  it('formats back in the largest unit that divides it, as a plan shows it', () => {
    expect(['128m', '2g', '1.5g', '512k', '1000', '0'].map((t) => formatMemory(parseMemory(t)!))).toEqual([
      '128m',
      '2g',
      '1536m',
      '512k',
      '1000b',
      '0b',
    ]);
    expect(parseMemory(formatMemory(1536 * 1024 * 1024))).toBe(1536 * 1024 * 1024);
  });

  it.each([
    ['512m', 512 * 1024 ** 2],
    ['2g', 2 * 1024 ** 3],
    ['2GiB', 2 * 1024 ** 3],
    ['2GB', 2 * 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['100', 100],
    ['100b', 100],
    ['1k', 1024],
    ['1KiB', 1024],
    [4096, 4096],
  ])('%s', (text, bytes) => expect(parseMemory(text)).toBe(bytes));

  it.each(['', '2 g', '2x', 'g', '5ib', '-1m', '1e9'])('rejects %j', (text) => expect(parseMemory(text)).toBeUndefined());

  it('rejects sizes JavaScript cannot hold exactly', () => {
    expect(parseMemory('999999999999999t')).toBeUndefined();
    expect(parseMemory(1.5)).toBeUndefined();
    expect(parseMemory(-1)).toBeUndefined();
  });
});

describe('did you mean', () => {
  it('levenshtein', () => {
    expect(levenshtein('image', 'imgae')).toBe(2);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('abcdef', 'uvwxyz', 2)).toBe(3); // gave up early
  });

  it('suggests close keys, case, camelCase and synonyms; nothing for unrelated words', () => {
    const keys = ['image', 'command', 'env', 'tier', 'resources', 'networks', 'volumes', 'ports', 'health', 'user', 'labels', 'depends_on'];
    expect(didYouMean('imgae', keys)).toBe('image');
    expect(didYouMean('comand', keys)).toBe('command');
    expect(didYouMean('NETWORKS', keys)).toBe('networks');
    expect(didYouMean('dependsOn', keys)).toBe('depends_on');
    expect(didYouMean('depends-on', keys)).toBe('depends_on');
    expect(didYouMean('healthcheck', keys)).toBe('health');
    expect(didYouMean('environment', keys)).toBe('env');
    expect(didYouMean('xyz', keys)).toBeUndefined();
    expect(didYouMean('ab', ['id'])).toBeUndefined();
    expect(didYouMean('x'.repeat(100), keys)).toBeUndefined();
    expect(suggestion('tols', ['tools'])).toBe(' (did you mean "tools"?)');
    expect(suggestion('zzz', ['tools'])).toBe('');
  });
});

describe('paths', () => {
  it('formats paths the way messages show them', () => {
    expect(formatPath([])).toBe('the top level');
    expect(formatPath(['agents', 'researcher', 'ports', 0, 'host'])).toBe('agents.researcher.ports[0].host');
    expect(formatPath(['agents', 'a;b', 'labels', 'com.example/x'])).toBe('agents["a;b"].labels["com.example/x"]');
  });

  it('reads ajv instance paths, telling indexes from numeric keys', () => {
    const data = {agents: {'0': {ports: [{}]}, 'a/b': {}}};
    expect(fromPointer('/agents/0/ports/0', data)).toEqual(['agents', '0', 'ports', 0]);
    expect(fromPointer('/agents/a~1b', data)).toEqual(['agents', 'a/b']);
    expect(fromPointer('', data)).toEqual([]);
  });
});

describe('mounts and ports', () => {
  it('parses named-volume mounts', () => {
    expect(parseMount('data:/data')).toEqual({ok: true, mount: {volume: 'data', path: '/data', read_only: false}});
    expect(parseMount('data:/a//b/:ro')).toEqual({ok: true, mount: {volume: 'data', path: '/a/b', read_only: true}});
    expect(parseMount('/var/run/docker.sock:/sock')).toMatchObject({ok: false, error: expect.stringContaining('docker.sock')});
    expect(parseMount('C:\\Users:/x')).toMatchObject({ok: false});
  });

  it('parses ports and detects clashes', () => {
    expect(parsePort('80:8080/udp')).toEqual({ok: true, port: {container: 8080, host: 80, host_ip: '127.0.0.1', protocol: 'udp'}});
    expect(parsePort('0:80')).toMatchObject({ok: false, error: expect.stringMatching(/out of range/)});
    expect(parsePort({container: 1, host: 2, host_ip: 'localhost'})).toMatchObject({ok: false, error: expect.stringMatching(/not an IP/)});
    const p = (host_ip: string, host = 80, protocol: 'tcp' | 'udp' = 'tcp') => ({container: 1, host, host_ip, protocol});
    expect(portsClash(p('127.0.0.1'), p('127.0.0.1'))).toBe(true);
    expect(portsClash(p('0.0.0.0'), p('127.0.0.1'))).toBe(true);
    expect(portsClash(p('::'), p('127.0.0.1'))).toBe(true);
    expect(portsClash(p('0.0.0.0'), p('::1'))).toBe(false);
    expect(portsClash(p('127.0.0.1'), p('10.0.0.1'))).toBe(false);
    expect(portsClash(p('127.0.0.1'), p('127.0.0.1', 81))).toBe(false);
    expect(portsClash(p('127.0.0.1'), p('127.0.0.1', 80, 'udp'))).toBe(false);
  });
});

describe('YAML pre-scan', () => {
  it('passes ordinary YAML, including block scalars that look like aliases or directives', () => {
    expect(scanYaml('a: |\n  %not a directive\n  *not an alias\nb: "*x"\nc: [1, {d: 2}]\n')).toBeUndefined();
  });

  it('stops at the limits, with the offset of the offending token', () => {
    expect(scanYaml(`x: ${'['.repeat(YAML_LIMITS.flowDepth + 1)}`)).toEqual({
      offset: 3 + YAML_LIMITS.flowDepth,
      message: expect.stringMatching(/too deep/),
    });
    const aliases = `a: &a 1\nb: [${Array(YAML_LIMITS.aliases + 1)
      .fill('*a')
      .join(', ')}]\n`;
    expect(scanYaml(aliases)?.message).toMatch(/too many YAML aliases \(more than 50\)/);
    expect(scanYaml(`a: &a 1\nb: [${Array(YAML_LIMITS.aliases).fill('*a').join(', ')}]\n`)).toBeUndefined();
    expect(scanYaml('%TAG ! tag:x\n---\na: 1\n')).toEqual({offset: 0, message: expect.stringMatching(/directives/)});
  });
});
