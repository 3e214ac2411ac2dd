// squid.conf of a Kubernetes agent's own egress gateway. Pure.
//
// On Kubernetes a pod's address is not stable, so squid cannot tell agents apart the way the
// Docker gateway does (by the link each one arrives on). Instead each agent that has egress
// gets a gateway of its own, and the NetworkPolicies admit only that agent's pods to it: who
// is asking is settled before squid sees a request, and this file holds one agent's list.
// The rule order is the Docker gateway's (src/egress/squid-config.ts), minus the rules about
// other agents: talks_to flows go pod to pod, never through a gateway.
import type {EgressRule} from '../config/types.js';
import {GUARDED, WHY, domainRegex, squidBaseLines} from './squid-config.js';

export interface KubeGatewayList {
  workspace: string;
  /** the agent's address, e.g. "agent.worker": named in the file's first line only */
  address: string;
  any: boolean;
  allow: EgressRule[];
}

export function renderKubeSquidConfig(g: KubeGatewayList): string {
  const out: string[] = [
    `# The egress gateway of ${g.address} in workspace ${g.workspace}, written by orx from the plan: edits are overwritten.`,
    ...squidBaseLines(),
  ];
  for (const key of Object.keys(WHY)) out.push(`acl why_${key} annotate_transaction orx_why=${key}`);
  out.push(`acl orx_guard dst ${GUARDED.join(' ')}`);

  const ports = new Set<number>();
  const acls: string[] = [];
  const cidrRules: string[] = [];
  g.allow
    .filter((r) => r.cidr !== undefined)
    .forEach((r, k) => {
      ports.add(r.port);
      acls.push(`acl cidr_${k} dst ${r.cidr}`);
      cidrRules.push(`http_access allow cidr_${k} port_${r.port} why_cidr`);
    });

  const listed: string[] = g.any ? ['http_access allow why_any'] : [];
  const byPort = new Map<number, {exact: string[]; wild: string[]}>();
  for (const r of g.allow) {
    if (r.host === undefined) continue;
    const e = byPort.get(r.port) ?? byPort.set(r.port, {exact: [], wild: []}).get(r.port)!;
    (r.host.startsWith('*.') ? e.wild : e.exact).push(r.host);
  }
  for (const [port, hosts] of [...byPort].sort(([x], [y]) => x - y)) {
    ports.add(port);
    if (hosts.exact.length > 0) {
      acls.push(`acl host_${port} dstdomain -n ${hosts.exact.join(' ')}`);
      listed.push(`http_access allow port_${port} host_${port} why_listed`);
    }
    if (hosts.wild.length > 0) {
      acls.push(`acl wild_${port} dstdom_regex -n -i ${hosts.wild.map(domainRegex).join(' ')}`);
      listed.push(`http_access allow port_${port} wild_${port} why_listed`);
    }
  }
  out.push(...[...ports].sort((x, y) => x - y).map((p) => `acl port_${p} port ${p}`), ...acls, '');
  out.push('http_access deny manager why_unknown', ...cidrRules, 'http_access deny orx_guard why_guard', ...listed);
  out.push('http_access deny all why_not_listed', '');
  return out.join('\n');
}
