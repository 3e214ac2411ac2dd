// `egress:` and `talks_to:` of an agent, and the workspace's `egress_gateway:`, read into the
// forms the gateway's proxy configuration is made from. Hostile input is the norm here: the
// file may come from a pull request, so every host, wildcard and CIDR is checked to a shape
// the proxy cannot read two ways.
import {formatPath, type ConfigPath} from './paths.js';
import type {Problems} from './diagnostics.js';
import {int, list, rec, str} from './raw.js';
import type {AgentSpec, EgressGatewaySpec, EgressRule, EgressSpec, NetworkSpec} from './types.js';
import {checkRef} from './crossref.js';
import {parseCidr} from '../util/cidr.js';
import {parseIPv4} from '../util/address-class.js';

export const DEFAULT_EGRESS_PORT = 443;
/**
 * Where orx carves each agent's link network to the gateway (a /29 each). Off Docker's own
 * default pools (172.17-31.0.0/16, 192.168.0.0/16) and the 10.0-10.10 ranges home routers and
 * VPNs favour; `egress_gateway.link_pool` moves it.
 */
export const DEFAULT_LINK_POOL = '10.213.0.0/16';
/**
 * Canonical's maintained squid image (Ubuntu's squid package). By tag: no registry answers
 * from where orx is built, so its digest could not be read and written here; the plan warns
 * that it is unpinned, and `egress_gateway.image` takes a digest-pinned reference instead.
 * Tests use a local build of Debian's squid package (scripts/prepare-egress-image.sh).
 */
export const DEFAULT_GATEWAY_IMAGE = 'ubuntu/squid:5.2-22.04_beta';

// one DNS name: labels of letters, digits and hyphens; the TLD not all digits (that is an address)
const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const HOST_RE = new RegExp(`^(\\*\\.)?(${LABEL}\\.)*${LABEL}$`);

/** An entry as the user wrote it -> a rule, or a reason it is refused. */
export function parseEgressEntry(v: unknown): {rule: EgressRule} | {error: string} {
  const o = rec(v);
  if (o) {
    const port = int(o.port);
    if (port === undefined || port < 1 || port > 65535) return {error: 'needs a port from 1 to 65535'};
    if (typeof o.cidr === 'string') {
      const cidr = parseCidr(o.cidr);
      if (!cidr) return {error: `cidr ${JSON.stringify(o.cidr)} is not an IPv4 CIDR like 10.1.2.0/24`};
      const reason = str(o.reason)?.trim() ?? '';
      if (reason === '') return {error: 'a private CIDR needs a reason (reason: "...")'};
      return {rule: {cidr: cidr.text, port, reason}};
    }
    if (typeof o.host === 'string') return hostRule(o.host, port);
    return {error: 'names neither host nor cidr'};
  }
  if (typeof v !== 'string') return {error: 'must be "host[:port]" or {cidr, port, reason}'};
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(v.trim().toLowerCase())!;
  const port = m[2] === undefined ? DEFAULT_EGRESS_PORT : Number(m[2]);
  if (port < 1 || port > 65535) return {error: `port ${m[2]} is not from 1 to 65535`};
  return hostRule(m[1], port);
}

function hostRule(host: string, port: number): {rule: EgressRule} | {error: string} {
  const h = host.toLowerCase().replace(/\.$/, '');
  // every spelling an address parser accepts (0x7f000001, 2130706433, 127.1) is an address
  if (parseIPv4(h) !== null || h.includes(':'))
    return {error: `${JSON.stringify(host)} is an address; name a host, or allow a private range with {cidr, port, reason}`};
  if (h.length > 253 || !HOST_RE.test(h) || /^[0-9]+$/.test(h.split('.').pop()!))
    return {error: `${JSON.stringify(host)} is not a host name (letters, digits, hyphens and dots; "*." for one label)`};
  if (!h.includes('.')) return {error: `${JSON.stringify(host)} is a local name (no domain); name the host by its full domain name`};
  if (h.startsWith('*.') && !h.slice(2).includes('.')) return {error: `${JSON.stringify(host)} would match a whole top-level domain`};
  return {rule: {host: h, port}};
}

