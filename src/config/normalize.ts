// The parsed YAML (already schema-checked, possibly with errors) -> WorkspaceConfig with every
// default filled in and every name resolved. Problems the schema cannot express (references,
// units, paths, clashes) are added to `problems`; the result is only used when there are none.
import {resolve} from 'node:path';
import {budgetDuration, checkLabels, normalizeAgent, type AgentExtras} from './agent.js';
import {dockerfileUser, resolveBuild} from './build-context.js';
import {normalizeClusters} from './clusters.js';
import {checkDependencies, checkHostPorts, type HostBinding} from './crossref.js';
import type {Problems} from './diagnostics.js';
import {normalizeManifests} from './manifests.js';
import {bool, entries, put, rec, str, stringMap, type Raw} from './raw.js';
import {secretProviders, signingKeySetting} from './secrets.js';
import {dockerNetworkAdvice, isDockerNetwork} from './special-networks.js';
import {normalizeWaivers} from './waivers.js';
import {normalizeMoved} from './moved.js';
import {checkEgressPlacement, parseGateway} from './egress.js';
import type {ConfigPath} from './paths.js';
import {MAX_ID, outOfRangeId} from '../util/user-id.js';
import {checkVolumeOwners, rwMounters} from './volume-owners.js';
import type {AgentSpec, ImageSpec, NetworkSpec, VolumeSpec, Waiver, WorkspaceConfig} from './types.js';
import {parseMemory} from './units.js';

export const DEFAULT_BACKUP_DESTINATION = '.orx/backups';
export const DEFAULT_DOCKERFILE = 'Dockerfile';

export function normalize(raw: Raw, dir: string, problems: Problems): WorkspaceConfig {
  const networks: Record<string, NetworkSpec> = {};
  for (const [name, v] of entries(raw.networks)) {
    const n = rec(v) ?? {};
    const spec = {internal: bool(n.internal, true), labels: stringMap(n.labels)};
    if (isDockerNetwork(name)) problems.add(['networks', name], `networks.${name}: ${dockerNetworkAdvice(name, 'key')}`, 'key');
    put(networks, name, spec);
    checkLabels(spec.labels, ['networks', name, 'labels'], problems);
  }

  const volumes: Record<string, VolumeSpec> = {};
  for (const [name, v] of entries(raw.volumes)) {
    const n = rec(v) ?? {};
    const spec: VolumeSpec = {
      labels: stringMap(n.labels),
      backup: bool(n.backup, false),
      quiesce: n.quiesce === 'stop' ? 'stop' : 'pause',
      owner: str(n.owner) ?? null,
    };
    put(volumes, name, spec);
    checkLabels(spec.labels, ['volumes', name, 'labels'], problems);
    const big = spec.owner === null ? null : outOfRangeId(spec.owner);
    if (big !== null)
      problems.add(
        ['volumes', name, 'owner'],
        `volumes.${name}.owner "${spec.owner}": ${big} is larger than any uid or gid (at most ${MAX_ID})`,
      );
  }

  const images: Record<string, ImageSpec> = {};
  for (const [name, v] of entries(raw.images)) {
    const img = rec(v) ?? {};
    const ref = str(img.ref);
    const build = rec(img.build);
    const verifyKey = str(rec(img.verify)?.key);
    if (ref !== undefined && build === undefined)
      put<ImageSpec>(images, name, verifyKey ? {ref, verify_key: resolve(dir, verifyKey)} : {ref});
    else if (build !== undefined && ref === undefined && typeof build.context === 'string') {
      const dockerfile = str(build.dockerfile) ?? DEFAULT_DOCKERFILE;
      const spec = resolveBuild(dir, build.context, dockerfile, stringMap(build.args), ['images', name, 'build'], problems);
      if (spec) put<ImageSpec>(images, name, {build: spec});
    }
  }

  const workspace = str(raw.workspace) ?? '';
  const {clusters, bindings} = normalizeClusters(raw.clusters, dir, workspace, problems);
  const names = {
    images: new Set(entries(raw.images).map(([k]) => k)),
    networks: new Set(Object.keys(networks)),
    volumes: new Set(Object.keys(volumes)),
    clusters: new Set(entries(raw.clusters).map(([k]) => k)),
    builtImages: new Set(entries(raw.images).flatMap(([k, v]) => (rec(v)?.build !== undefined ? [k] : []))),
  };
  const manifests = normalizeManifests(raw.manifests, {dir, clusters: names.clusters}, workspace, problems);

  const waivers = normalizeWaivers(raw, problems);
  const agents: Record<string, AgentSpec> = {};
  const deps = new Map<string, AgentExtras['depends_on']>();
  const mountPaths = new Map<string, ConfigPath[]>();
  // the clusters' first: a clash is then reported at the agent's port, in this file
  const ports: HostBinding[] = [...bindings];
  for (const [name, v] of entries(raw.agents)) {
    const a = rec(v);
    if (!a) continue;
    const {spec, extras} = normalizeAgent(a, ['agents', name], names, dir, problems, rootWaiver(waivers, `agent.${name}`));
    put(agents, name, spec);
    // Docker publishes ports only through a network with a route out: on `none` or an
    // internal network they would be silently unreachable
    if (extras.ports.length > 0 && !spec.networks.some((n) => networks[n] && !networks[n].internal)) {
      problems.add(
        extras.ports[0].path,
        `agent "${name}" publishes ports but is on no network with \`internal: false\`; add one to its networks (ports are never published from \`none\` or an internal network)`,
      );
    }
    deps.set(name, extras.depends_on);
    mountPaths.set(name, extras.mount_paths);
    ports.push(...extras.ports);
  }
  checkDependencies(deps, problems);
  checkEgressPlacement(agents, networks, problems);
  // what an agent runs as, as far as the files say: `user`, else a built image's Dockerfile USER
  // (each Dockerfile read once: every volume asks about every agent)
  const imageUsers = new Map<string, string | undefined>();
  const imageUser = (image: string): string | undefined => {
    if (!imageUsers.has(image)) {
      const build = images[image]?.build;
      imageUsers.set(image, build ? (dockerfileUser(build.context_path, build.dockerfile) ?? '') : undefined);
    }
    return imageUsers.get(image);
  };
  const userOf = (a: AgentSpec) => a.user ?? imageUser(a.image);
  checkVolumeOwners(volumes, (v) => rwMounters(v, agents, userOf, (a, i) => mountPaths.get(a)![i]), problems);
  checkHostPorts(ports, problems);

  const autonomy = raw.autonomy;
  const signing = signingKey(dir, str(rec(raw.signing)?.key), problems);
  return {
    workspace,
    autonomy: autonomy === 0 || autonomy === 1 || autonomy === 2 || autonomy === 3 ? autonomy : 0,
    kill_switch: bool(raw.kill_switch, false),
    networks,
    volumes,
    images,
    agents,
    clusters,
    manifests,
    chaos: {allowed: bool(rec(raw.chaos)?.allowed, false)},
    dr: {
      destination: str(rec(raw.dr)?.destination) ?? DEFAULT_BACKUP_DESTINATION,
      health_timeout_ms: healthTimeout(rec(raw.dr)?.health_timeout, problems),
      skip_special: bool(rec(raw.dr)?.skip_special, false),
      max_volume_bytes: maxVolumeBytes(rec(raw.dr)?.max_volume_bytes, problems),
    },
    budgets: budgets(rec(raw.budgets), problems),
    signing_key: signing.path,
    signing_key_ref: signing.ref,
    secrets: secretProviders(raw.secrets, problems),
    waivers,
    egress_gateway: parseGateway(raw.egress_gateway, problems, new Set(Object.keys(networks))),
    ...moved(raw, problems),
  };
}

