// What each Kubernetes agent gets from `egress:` and `talks_to:`: its own gateway's list, and
// the peers its NetworkPolicies open to. Pure: the engine's desired-state builder calls it.
import type {WorkspaceConfig} from '../config/types.js';
import {egressRuleText} from '../config/egress.js';
import type {Diagnostic} from '../errors.js';
import {gatewayName, type KubeNetworkInput} from '../k8s/render-agent.js';
import {contextKey, kubeAttr} from '../k8s/target.js';

/** What a Kubernetes agent's attributes carry for plans and policy, as on Docker agents; present only when set. */
export interface KubeAgentEgress {
  network: KubeNetworkInput;
  egress_allow?: string[];
  talks_to?: string[];
}

// a Service name is a DNS label
const MAX_NAME = 63;

/**
 * A NetworkPolicy's podSelector reaches pods of its own namespace only, on its own API server:
 * talks_to to an agent anywhere else (another namespace or context, or a Docker agent) cannot
 * be expressed, and is refused rather than left open or silently dropped.
 */
export function kubeAgentNetworks(
  cfg: WorkspaceConfig,
  names: Readonly<Record<string, string>>,
): {agents: Map<string, KubeAgentEgress>; problems: Diagnostic[]} {
  const problems: Diagnostic[] = [];
  const where = new Map<string, string>();
  for (const [name, a] of Object.entries(cfg.agents))
    if (a.target === 'kubernetes' && a.kube) where.set(name, `${contextKey(kubeAttr(cfg.workspace, a.kube.target))}\0${a.kube.namespace}`);

  const agents = new Map<string, KubeAgentEgress>();
  for (const [name, place] of where) {
    const spec = cfg.agents[name];
    spec.talks_to.forEach((peer, i) => {
      if (where.get(peer) !== place)
        problems.push({
          path: `agents.${name}.talks_to.${i}`,
          message: `agent.${name}: talks_to ${peer}, which is not a Kubernetes agent in the same namespace and context; a NetworkPolicy cannot open a way to it`,
        });
    });
    const talks = spec.talks_to.filter((p) => where.get(p) === place).sort();
    const by = [...where]
      .filter(([other, p]) => p === place && cfg.agents[other].talks_to.includes(name))
      .map(([other]) => other)
      .sort();
    const e = spec.egress;
    const gateway =
      e.mode === 'none' ? null : {image: cfg.egress_gateway.image, any: e.mode === 'any', allow: e.mode === 'list' ? e.rules : []};
    if (gateway && gatewayName(names[name]).length > MAX_NAME)
      problems.push({
        path: `agents.${name}`,
        message: `agent.${name}: its egress gateway's name ${gatewayName(names[name])} is longer than ${MAX_NAME} characters; use a shorter agent or workspace name`,
      });
    agents.set(name, {
      network: {gateway, talks_to: talks.map((p) => `agent.${p}`), talked_to_by: by.map((p) => `agent.${p}`)},
      ...(e.mode === 'none' ? {} : {egress_allow: e.mode === 'any' ? ['any'] : e.rules.map(egressRuleText)}),
      ...(talks.length > 0 ? {talks_to: talks} : {}),
    });
  }
  return {agents, problems};
}