/** The rule in the one-line form plans, the ledger and policy show: `host:port`, `cidr 10.1.2.0/24:5432`. */
export function egressRuleText(r: EgressRule): string {
  return 'cidr' in r ? `cidr ${r.cidr}:${r.port}` : `${r.host}:${r.port}`;
}

export function parseAgentEgress(v: unknown, path: ConfigPath, problems: Problems): EgressSpec {
  if (v === undefined || v === null || v === 'none') return {mode: 'none'};
  if (v === 'any') return {mode: 'any'};
  if (!Array.isArray(v)) {
    problems.add(path, `${formatPath(path)} must be none, any, or a list of "host[:port]" and {cidr, port, reason}`);
    return {mode: 'none'};
  }
  const rules: EgressRule[] = [];
  const seen = new Set<string>();
  v.forEach((e, i) => {
    const parsed = parseEgressEntry(e);
    if ('error' in parsed) return problems.add([...path, i], `${formatPath([...path, i])} ${parsed.error}`);
    const key = egressRuleText(parsed.rule);
    if (!seen.has(key)) rules.push(parsed.rule);
    seen.add(key);
  });
  return rules.length > 0 ? {mode: 'list', rules} : {mode: 'none'};
}

export function parseTalksTo(v: unknown, self: string, path: ConfigPath, problems: Problems): string[] {
  const out: string[] = [];
  list(v).forEach((t, i) => {
    if (typeof t !== 'string' || out.includes(t)) return;
    if (t === self) return problems.add([...path, i], `${formatPath([...path, i])}: an agent does not need talks_to for itself`);
    out.push(t);
  });
  return out;
}

export function parseGateway(v: unknown, problems: Problems, networks: ReadonlySet<string>): EgressGatewaySpec {
  const g = rec(v) ?? {};
  const poolText = str(g.link_pool) ?? DEFAULT_LINK_POOL;
  const pool = parseCidr(poolText);
  if (!pool || pool.prefix > 26)
    problems.add(
      ['egress_gateway', 'link_pool'],
      `egress_gateway.link_pool ${JSON.stringify(poolText)} must be an IPv4 CIDR of /26 or larger`,
    );
  const uplinks: string[] = [];
  list(g.uplinks).forEach((u, i) => {
    if (typeof u !== 'string' || uplinks.includes(u)) return;
    // the workspace's own networks are internal zones of agents: never the gateway's way out
    if (networks.has(u))
      problems.add(
        ['egress_gateway', 'uplinks', i],
        `egress_gateway.uplinks[${i}] "${u}" is a network of this workspace; uplinks name networks outside it (created by someone else) that reach the outside`,
      );
    uplinks.push(u);
  });
  return {image: str(g.image) ?? DEFAULT_GATEWAY_IMAGE, uplinks, link_pool: pool?.text ?? DEFAULT_LINK_POOL};
}

/**
 * What the gateway cannot enforce is refused: an agent given an allowlist on a network with a
 * route out would reach everything around it, and talks_to names agents that must exist.
 */
export function checkEgressPlacement(
  agents: Readonly<Record<string, AgentSpec>>,
  networks: Readonly<Record<string, NetworkSpec>>,
  problems: Problems,
): void {
  const names = new Set(Object.keys(agents));
  for (const [name, a] of Object.entries(agents)) {
    a.talks_to.forEach((t, i) => checkRef(t, names, 'agents', ['agents', name, 'talks_to', i], problems));
    if (a.target !== 'docker') continue;
    if (a.egress.mode === 'none') continue;
    const open = a.networks.filter((n) => networks[n] && !networks[n].internal);
    if (open.length > 0)
      problems.add(
        ['agents', name, 'egress'],
        `agents.${name} has an egress allowlist but joins network "${open[0]}", which has a route out (internal: false) around the egress gateway; make that network internal, or leave it (published ports need one: reach the agent through talks_to instead)`,
      );
  }
}
