// The kind Cluster config of clusters.NAME. The schema's kind_cluster_config checks its shape
// (inline: with the rest of the file; from a file: compiled here on first need); this module
// adds the rules a schema cannot word well, and makes explicit the one default of kind's
// that would surprise: an extraPortMapping without listenAddress binds 0.0.0.0.
import type {ErrorObject, ValidateFunction} from 'ajv';
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import {DEFAULT_HOST_IP} from './ports.js';
import {int, list, rec, str, type Raw} from './raw.js';
import {loadValidator} from './schema.js';
import type {HostBinding} from './crossref.js';
import type {FileSource} from './problem.js';

export const KIND_API_VERSION = 'kind.x-k8s.io/v1alpha4';

export function defaultKindConfig(): Raw {
  return {kind: 'Cluster', apiVersion: KIND_API_VERSION, nodes: [{role: 'control-plane'}]};
}

let validateKind: ValidateFunction | undefined;

/** Schema errors of a kind config (instance paths relative to the config itself). */
export function kindConfigErrors(data: unknown): ErrorObject[] {
  validateKind ??= loadValidator('kind');
  return validateKind(data) ? [] : [...(validateKind.errors ?? [])];
}

/** Where a kind config is written: under `path` of the config, or at the top of its own file. */
export interface KindConfigAt {
  path: ConfigPath;
  file?: FileSource;
  /** clusters.NAME, for messages */
  cluster: string;
  /** the name orx gives the cluster */
  kindName: string;
}

/** The config as orx passes it to kind, and the host ports its nodes publish. */
export function checkKindConfig(config: Raw, at: KindConfigAt, problems: Problems): {config: Raw; bindings: HostBinding[]} {
  const add = (sub: ConfigPath, message: string, where: 'key' | 'value' = 'value') =>
    problems.add([...at.path, ...sub], message, where, at.file);
  const shown = (sub: ConfigPath) => formatPath([...at.path, ...sub]);
  if (config.name !== undefined) add(['name'], `${shown(['name'])}: orx names the cluster itself ("${at.kindName}"); remove name`, 'key');

  const bindings: HostBinding[] = [];
  const nodes = list(config.nodes).map((n, i) => {
    const node = rec(n);
    if (!node) return n;
    if (node.image !== undefined)
      add(['nodes', i, 'image'], `${shown(['nodes', i, 'image'])}: pin the node image with ${at.cluster}.node_image`, 'key');
    const mappings = list(node.extraPortMappings).map((m, j) => {
      const mapping = rec(m);
      if (!mapping) return m;
      const filled: Raw = {...mapping, listenAddress: mapping.listenAddress ?? DEFAULT_HOST_IP, protocol: mapping.protocol ?? 'TCP'};
      const host = int(filled.hostPort);
      const ip = str(filled.listenAddress);
      const protocol = str(filled.protocol)?.toLowerCase();
      // hostPort 0 or absent: kind picks a free port, which cannot clash
      if (host !== undefined && host > 0 && ip !== undefined && (protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp')) {
        const sub = ['nodes', i, 'extraPortMappings', j];
        const label = at.file ? `${formatPath(sub)} of ${at.file.label} (${at.cluster})` : shown(sub);
        bindings.push({port: {host, host_ip: ip, protocol}, path: [...at.path, ...sub], file: at.file, label});
      }
      return filled;
    });
    return node.extraPortMappings === undefined ? node : {...node, extraPortMappings: mappings};
  });
  if (Array.isArray(config.nodes) && nodes.length > 0 && !nodes.some((n) => rec(n)?.role === 'control-plane'))
    add(['nodes'], `${shown(['nodes'])} has no control-plane node; add one with role: control-plane`);

  const out: Raw = {...config};
  delete out.name;
  if (config.nodes !== undefined) out.nodes = nodes;
  return {config: out, bindings};
}
