// egress: and talks_to: as a pull request could write them: every entry checked to one meaning.
import {afterAll, describe, expect, it} from 'vitest';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parseConfig} from '../../src/config/load.js';
import {parseEgressEntry} from '../../src/config/egress.js';
import {OrxError} from '../../src/errors.js';
import {blockCount, parseCidr, subnetAt} from '../../src/util/cidr.js';

const WS = mkdtempSync(join(tmpdir(), 'orx-egress-config-'));
afterAll(() => rmSync(WS, {recursive: true, force: true}));

function load(agents: string, extra = ''): ReturnType<typeof parseConfig> {
  return parseConfig(
    `workspace: lab\nimages:\n  base: {ref: alpine}\nnetworks:\n  zone: {}\n  out: {internal: false}\n${extra}agents:\n${agents}`,
    WS,
  );
}

function problems(agents: string, extra = ''): string {
  try {
    load(agents, extra);
  } catch (err) {
    if (err instanceof OrxError) return err.message;
    throw err;
  }
  throw new Error('no problem reported');
}

describe('egress entries', () => {
  it('reads hosts, one-label wildcards, default port 443 and reasoned private CIDRs', () => {
    const cfg = load(
      '  a:\n    image: base\n    egress: [API.Anthropic.com:443, "*.githubusercontent.com:443", pypi.org, {host: x.example.test, port: 8080}, {cidr: 10.1.2.7/24, port: 5432, reason: db}]\n',
    );
    expect(cfg.agents.a.egress).toEqual({
      mode: 'list',
      rules: [
        {host: 'api.anthropic.com', port: 443},
        {host: '*.githubusercontent.com', port: 443},
        {host: 'pypi.org', port: 443},
        {host: 'x.example.test', port: 8080},
        {cidr: '10.1.2.0/24', port: 5432, reason: 'db'},
      ],
    });
  });

  it('defaults to none, and knows any', () => {
    const cfg = load('  a: {image: base}\n  b: {image: base, egress: any}\n');
    expect(cfg.agents.a.egress).toEqual({mode: 'none'});
    expect(cfg.agents.b.egress).toEqual({mode: 'any'});
    expect(cfg.agents.a.talks_to).toEqual([]);
  });

  it.each([
    ['1.2.3.4', 'is an address'],
    ['0x7f000001', 'is an address'],
    ['2130706433:80', 'is an address'],
    ['metadata', 'is a local name'],
    ['[::1]:80', 'is an address'],
    ['*.com', 'whole top-level domain'],
    ['a.*.example.com', 'not a host name'],
    ['**.example.com', 'not a host name'],
    ['example.com:0', 'not from 1 to 65535'],
    ['example.com:99999', 'not from 1 to 65535'],
    ['exa mple.com', 'not a host name'],
    ['example.com/path', 'not a host name'],
    ['-bad.example.com', 'not a host name'],
  ])('refuses %s', (entry, why) => {
    const r = parseEgressEntry(entry);
    expect('error' in r && r.error).toContain(why);
  });

  it('a CIDR needs a reason, dotted decimal and IPv4', () => {
    expect(parseEgressEntry({cidr: '10.0.0.0/8', port: 1})).toEqual({error: 'a private CIDR needs a reason (reason: "...")'});
    expect('error' in parseEgressEntry({cidr: '010.0.0.0/8', port: 1, reason: 'x'})).toBe(true);
    expect('error' in parseEgressEntry({cidr: 'fc00::/7', port: 1, reason: 'x'})).toBe(true);
  });

  it('points at the bad entry with its line', () => {
    const msg = problems('  a:\n    image: base\n    egress: [ok.example.com, 169.254.169.254:80]\n');
    expect(msg).toMatch(/orchestration\.yml:\d+:\d+.*agents\.a\.egress\[1\].*is an address/s);
  });

  it('refuses an allowlist on a network with a route out: it would go around the gateway', () => {
    const msg = problems('  a:\n    image: base\n    networks: [out]\n    egress: [api.example.com]\n');
    expect(msg).toContain('joins network "out", which has a route out');
    // an internal zone is fine
    expect(load('  a:\n    image: base\n    networks: [zone]\n    egress: [api.example.com]\n').agents.a.networks).toEqual(['zone']);
  });

  it('talks_to names agents that exist, not itself', () => {
    expect(problems('  a: {image: base, talks_to: [nobody]}\n')).toContain('unknown agent "nobody"');
    expect(problems('  a: {image: base, talks_to: [a]}\n')).toContain('does not need talks_to for itself');
    expect(load('  a: {image: base, talks_to: [b]}\n  b: {image: base}\n').agents.a.talks_to).toEqual(['b']);
  });

  it('egress_gateway: defaults, and an uplink may not be a network of this workspace', () => {
    expect(load('  a: {image: base}\n').egress_gateway).toEqual({
      image: 'ubuntu/squid:5.2-22.04_beta',
      uplinks: [],
      link_pool: '10.213.0.0/16',
    });
    expect(problems('  a: {image: base}\n', 'egress_gateway: {uplinks: [zone]}\n')).toContain('is a network of this workspace');
    expect(problems('  a: {image: base}\n', 'egress_gateway: {link_pool: 10.0.0.0/30}\n')).toContain('/26 or larger');
  });
});

describe('cidr arithmetic', () => {
  it('carves /29 blocks from a pool', () => {
    const pool = parseCidr('10.213.0.0/16')!;
    expect(blockCount(pool, 29)).toBe(8192);
    expect(subnetAt(pool, 29, 0)!.text).toBe('10.213.0.0/29');
    expect(subnetAt(pool, 29, 33)!.text).toBe('10.213.1.8/29');
    expect(subnetAt(pool, 29, 8192)).toBeNull();
    expect(parseCidr('255.255.255.255/32')!.text).toBe('255.255.255.255/32');
    expect(parseCidr('10.1.2.3/33')).toBeNull();
  });
});
