// squid.conf of a Kubernetes agent's own egress gateway. Pure.
//
// On Kubernetes a pod's address is not stable, so squid cannot tell agents apart the way the
// Docker gateway does (by the link each one arrives on). Instead each agent that has egress
// gets a gateway of its own, and the NetworkPolicies admit only that agent's pods to it: who
// is asking is settled before squid sees a request, and this file holds one agent's list.
// The rule order is the Docker gateway's (src/egress/squid-config.ts), minus the rules about
// other agents: talks_to flows go pod to pod, never through a gateway.
import type {EgressRule} from '../config/types.js';
import {GUARDED, WHY, listRules, squidBaseLines} from './squid-config.js';

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

  const {ports, acls, cidr, listed} = listRules(g.allow, g.any, '', '');
  out.push(...[...ports].sort((x, y) => x - y).map((p) => `acl port_${p} port ${p}`), ...acls, '');
  out.push('http_access deny manager why_unknown', ...cidr, 'http_access deny orx_guard why_guard', ...listed);
  out.push('http_access deny all why_not_listed', '');
  return out.join('\n');
}
