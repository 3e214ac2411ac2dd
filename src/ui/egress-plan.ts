// How a plan shows egress: each allowlist entry and talks_to flow added or removed, one line
// each (`+ egress api.example.com:443`), and a gateway change as the reload it is.
import type {Attrs} from '../resources/types.js';
import {c} from './color.js';

export const EGRESS_LISTS: Readonly<Record<string, string>> = {egress_allow: 'egress', talks_to: 'talks_to'};

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

/** `+ egress X` / `- egress Y` for what a list gains and loses (`who` prefixes each, for the gateway's view). */
export function listDiffLines(label: string, before: unknown, after: unknown, pad: string, who = ''): string[] {
  const b = list(before);
  const a = list(after);
  return [
    ...a.filter((x) => !b.includes(x)).map((x) => `${pad}${c.green(`+ ${label} ${who}${x}`)}`),
    ...b.filter((x) => !a.includes(x)).map((x) => `${pad}${c.red(`- ${label} ${who}${x}`)}`),
  ];
}

interface GatewayAgentView {
  allow?: Array<{host?: string; cidr?: string; port: number}>;
  any?: boolean;
  talks_to?: string[];
  link?: {subnet?: string};
}

function entries(a: GatewayAgentView | undefined): string[] {
  if (!a) return [];
  return [...(a.any ? ['any'] : []), ...(a.allow ?? []).map((r) => (r.cidr ? `cidr ${r.cidr}:${r.port}` : `${r.host}:${r.port}`))];
}

/** Every flow the gateway will allow or stop allowing, agent by agent. */
export function gatewayLines(before: Attrs | null, after: Attrs | null, pad: string): string[] {
  const b = (before?.agents ?? {}) as Record<string, GatewayAgentView>;
  const a = (after?.agents ?? {}) as Record<string, GatewayAgentView>;
  const names = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const lines: string[] = [];
  for (const n of names) {
    if (!b[n]) lines.push(`${pad}${c.green(`+ link ${n} (${a[n].link?.subnet ?? '?'})`)}`);
    if (!a[n]) lines.push(`${pad}${c.red(`- link ${n}`)}`);
    lines.push(...listDiffLines('egress', entries(b[n]), entries(a[n]), pad, `${n} -> `));
    lines.push(...listDiffLines('talks_to', b[n]?.talks_to, a[n]?.talks_to, pad, `${n} -> `));
  }
  if (before && after && before.image !== after.image) lines.push(`${pad}~ image = ${String(before.image)} -> ${String(after.image)}`);
  if (before && after && JSON.stringify(before.uplinks) !== JSON.stringify(after.uplinks))
    lines.push(`${pad}~ uplinks = ${JSON.stringify(before.uplinks)} -> ${JSON.stringify(after.uplinks)}`);
  if (before && after && before.running === false && after.running === true) lines.push(`${pad}~ running = false -> true`);
  if (after && before && after.image === before.image && JSON.stringify(before.uplinks) === JSON.stringify(after.uplinks))
    lines.push(`${pad}${c.dim('# its configuration is reloaded: no container is replaced, open connections stay')}`);
  return lines;
}
