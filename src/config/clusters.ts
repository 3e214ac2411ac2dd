// clusters.NAME -> ClusterSpec: the kind config (inline or from a file in the workspace), the
// node image pinned by digest, and the creation wait.
import {preview} from '../errors.js';
import type {HostBinding} from './crossref.js';
import type {Problems} from './diagnostics.js';
import {checkKindConfig, defaultKindConfig, kindConfigErrors} from './kind-config.js';
import {formatPath, type ConfigPath} from './paths.js';
import {bool, entries, put, rec, str, type Raw} from './raw.js';
import {describeValue, schemaProblems} from './schema-errors.js';
import type {ClusterSpec} from './types.js';
import {formatDuration, parseDuration} from './units.js';
import {lookupInWorkspace, readBounded} from './workspace-files.js';
import {documentData, parseYaml} from './yaml-source.js';
import {type FileSource} from './problem.js';

export const DEFAULT_CLUSTER_WAIT_MS = 5 * 60_000;
const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 3_600_000;
/** A kind config is a page of YAML; this is far above any real one. */
export const MAX_KIND_CONFIG_BYTES = 1024 * 1024;
export const NODE_IMAGE_HINT = 'kindest/node:v1.31.0@sha256:<digest from the kind release notes>';
const PINNED = /@sha256:[a-f0-9]{64}$/;

export interface ClustersResult {
  clusters: Record<string, ClusterSpec>;
  /** host ports the clusters' nodes publish, for the workspace-wide clash check */
  bindings: HostBinding[];
}

export function normalizeClusters(raw: unknown, dir: string, workspace: string, problems: Problems): ClustersResult {
  const clusters: Record<string, ClusterSpec> = {};
  const bindings: HostBinding[] = [];
  for (const [name, v] of entries(raw)) {
    const c = rec(v);
    if (!c) continue;
    const path = ['clusters', name];
    const source = kindConfigSource(c.config, dir, [...path, 'config'], problems);
    // an inline config's own errors, placed at clusters.NAME.config... in orchestration.yml
    if (source && !source.file)
      for (const p of schemaProblems(
        kindConfigErrors(source.data).map((e) => ({...e, instancePath: `/clusters/${name}/config${e.instancePath}`})),
        {clusters: raw},
      ))
        problems.list.push(p);
    let config: Raw = defaultKindConfig();
    if (source) {
      const checked = checkKindConfig(
        source.data,
        {path: source.path, file: source.file, cluster: formatPath(path), kindName: `orx-${workspace}-${name}`},
        problems,
      );
      config = checked.config;
      bindings.push(...checked.bindings);
    }
    put<ClusterSpec>(clusters, name, {
      config,
      config_file: source?.file?.label ?? null,
      node_image: nodeImage(c.node_image, path, problems),
      wait_ms: waitMs(c.wait, [...path, 'wait'], problems),
      export_kubeconfig: bool(c.export_kubeconfig, false),
    });
  }
  return {clusters, bindings};
}

interface KindSource {
  data: Raw;
  /** where the data's top is: in the config, or the top of its own file */
  path: ConfigPath;
  file?: FileSource;
}

function kindConfigSource(v: unknown, dir: string, path: ConfigPath, problems: Problems): KindSource | undefined {
  const inline = rec(v);
  if (inline) return {data: inline, path};
  return typeof v === 'string' ? readKindFile(dir, v, path, problems) : undefined;
}

function readKindFile(dir: string, written: string, path: ConfigPath, problems: Problems): KindSource | undefined {
  const found = lookupInWorkspace(dir, written);
  if (!found.ok) return void problems.add(path, `${formatPath(path)}: kind config ${found.error}`);
  if (found.path.kind !== 'file')
    return void problems.add(
      path,
      `${formatPath(path)}: ${JSON.stringify(preview(written, 80))} is a directory; give the kind config file`,
    );
  const read = readBounded(found.path, MAX_KIND_CONFIG_BYTES);
  if (!read.ok) return void problems.add(path, `${formatPath(path)}: kind config ${read.error}`);
  const label = found.path.rel;
  const parsed = parseYaml(read.bytes.toString('utf8').replace(/^\uFEFF/, ''), label);
  if (!parsed.ok) {
    for (const p of parsed.problems) problems.list.push({...p, file: {label, lines: parsed.lines}});
    return undefined;
  }
  const file: FileSource = {label, lines: parsed.source.lines, source: parsed.source};
  const data = documentData(parsed.source.doc);
  if (!data.ok) return void problems.add([], data.message, 'value', file);
  const config = rec(data.data);
  if (!config) {
    const what = data.data === null || data.data === undefined ? 'is empty' : `must be a mapping (got ${describeValue(data.data)})`;
    return void problems.add(
      [],
      `kind config ${label} ${what}; it needs at least kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4`,
      'value',
      file,
    );
  }
  for (const p of schemaProblems(kindConfigErrors(config), config)) problems.list.push({...p, file});
  return {data: config, path: [], file};
}

function nodeImage(v: unknown, path: ConfigPath, problems: Problems): string {
  const at = [...path, 'node_image'];
  if (v === undefined) {
    problems.add(path, `${formatPath(path)} needs node_image, the kind node image pinned by digest, e.g. ${NODE_IMAGE_HINT}`, 'key');
    return '';
  }
  const image = str(v) ?? '';
  if (typeof v === 'string' && !PINNED.test(image))
    problems.add(
      at,
      `${formatPath(at)} must be pinned by digest, REPO[:TAG]@sha256:<64 hex digits> (got ${JSON.stringify(preview(image, 80))}), e.g. ${NODE_IMAGE_HINT}`,
    );
  return image;
}

function waitMs(v: unknown, path: ConfigPath, problems: Problems): number {
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) return DEFAULT_CLUSTER_WAIT_MS; // absent, or the schema's pattern reported it
  if (ms < MIN_WAIT_MS || ms > MAX_WAIT_MS) {
    problems.add(
      path,
      `${formatPath(path)} must be between ${formatDuration(MIN_WAIT_MS)} and ${formatDuration(MAX_WAIT_MS)} (got ${JSON.stringify(v)})`,
    );
    return DEFAULT_CLUSTER_WAIT_MS;
  }
  return ms;
}