/**
 * An agent with a deny-root-user waiver is expected to run as root: its attributes say so (for
 * review, and for Kubernetes' runAsNonRoot); whether the waiver is still in force is decided when
 * policy is evaluated and when the container is created, never from these attributes.
 */
/** present only when the file has entries: a configuration without them stays as it was */
function moved(raw: Raw, problems: Problems): {moved?: WorkspaceConfig['moved']} {
  const list = normalizeMoved(raw, problems);
  return list.length > 0 ? {moved: list} : {};
}

function rootWaiver(waivers: Waiver[], address: string): {reason: string} | null {
  const w = waivers.find((x) => x.rule === 'deny-root-user' && x.address === address);
  return w ? {reason: w.reason} : null;
}

export const DEFAULT_RESTORE_HEALTH_TIMEOUT_MS = 120_000;

export const DEFAULT_MAX_VOLUME_BYTES = 20 * 1024 ** 3;

function maxVolumeBytes(v: unknown, problems: Problems): number {
  if (v === undefined) return DEFAULT_MAX_VOLUME_BYTES;
  const bytes = typeof v === 'number' || typeof v === 'string' ? parseMemory(v) : undefined;
  if (bytes === undefined || bytes <= 0) {
    problems.add(
      ['dr', 'max_volume_bytes'],
      `dr.max_volume_bytes must be a size like "20GiB" or a number of bytes (got ${JSON.stringify(v)})`,
    );
    return DEFAULT_MAX_VOLUME_BYTES;
  }
  return bytes;
}

function healthTimeout(v: unknown, problems: Problems): number {
  const ms = budgetDuration(v, ['dr', 'health_timeout'], problems);
  return ms ?? DEFAULT_RESTORE_HEALTH_TIMEOUT_MS;
}

function budgets(raw: Record<string, unknown> | undefined, problems: Problems): WorkspaceConfig['budgets'] {
  const out: WorkspaceConfig['budgets'] = {};
  for (const kind of ['network', 'volume', 'image', 'agent', 'cluster', 'manifests'] as const) {
    const ms = budgetDuration(raw?.[kind], ['budgets', kind], problems);
    if (ms !== null) out[kind] = ms;
  }
  return out;
}

function signingKey(dir: string, key: string | undefined, problems: Problems): {path: string | null; ref: string | null} {
  const setting = signingKeySetting(key);
  if (setting.path !== null && /^[a-z][a-z0-9+.-]*:\/\//i.test(setting.path)) {
    problems.add(
      ['signing', 'key'],
      `signing.key ${JSON.stringify(setting.path.slice(0, 40))}: not a key file path, and not a secret reference orx knows (op://, env://, file://)`,
    );
    return {path: null, ref: null};
  }
  return {path: setting.path === null ? null : resolve(dir, setting.path), ref: setting.ref};
}
