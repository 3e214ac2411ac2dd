// The egress gateway's attributes: what a plan carries, the ledger records and the proxy
// configuration is made from. A plan file is hostile input: everything is checked again here.
import {createHash} from 'node:crypto';
import {OrxError} from '../errors.js';
import type {EgressRule} from '../config/types.js';
import {parseEgressEntry} from '../config/egress.js';
import {parseCidr} from '../util/cidr.js';
import {canonicalJson} from '../util/canonical-json.js';
import {bool, obj, str, strList} from '../resources/check.js';
import type {Attrs} from '../resources/types.js';

export const GATEWAY_ADDRESS = 'gateway.egress';

/** An agent's own network to the gateway: a /29 only the two of them join. */
export interface LinkAttr {
  /** the Docker network's name */
  network: string;
  subnet: string;
  /** the gateway's fixed address on it: its proxy address for the agent, and the agent's identity at the gateway */
  gateway_ip: string;
  /** where the engine places the agent's containers (a replace's new one beside the old) */
  agent_range: string;
}

export interface GatewayAgent {
  link: LinkAttr;
  allow: EgressRule[];
  any: boolean;
  talks_to: string[];
}

export interface GatewayFields {
  name: string;
  workspace: string;
  image: string;
  /** networks the gateway reaches the outside through */
  uplinks: string[];
  /** true: uplinks[0] is a bridge orx makes (and removes) for the gateway */
  uplink_managed: boolean;
  link_pool: string;
  agents: Record<string, GatewayAgent>;
  running: boolean;
  /** the proxy configuration's digest: recorded, so a changed file on the host is drift */
  config_digest: string;
}

export type GatewayAttrs = GatewayFields & Attrs;

/** Forcing a new container: the image and how it reaches the outside. Everything else reloads. */
export const GATEWAY_UPDATABLE = new Set(['agents', 'running', 'config_digest', 'link_pool']);

function bad(message: string): never {
  throw new OrxError({
    code: 'plan_invalid',
    message: `plan file: gateway ${message}`,
    actions: ['Make a new plan with `orx plan -out FILE`.'],
  });
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function cidr(text: unknown, what: string): string {
  const c = typeof text === 'string' ? parseCidr(text) : null;
  if (!c || c.text !== text) bad(`${what} must be a canonical IPv4 CIDR`);
  return c.text;
}

function ip(text: unknown, what: string): string {
  const c = typeof text === 'string' ? parseCidr(`${text}/32`) : null;
  if (!c) bad(`${what} must be an IPv4 address`);
  return text as string;
}

function rule(v: unknown): EgressRule {
  // the same reader the configuration uses: a plan cannot carry an entry the file could not
  const r = parseEgressEntry(v);
  if ('error' in r) bad(`allow entry ${JSON.stringify(v).slice(0, 80)}: ${r.error}`);
  return r.rule;
}

export function validateGatewayAttrs(input: unknown): GatewayAttrs {
  const a = obj('gateway', input);
  const agentsIn = obj('gateway', a.agents);
  const agents: Record<string, GatewayAgent> = {};
  for (const [name, v] of Object.entries(agentsIn)) {
    if (!NAME_RE.test(name)) bad(`agent name ${JSON.stringify(name.slice(0, 70))} is not an agent name`);
    const g = obj('gateway', v);
    const l = obj('gateway', g.link);
    const talks = strList('gateway', g, 'talks_to');
    for (const t of talks) if (!NAME_RE.test(t)) bad(`talks_to ${JSON.stringify(t.slice(0, 70))} is not an agent name`);
    agents[name] = {
      link: {
        network: str('gateway', l, 'network'),
        subnet: cidr(l.subnet, 'link subnet'),
        gateway_ip: ip(l.gateway_ip, 'link gateway_ip'),
        agent_range: cidr(l.agent_range, 'link agent_range'),
      },
      allow: (Array.isArray(g.allow) ? g.allow : bad('allow must be a list')).map(rule),
      any: bool('gateway', g, 'any'),
      talks_to: talks,
    };
  }
  return {
    name: str('gateway', a, 'name'),
    workspace: str('gateway', a, 'workspace'),
    image: str('gateway', a, 'image'),
    uplinks: strList('gateway', a, 'uplinks'),
    uplink_managed: bool('gateway', a, 'uplink_managed'),
    link_pool: cidr(a.link_pool, 'link_pool'),
    agents,
    running: bool('gateway', a, 'running'),
    config_digest: str('gateway', a, 'config_digest'),
  };
}

/** The container's forcing attributes, as a label: a list call tells a changed container without an inspect. */
export function gatewayConfigHash(a: Pick<GatewayAttrs, 'name' | 'image' | 'uplinks'>): string {
  return createHash('sha256')
    .update(canonicalJson({name: a.name, image: a.image, uplinks: a.uplinks}))
    .digest('hex')
    .slice(0, 24);
}
