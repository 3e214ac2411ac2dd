// A published host port that something else holds fails the container's start halfway
// through an apply; found at plan time it is one clear error before anything is touched.
import type Dockerode from 'dockerode';
import {diagnosticsAt} from '../config/load.js';
import {portsClash} from '../config/ports.js';
import type {LoadedConfig, PortSpec} from '../config/types.js';
import type {Problem} from '../config/problem.js';
import {engineIsLocal, portHolder, probePort} from '../drivers/host-ports.js';
import {OrxError} from '../errors.js';
import {excerpt} from '../util/redact.js';
import type {PlannedStep} from '../resources/types.js';
import {LABEL} from '../util/labels.js';

export interface PortConflict {
  agent: string;
  index: number;
  port: PortSpec;
  /** who holds it, where that could be found */
  holder: string | null;
}

type Published = {port: PortSpec; holder: string};

function published(c: Dockerode.ContainerInfo): Published[] {
  const name = c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
  const ws = c.Labels?.[LABEL.workspace];
  // names and labels are whatever other users gave them: shown as short, printable text
  const holder = `container ${excerpt(name, {max: 64, verbatim: true})}${ws ? ` (orx workspace ${excerpt(ws, {max: 64, verbatim: true})})` : ''}`;
  return (c.Ports ?? [])
    .filter((p) => p.PublicPort)
    .map((p) => ({
      port: {host: p.PublicPort, container: p.PrivatePort, host_ip: p.IP || '0.0.0.0', protocol: p.Type === 'udp' ? 'udp' : 'tcp'},
      holder,
    }));
}

/**
 * The host ports of the agents this plan starts anew (create, replace) that something
 * other than this workspace's own containers holds: another container (one list call), or
 * a process on this host (a bind for a moment, when the engine is local).
 */
export async function findPortConflicts(
  docker: Dockerode,
  workspace: string,
  loaded: LoadedConfig,
  steps: PlannedStep[],
): Promise<PortConflict[]> {
  const starting = steps.filter((s) => s.kind === 'agent' && (s.action === 'create' || s.action === 'replace'));
  const wanted = starting.flatMap((s) => {
    const agent = s.address.slice('agent.'.length);
    const spec = loaded.config.agents[agent];
    return spec && spec.target === 'docker' ? spec.ports.map((port, index) => ({agent, index, port})) : [];
  });
  if (wanted.length === 0) return [];
  const running = await docker.listContainers({filters: {status: ['running']}});
  const ours = running.filter((c) => c.Labels?.[LABEL.workspace] === workspace).flatMap(published);
  const others = running.filter((c) => c.Labels?.[LABEL.workspace] !== workspace).flatMap(published);
  const conflicts: PortConflict[] = [];
  for (const w of wanted) {
    // this workspace's own containers give their ports up in the same apply
    if (ours.some((o) => portsClash(o.port, w.port))) continue;
    const container = others.find((o) => portsClash(o.port, w.port));
    if (container) conflicts.push({...w, holder: container.holder});
    else if (engineIsLocal() && (await probePort(w.port.host_ip, w.port.host, w.port.protocol)) === 'in-use') {
      conflicts.push({...w, holder: portHolder(w.port.host_ip, w.port.host, w.port.protocol)});
    }
  }
  return conflicts;
}

export function portConflictError(loaded: LoadedConfig, conflicts: PortConflict[]): OrxError {
  const problems: Problem[] = conflicts.map((c) => ({
    path: ['agents', c.agent, 'ports', c.index],
    message: `agent.${c.agent}: host port ${c.port.host_ip}:${c.port.host}/${c.port.protocol} is already in use${c.holder ? ` by ${c.holder}` : ''}`,
  }));
  return new OrxError({
    code: 'port_in_use',
    message: problems.map((p) => p.message).join('\n'),
    diagnostics: diagnosticsAt(loaded, problems),
    actions: ['Pick another port in orchestration.yml (or stop what holds it), then run `orx plan` again.'],
    data: {
      conflicts: conflicts.map((c) => ({
        address: `agent.${c.agent}`,
        host_ip: c.port.host_ip,
        port: c.port.host,
        protocol: c.port.protocol,
        holder: c.holder,
      })),
    },
  });
}
