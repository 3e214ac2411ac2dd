// Checks that need the whole file: names used before they are defined, dependency cycles,
// and host ports two agents (or an agent and a kind cluster's node) would both try to bind.
import {preview} from '../errors.js';
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import {portsClash} from './ports.js';
import {suggestion} from './suggest.js';
import type {PortSpec} from './types.js';
import type {FileSource} from './problem.js';

const SUGGEST_UNTIL = 100;

/** Reports `name` at `path` unless it is one of `defined`; `kind` is the top-level key ("images"). */
export function checkRef(name: string, defined: ReadonlySet<string>, kind: string, path: ConfigPath, problems: Problems): boolean {
  if (defined.has(name)) return true;
  const singular = kind.replace(/s$/, '');
  const shown = JSON.stringify(preview(name, 60));
  // Suggestions are for people fixing a few typos; a flood of bad references gets none.
  let hint = problems.size < SUGGEST_UNTIL ? suggestion(name, defined) : '';
  if (hint === '' && defined.size === 0) hint = ` (there is no \`${kind}\` section)`;
  else if (hint === '' && defined.size <= 10) hint = ` (defined: ${[...defined].join(', ')})`;
  let extra = '';
  if (kind === 'images' && /[/:@.]/.test(name)) extra = `; to run a registry image, add it under images, e.g. {ref: ${shown}}`;
  problems.add(path, `unknown ${singular} ${shown} in ${formatPath(path)}: not defined under ${kind}${hint}${extra}`);
  return false;
}

/**
 * depends_on must name other existing agents and form no cycle. Each cycle is reported once,
 * at the depends_on entry that closes it, spelled out as "a -> b -> a".
 */
export function checkDependencies(deps: ReadonlyMap<string, ReadonlyArray<{name: string; path: ConfigPath}>>, problems: Problems): void {
  const agents = new Set(deps.keys());
  const edges = new Map<string, Array<{name: string; path: ConfigPath}>>();
  for (const [agent, list] of deps) {
    const ok: Array<{name: string; path: ConfigPath}> = [];
    for (const d of list) {
      if (d.name === agent) problems.add(d.path, `agent "${agent}" depends on itself (${formatPath(d.path)})`);
      else if (checkRef(d.name, agents, 'agents', d.path, problems)) ok.push(d);
    }
    edges.set(agent, ok);
  }
  // Iterative depth-first search: a hostile file can chain thousands of agents.
  const state = new Map<string, 'active' | 'done'>();
  const reported = new Set<string>();
  for (const root of agents) {
    if (state.has(root)) continue;
    const stack: Array<{agent: string; next: number}> = [{agent: root, next: 0}];
    state.set(root, 'active');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const out = edges.get(top.agent) ?? [];
      if (top.next >= out.length) {
        state.set(top.agent, 'done');
        stack.pop();
        continue;
      }
      const d = out[top.next++];
      const s = state.get(d.name);
      if (s === undefined) {
        state.set(d.name, 'active');
        stack.push({agent: d.name, next: 0});
      } else if (s === 'active') {
        const names = stack.map((f) => f.agent);
        const cycle = [...names.slice(names.indexOf(d.name)), d.name];
        const id = [...new Set(cycle)].sort().join(',');
        if (!reported.has(id)) {
          reported.add(id);
          problems.add(d.path, `dependency cycle: ${cycle.join(' -> ')}`);
        }
      }
    }
  }
}

/** A host port something of the workspace binds: an agent's published port or a kind extraPortMapping. */
export interface HostBinding {
  port: Pick<PortSpec, 'host' | 'host_ip'> & {protocol: PortSpec['protocol'] | 'sctp'};
  path: ConfigPath;
  /** the file `path` is in when not the config (a kind config file) */
  file?: FileSource;
  /** how messages name it (default: its path) */
  label?: string;
}

export function checkHostPorts(ports: ReadonlyArray<HostBinding>, problems: Problems): void {
  // Quadratic only per host port number: buckets keep 1,000 agents x many ports cheap.
  const byHost = new Map<number, HostBinding[]>();
  // portsClash reads only host, host_ip and protocol; an sctp binding clashes only with sctp
  const clashes = (a: HostBinding, b: HostBinding) => portsClash(a.port as PortSpec, b.port as PortSpec);
  for (const p of ports) {
    const bucket = byHost.get(p.port.host) ?? [];
    const clash = bucket.find((q) => clashes(q, p));
    if (clash) {
      const {host, protocol, host_ip} = p.port;
      const name = (b: HostBinding) => b.label ?? formatPath(b.path);
      problems.add(
        p.path,
        `host port ${host_ip}:${host}/${protocol} in ${name(p)} is already published by ${name(clash)}`,
        'value',
        p.file,
      );
    }
    bucket.push(p);
    byHost.set(p.port.host, bucket);
  }
}
