// Which /29 of the link pool each agent's link network gets: kept from the record while it
// fits the pool, else the lowest free block. Pure: the plan decides, apply only creates.
import {blockCount, intToIPv4, overlaps, parseCidr, subnetAt, type Cidr} from '../util/cidr.js';
import type {LinkAttr} from './attrs.js';

export const LINK_PREFIX = 29;

/** .0 network, .1 the engine's bridge, .2 the gateway, .4-.6 the agent's containers, .7 broadcast */
export function linkLayout(network: string, base: number): LinkAttr {
  return {
    network,
    subnet: `${intToIPv4(base)}/${LINK_PREFIX}`,
    gateway_ip: intToIPv4(base + 2),
    agent_range: `${intToIPv4(base + 4)}/30`,
  };
}

export function assignLinks(
  agents: readonly string[],
  pool: string,
  recorded: Readonly<Record<string, LinkAttr>>,
  networkName: (agent: string) => string,
  taken: readonly string[] = [],
): {links: Record<string, LinkAttr>} | {error: string} {
  const p = parseCidr(pool);
  if (!p) return {error: `link pool ${pool} is not an IPv4 CIDR`};
  const links: Record<string, LinkAttr> = {};
  const used = new Set<number>();
  const fresh: string[] = [];
  for (const agent of agents) {
    const was = recorded[agent] ? parseCidr(recorded[agent].subnet) : null;
    const fits = was && was.prefix === LINK_PREFIX && was.base >= p.base && was.base < p.base + 2 ** (32 - p.prefix);
    if (fits && !used.has(was.base)) {
      used.add(was.base);
      links[agent] = linkLayout(recorded[agent].network, was.base);
    } else fresh.push(agent);
  }
  const count = blockCount(p, LINK_PREFIX);
  // networks that exist already, another workspace's links among them; its own recorded ones are kept above
  const others = taken.map(parseCidr).filter((c): c is Cidr => c !== null);
  const free = (n: number): boolean => {
    const block = subnetAt(p, LINK_PREFIX, n)!;
    return !used.has(block.base) && !others.some((o) => overlaps(o, block));
  };
  let next = 0;
  for (const agent of fresh) {
    while (next < count && !free(next)) next++;
    if (next >= count)
      return {
        error: `the link pool ${pool} has room for ${count} agents with egress or talks_to (less what other networks on this engine hold), and the plan needs ${agents.length}; set egress_gateway.link_pool to a larger or unused range (a /16 holds 8192)`,
      };
    const block = subnetAt(p, LINK_PREFIX, next)!;
    used.add(block.base);
    links[agent] = linkLayout(networkName(agent), block.base);
  }
  return {links};
}
