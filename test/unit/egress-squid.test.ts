// The gateway's squid.conf and its access log, without squid: rule order is the security
// property (first match wins), so it is checked line against line.
import {describe, expect, it} from 'vitest';
import {renderSquidConfig, GUARDED} from '../../src/egress/squid-config.js';
import {parseAccessLine} from '../../src/egress/access-log.js';
import {assignLinks, linkLayout} from '../../src/egress/links.js';
import {validateGatewayAttrs, type GatewayAttrs} from '../../src/egress/attrs.js';
import {sortableTimestamp} from '../../src/egress/ingest.js';
import {OrxError} from '../../src/errors.js';

const name = (a: string) => `orx-lab.link-${a}`;

function gateway(): GatewayAttrs {
  const links = assignLinks(['planner', 'researcher'], '10.213.0.0/16', {}, name);
  if ('error' in links) throw new Error(links.error);
  return {
    name: 'orx-lab.egress',
    workspace: 'lab',
    image: 'squid',
    uplinks: ['orx-lab.egress-uplink'],
    uplink_managed: true,
    link_pool: '10.213.0.0/16',
    agents: {
      researcher: {
        link: links.links.researcher,
        allow: [
          {host: 'api.anthropic.com', port: 443},
          {host: '*.githubusercontent.com', port: 443},
          {cidr: '10.1.2.0/24', port: 5432, reason: 'db'},
        ],
        any: false,
        talks_to: ['planner'],
      },
      planner: {link: links.links.planner, allow: [], any: true, talks_to: []},
    },
    running: true,
    config_digest: '',
  };
}

describe('squid.conf', () => {
  const conf = renderSquidConfig(gateway());
  const rules = conf.split('\n').filter((l) => l.startsWith('http_access'));
  const at = (needle: string) => rules.findIndex((r) => r.includes(needle));

  it('names each agent by the gateway address on its own link', () => {
    expect(conf).toContain('acl from_0 localip 10.213.0.2  # planner');
    expect(conf).toContain('acl from_1 localip 10.213.0.10  # researcher');
    expect(conf).toContain('acl to_0 dst 10.213.0.4/30  # planner');
  });

  it('orders the rules so that the guard and the pool come before any allow but talks_to and allowed ranges', () => {
    expect(at('deny !orx_agents')).toBe(1);
    expect(at('allow from_1 to_0 why_talks_to')).toBeLessThan(at('deny orx_pool'));
    expect(at('deny orx_pool')).toBeLessThan(at('why_cidr'));
    expect(at('why_cidr')).toBeLessThan(at('deny orx_guard'));
    expect(at('deny orx_guard')).toBeLessThan(at('allow from_0 why_any'));
    expect(at('allow from_0 why_any')).toBeLessThan(at('why_listed'));
    expect(rules.at(-1)).toBe('http_access deny all why_not_listed');
    // nothing lets planner reach researcher: talks_to is one way
    expect(rules.filter((r) => r.includes('from_0') && r.includes('to_1'))).toEqual([]);
  });

  it('matches hosts exactly, wildcards one label deep, each on its own port', () => {
    expect(conf).toContain('acl host_1_443 dstdomain -n api.anthropic.com');
    expect(conf).toContain('acl wild_1_443 dstdom_regex -n -i ^[^.]+\\.githubusercontent\\.com$');
    expect(conf).toContain('http_access allow from_1 port_443 host_1_443 why_listed');
    expect(conf).toContain('acl cidr_1_0 dst 10.1.2.0/24');
    expect(conf).toContain('http_access allow from_1 cidr_1_0 port_5432 why_cidr');
  });

  it('guards every range the issue names, and the link pool', () => {
    for (const r of [
      '127.0.0.0/8',
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '169.254.0.0/16',
      '100.64.0.0/10',
      '224.0.0.0/4',
      '0.0.0.0/8',
      'fc00::/7',
      'fe80::/10',
      '::1/128',
    ])
      expect(GUARDED).toContain(r);
    expect(conf).toContain('acl orx_pool dst 10.213.0.0/16');
  });

  it('with no agents refuses everyone', () => {
    const none = renderSquidConfig({...gateway(), agents: {}});
    expect(none.split('\n').filter((l) => l.startsWith('http_access'))).toEqual([
      'http_access deny manager why_unknown',
      'http_access deny all why_unknown',
      'http_access deny orx_pool why_link_pool',
      'http_access deny orx_guard why_guard',
      'http_access deny all why_not_listed',
    ]);
  });
});

