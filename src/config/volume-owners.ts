// Who a volume's root directory belongs to. Docker makes a fresh volume root's, mode 0755: an
// agent running as another uid cannot write to it. orx hands a volume it creates to the uid:gid
// of the agents that mount it read-write (as Kubernetes does with fsGroup), without loosening
// the mode; agents running as different users are settled by `volumes.X.owner`.
import {numericUser} from '../util/user-id.js';
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import type {AgentSpec, VolumeSpec} from './types.js';

export interface RwMounter {
  agent: string;
  /** what it runs as: its `user`, else its image's USER ('' for none); undefined: known only at apply */
  user: string | null | undefined;
  /** its volumes entry, for messages */
  path: ConfigPath;
}

export type OwnerDecision =
  /** no agent mounts it read-write: left as Docker makes it */
  | {kind: 'none'}
  | {kind: 'known'; owner: string}
  /** an agent's uid is known only once its image is on the engine */
  | {kind: 'at-apply'}
  | {kind: 'conflict'; first: {agent: string; owner: string}; second: {agent: string; owner: string; path: ConfigPath}};

/** "1000" -> "1000:1000" (a uid alone is also the group, as the engine takes it). */
export function ownerSpec(owner: string): string {
  const ids = numericUser(owner);
  return `${ids.uid}:${ids.gid}`;
}

/** The docker agents that mount `volume` read-write, with what they run as. */
export function rwMounters(
  volume: string,
  agents: Record<string, AgentSpec>,
  userOf: (agent: AgentSpec) => string | null | undefined,
  mountPaths: (agent: string, index: number) => ConfigPath,
): RwMounter[] {
  const out: RwMounter[] = [];
  for (const [name, spec] of Object.entries(agents)) {
    spec.volumes.forEach((m, i) => {
      if (m.volume === volume && !m.read_only && spec.target === 'docker')
        out.push({agent: name, user: userOf(spec), path: mountPaths(name, i)});
    });
  }
  return out;
}

export function decideOwner(spec: VolumeSpec, mounters: RwMounter[]): OwnerDecision {
  if (spec.owner !== null) return {kind: 'known', owner: ownerSpec(spec.owner)};
  let first: {agent: string; owner: string} | null = null;
  let unknown = false;
  for (const m of mounters) {
    const ids = m.user === undefined ? null : numericUser(m.user);
    if (ids === null || ids.uid === null || ids.gid === null) {
      unknown = true;
      continue;
    }
    const owner = `${ids.uid}:${ids.gid}`;
    if (first === null) first = {agent: m.agent, owner};
    else if (first.owner !== owner) return {kind: 'conflict', first, second: {agent: m.agent, owner, path: m.path}};
  }
  if (unknown) return {kind: 'at-apply'};
  return first === null ? {kind: 'none'} : {kind: 'known', owner: first.owner};
}

export function checkVolumeOwners(
  volumes: Record<string, VolumeSpec>,
  mounters: (volume: string) => RwMounter[],
  problems: Problems,
): void {
  for (const [name, spec] of Object.entries(volumes)) {
    const d = decideOwner(spec, mounters(name));
    if (d.kind !== 'conflict') continue;
    const {first, second} = d;
    problems.add(
      second.path,
      `${formatPath(second.path)}: volume "${name}" is mounted read-write by agents.${first.agent} (running as ${first.owner}) and agents.${second.agent} (running as ${second.owner}); only one uid can own it: set volumes.${name}.owner to the uid:gid that should (e.g. owner: "${first.owner}"), or run them as one user`,
    );
  }
}
