// The egress gateway as the configuration wants it, and what each agent gets from it (its
// link, its proxy address). Pure: the engine's desired-state builder calls it.
import {createHash} from 'node:crypto';
import type {WorkspaceConfig} from '../config/types.js';
import {egressRuleText} from '../config/egress.js';
import type {ResourceRecord} from '../ledger/types.js';
import type {DesiredResource} from '../resources/types.js';
import {GATEWAY_ADDRESS, type GatewayAgent, type GatewayAttrs, type GatewayFields, type LinkAttr} from './attrs.js';
import {assignLinks} from './links.js';
import {renderSquidConfig} from './squid-config.js';
import {gatewayNames} from './names.js';

/** What an agent's attributes carry of the gateway: present only when it has a link. */
export interface AgentEgress {
  link: LinkAttr;
  /** its allowlist as plans and policy show it ("any" for egress: any) */
  egress_allow: string[];
  talks_to: string[];
}

export interface GatewayPlan {
  resource: DesiredResource | null;
  agents: Map<string, AgentEgress>;
  error: string | null;
}

export function configDigest(a: Omit<GatewayFields, 'config_digest'>): string {
  return createHash('sha256')
    .update(renderSquidConfig({...a, config_digest: ''}))
    .digest('hex');
}

export function desiredGateway(
  cfg: WorkspaceConfig,
  recorded: ReadonlyMap<string, ResourceRecord>,
  taken: readonly string[] = [],
): GatewayPlan {
  const ws = cfg.workspace;
  const docker = Object.entries(cfg.agents).filter(([, a]) => a.target === 'docker');
  const dockerNames = new Set(docker.map(([n]) => n));
  const reached = new Set(docker.flatMap(([, a]) => a.talks_to));
  const linked = docker
    .filter(([n, a]) => a.egress.mode !== 'none' || a.talks_to.length > 0 || reached.has(n))
    .map(([n]) => n)
    .sort();
  const agents = new Map<string, AgentEgress>();
  if (linked.length === 0) return {resource: null, agents, error: null};

  const rec = recorded.get(GATEWAY_ADDRESS)?.attributes as Partial<GatewayFields> | undefined;
  const recLinks = Object.fromEntries(Object.entries(rec?.agents ?? {}).map(([n, g]) => [n, g.link]));
  const assigned = assignLinks(linked, cfg.egress_gateway.link_pool, recLinks, (a) => gatewayNames.link(ws, a), taken);
  if ('error' in assigned) return {resource: null, agents, error: assigned.error};

  const gwAgents: Record<string, GatewayAgent> = {};
  for (const name of linked) {
    const spec = cfg.agents[name];
    const allow = spec.egress.mode === 'list' ? spec.egress.rules : [];
    const talks = spec.talks_to.filter((t) => dockerNames.has(t)).sort();
    gwAgents[name] = {link: assigned.links[name], allow, any: spec.egress.mode === 'any', talks_to: talks};
    agents.set(name, {
      link: assigned.links[name],
      egress_allow: spec.egress.mode === 'any' ? ['any'] : allow.map(egressRuleText),
      talks_to: talks,
    });
  }
  const managed = cfg.egress_gateway.uplinks.length === 0;
  const base: Omit<GatewayFields, 'config_digest'> = {
    name: typeof rec?.name === 'string' ? rec.name : gatewayNames.container(ws),
    workspace: ws,
    image: cfg.egress_gateway.image,
    uplinks: managed ? [gatewayNames.uplink(ws)] : [...cfg.egress_gateway.uplinks],
    uplink_managed: managed,
    link_pool: cfg.egress_gateway.link_pool,
    agents: gwAgents,
    running: true,
  };
  const attributes: GatewayAttrs = {...base, config_digest: configDigest(base)};
  return {resource: {address: GATEWAY_ADDRESS, kind: 'gateway', name: 'egress', attributes, depends_on: []}, agents, error: null};
}