describe('gateway attributes from a plan file', () => {
  it('refuse a host or CIDR the configuration could not hold, so nothing reaches squid.conf unchecked', () => {
    const g = gateway();
    const bad = (allow: unknown) => validateGatewayAttrs({...g, agents: {researcher: {...g.agents.researcher, allow: [allow]}}});
    expect(() => bad({host: 'x.com\nhttp_access allow all', port: 80})).toThrow(OrxError);
    expect(() => bad({host: 'a.com b.com', port: 80})).toThrow(OrxError);
    expect(() => bad({cidr: '0.0.0.0/0 all', port: 80, reason: 'x'})).toThrow(OrxError);
    expect(() => validateGatewayAttrs({...g, link_pool: '10.0.0.0/8\nhttp_access allow all'})).toThrow(OrxError);
    expect(() => validateGatewayAttrs({...g, agents: {'x y': g.agents.researcher}})).toThrow(OrxError);
    expect(validateGatewayAttrs(g).agents.researcher.allow).toHaveLength(3);
  });
});

describe('links', () => {
  it('keeps recorded blocks and fills the lowest free ones', () => {
    const r = assignLinks(['a', 'b', 'c'], '10.213.0.0/16', {b: linkLayout('orx-lab.link-b', 0x0ad50000)}, name);
    if ('error' in r) throw new Error(r.error);
    expect(r.links.b.subnet).toBe('10.213.0.0/29');
    expect(r.links.a.subnet).toBe('10.213.0.8/29');
    expect(r.links.c.subnet).toBe('10.213.0.16/29');
    expect(r.links.a).toMatchObject({gateway_ip: '10.213.0.10', agent_range: '10.213.0.12/30'});
  });

  it("steps over networks that exist already, another workspace's links among them", () => {
    const r = assignLinks(['a', 'b'], '10.213.0.0/16', {}, name, ['10.213.0.0/29', '10.213.0.8/30', '172.17.0.0/16']);
    if ('error' in r) throw new Error(r.error);
    expect(r.links.a.subnet).toBe('10.213.0.16/29');
    expect(r.links.b.subnet).toBe('10.213.0.24/29');
    // a recorded link stays where it is
    const kept = assignLinks(['a'], '10.213.0.0/16', {a: linkLayout('orx-lab.link-a', 0x0ad50000)}, name, ['10.213.0.0/29']);
    expect('links' in kept && kept.links.a.subnet).toBe('10.213.0.0/29');
  });

  it('says what to do when the pool is full', () => {
    const r = assignLinks(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], '10.213.0.0/26', {}, name);
    expect('error' in r && r.error).toContain('has room for 8 agents');
  });
});

describe('access log', () => {
  it('reads a line, the agent-controlled host last', () => {
    expect(parseAccessLine('1796402941.753 10.213.0.10 10.213.0.12 80 403 TCP_DENIED 56 3451 - guard GET 169.254.169.254')).toEqual({
      at: '2026-12-04T16:49:01.753Z',
      via: '10.213.0.10',
      client: '10.213.0.12',
      host: '169.254.169.254',
      port: 80,
      method: 'GET',
      status: 403,
      allowed: false,
      why: 'guard',
      bytes_out: 56,
      bytes_in: 3451,
      server: null,
    });
    expect(
      parseAccessLine('1796402943.892 10.213.0.10 10.213.0.12 443 200 TCP_TUNNEL 49 39 203.0.113.3 listed CONNECT api.example.test'),
    ).toMatchObject({
      allowed: true,
      why: 'listed',
      server: '203.0.113.3',
    });
  });

  it('skips lines that are not its format, and never trusts an unknown reason as an allow', () => {
    expect(parseAccessLine('2026/12/04 16:48:18| WARNING: something')).toBeNull();
    expect(parseAccessLine('1 10.0.0.1 10.0.0.2 80 200 TCP_MISS 1 1 - listed GET host with spaces')).toBeNull();
    expect(parseAccessLine('1796403288.148 10.213.0.10 10.213.0.12 80 0 NONE_NONE_ABORTED 41 0 - - GET api.example.test')).toMatchObject({
      allowed: false,
      why: 'unknown',
    });
  });

  it('compares the engine timestamps as strings once padded', () => {
    expect(sortableTimestamp('2026-12-04T16:48:50.12Z')).toBe('2026-12-04T16:48:50.120000000Z');
    expect(sortableTimestamp('2026-12-04T16:48:50Z')).toBe('2026-12-04T16:48:50.000000000Z');
    expect(sortableTimestamp('garbage')).toBeNull();
  });
});
