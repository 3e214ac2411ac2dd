// The gateway's squid.conf, made from the plan's gateway attributes and nothing else. Pure.
//
// Who is asking: each agent reaches the gateway only over its own link network, so the
// gateway's address on that link (`localip`) names the agent; the agent cannot change which
// link its packets arrive on. What it may reach: squid's access rules, first match wins:
//   1. talks_to flows, to the other agent's container addresses on its link
//   2. anything else in the link pool (other agents, the gateway itself): refused
//   3. private CIDRs an operator allowed for an agent, with a reason
//   4. the SSRF guard: loopback, private, link-local (metadata), CGNAT, multicast, reserved,
//      checked on the addresses the name resolves to, the ones squid connects to
//   5. `egress: any`, then each listed host on its listed port
//   6. everything else: refused
// Each rule tags the transaction (annotate_transaction) so the access log says why.
import type {GatewayAttrs} from './attrs.js';
import type {EgressRule} from '../config/types.js';
import {PROXY_PORT} from '../util/proxy-port.js';

export const CONFIG_DIR_IN_CONTAINER = '/etc/orx-egress';
export const CONFIG_FILE = 'squid.conf';

/**
 * What the guard refuses after resolution, whatever a list says. IPv4: this network, RFC 1918,
 * CGNAT, loopback, link-local (169.254.169.254 and the other metadata addresses), IETF protocol
 * assignments, benchmarking, multicast, reserved and broadcast. IPv6: unspecified, loopback,
 * ULA, link-local, multicast, and the NAT64 and 6to4 prefixes that embed an IPv4 address.
 */
export const GUARDED = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '64:ff9b::/96',
  '2002::/16',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
] as const;

/** Why squid allowed or refused: the key the access log's orx_why note carries, and what it means. */
export const WHY = {
  talks_to: 'talks_to allows it',
  link_pool: 'another agent or the gateway itself',
  cidr: 'an allowed private range',
  guard: 'resolves to a private, loopback or link-local address',
  any: 'egress: any',
  listed: 'listed',
  not_listed: 'not on its list',
  unknown: 'not from an agent of this workspace',
} as const;

export type Why = keyof typeof WHY;

/** The access log line: agent-controlled text (the host) comes last, so it cannot shift the fields before it. */
export const LOG_FORMAT = '%ts.%03tu %la %>a %>rP %>Hs %Ss %>st %<st %<a %{orx_why}note %rm %>rd';

export function domainRegex(wildcard: string): string {
  // "*.example.com": exactly one label before the rest
  return `^[^.]+${wildcard.slice(1).replace(/[.\\^$|?+()[\]{}-]/g, '\\$&')}$`;
}

/** What every orx gateway's squid.conf starts with, after its first comment line: no cache, the access log on stdout. */
export function squidBaseLines(): string[] {
  return [
    `http_port ${PROXY_PORT}`,
    'pid_filename none',
    'cache deny all',
    'cache_mem 8 MB',
    'coredump_dir /tmp',
    'logfile_rotate 0',
    `logformat orx ${LOG_FORMAT}`,
    'access_log stdio:/dev/stdout orx',
    'cache_log /dev/stderr',
    // the container's /etc/hosts would resolve its own name to its addresses
    'hosts_file none',
    // short enough that a re-pointed name is looked up again, never long enough to matter for speed
    'positive_dns_ttl 2 seconds',
    'negative_dns_ttl 1 seconds',
    'forwarded_for delete',
    'follow_x_forwarded_for deny all',
    'httpd_suppress_version_string on',
    'shutdown_lifetime 1 seconds',
    // squid's 16 KB default paces a download to its client's reads: half the direct rate in bench/egress.mjs, three quarters with this
    'read_ahead_gap 1 MB',
    '',
  ];
}

/**
 * One agent's list as squid acls and rules: its private ranges (allowed before the guard) and
 * its hosts by port (after it). `tag` keeps acl names apart between agents; `from` is the acl
 * naming the agent ("" where the gateway serves one agent only).
 */
export function listRules(
  allow: readonly EgressRule[],
  any: boolean,
  tag: string,
  from: string,
): {ports: number[]; acls: string[]; cidr: string[]; listed: string[]} {
  const ports = new Set<number>();
  const acls: string[] = [];
  const cidr: string[] = [];
  const listed: string[] = any ? [`http_access allow ${from}why_any`] : [];
  allow
    .filter((r) => r.cidr !== undefined)
    .forEach((r, k) => {
      ports.add(r.port);
      acls.push(`acl cidr${tag}_${k} dst ${r.cidr}`);
      cidr.push(`http_access allow ${from}cidr${tag}_${k} port_${r.port} why_cidr`);
    });
  const byPort = new Map<number, {exact: string[]; wild: string[]}>();
  for (const r of allow) {
    if (r.host === undefined) continue;
    const e = byPort.get(r.port) ?? byPort.set(r.port, {exact: [], wild: []}).get(r.port)!;
    (r.host.startsWith('*.') ? e.wild : e.exact).push(r.host);
  }
  for (const [port, hosts] of [...byPort].sort(([x], [y]) => x - y)) {
    ports.add(port);
    if (hosts.exact.length > 0) {
      acls.push(`acl host${tag}_${port} dstdomain -n ${hosts.exact.join(' ')}`);
      listed.push(`http_access allow ${from}port_${port} host${tag}_${port} why_listed`);
    }
    if (hosts.wild.length > 0) {
      acls.push(`acl wild${tag}_${port} dstdom_regex -n -i ${hosts.wild.map(domainRegex).join(' ')}`);
      listed.push(`http_access allow ${from}port_${port} wild${tag}_${port} why_listed`);
    }
  }
  return {ports: [...ports], acls, cidr, listed};
}

export function renderSquidConfig(g: GatewayAttrs): string {
  const out: string[] = [
    `# The egress gateway of workspace ${g.workspace}, written by orx from the plan: edits are overwritten.`,
    ...squidBaseLines(),
  ];
  for (const key of Object.keys(WHY)) out.push(`acl why_${key} annotate_transaction orx_why=${key}`);
  out.push(`acl orx_pool dst ${g.link_pool}`, `acl orx_guard dst ${GUARDED.join(' ')}`, '');

  const agents = Object.entries(g.agents).sort(([a], [b]) => (a < b ? -1 : 1));
  const index = new Map(agents.map(([name], i) => [name, i]));
  for (const [name, a] of agents) out.push(`acl from_${index.get(name)} localip ${a.link.gateway_ip}  # ${name}`);
  for (const [name, a] of agents) out.push(`acl to_${index.get(name)} dst ${a.link.agent_range}  # ${name}`);
  if (agents.length > 0) out.push(`acl orx_agents localip ${agents.map(([, a]) => a.link.gateway_ip).join(' ')}`);
  out.push(
    '',
    'http_access deny manager why_unknown',
    agents.length > 0 ? 'http_access deny !orx_agents why_unknown' : 'http_access deny all why_unknown',
  );
  for (const [name, a] of agents)
    for (const peer of a.talks_to) {
      const j = index.get(peer);
      if (j !== undefined) out.push(`http_access allow from_${index.get(name)} to_${j} why_talks_to`);
    }
  out.push('http_access deny orx_pool why_link_pool');

  const ports = new Set<number>();
  const rules: string[] = [];
  const acls: string[] = [];
  const after: string[] = [];
  for (const [name, a] of agents) {
    const i = index.get(name)!;
    const r = listRules(a.allow, a.any, `_${i}`, `from_${i} `);
    r.ports.forEach((p) => ports.add(p));
    acls.push(...r.acls);
    rules.push(...r.cidr);
    after.push(...r.listed);
  }
  const portAcls = [...ports].sort((x, y) => x - y).map((p) => `acl port_${p} port ${p}`);
  // the acls must come before the first rule that names them
  const firstRule = out.findIndex((l) => l.startsWith('http_access'));
  out.splice(firstRule, 0, ...portAcls, ...acls, '');
  out.push(...rules, 'http_access deny orx_guard why_guard', ...after);
  out.push('http_access deny all why_not_listed', '');
  return out.join('\n');
}
