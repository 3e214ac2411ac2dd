// One agent entry -> AgentSpec: tier limits, units, health, ports, mounts and env resolved.
import {preview} from '../errors.js';
import {checkRef} from './crossref.js';
import {MAX_ID, outOfRangeId} from '../util/user-id.js';
import type {Problems} from './diagnostics.js';
import {agentPlacement} from './kube-target.js';
import {agentSecrets, agentToken} from './secrets.js';
import {parseMount} from './mounts.js';
import {dockerNetworkAdvice, isDockerNetwork} from './special-networks.js';
import {MEMORY_PATTERN} from './patterns.js';
import {formatPath, type ConfigPath} from './paths.js';
import {parsePort} from './ports.js';
import {parseAgentEgress, parseTalksTo} from './egress.js';
import {entries, int, list, put, rec, str, stringMap, type Raw} from './raw.js';
import type {AgentSpec, HealthSpec, PortSpec, RollbackCondition, Tier, UpdateSpec} from './types.js';
import {GiB, MiB, formatDuration, parseDuration, parseMemory} from './units.js';

export const TIERS: Readonly<Record<Tier, {cpus: number; memory_bytes: number; pids_limit: number}>> = {
  basic: {cpus: 1, memory_bytes: 2 * GiB, pids_limit: 256},
  pro: {cpus: 4, memory_bytes: 8 * GiB, pids_limit: 1024},
  enterprise: {cpus: 16, memory_bytes: 32 * GiB, pids_limit: 4096},
};

export const HEALTH_DEFAULTS = {interval_ms: 10_000, timeout_ms: 5_000, retries: 3, start_period_ms: 0} as const;

/** Docker refuses less; anything smaller would be a typo ("512" meaning MiB, not bytes). */
export const MIN_MEMORY_BYTES = 6 * MiB;
const MAX_HEALTH_MS = 24 * 3_600_000;
const MEMORY_RE = new RegExp(MEMORY_PATTERN);

/** Labels orx writes itself; a user label with this prefix would confuse refresh and import. */
export const RESERVED_LABEL_PREFIX = 'io.orchestrix.';

export interface Names {
  images: ReadonlySet<string>;
  networks: ReadonlySet<string>;
  volumes: ReadonlySet<string>;
  clusters: ReadonlySet<string>;
  /** images with a `build`, which only this machine's Docker engine has */
  builtImages: ReadonlySet<string>;
}

export interface AgentExtras {
  ports: Array<{port: PortSpec; path: ConfigPath}>;
  depends_on: Array<{name: string; path: ConfigPath}>;
  /** where each of spec.volumes is written */
  mount_paths: ConfigPath[];
}

/** `dir`: the absolute workspace directory, which a kubeconfig path is relative to. */
export function normalizeAgent(
  raw: Raw,
  path: ConfigPath,
  names: Names,
  dir: string,
  problems: Problems,
  rootWaiver: {reason: string} | null = null,
): {spec: AgentSpec; extras: AgentExtras} {
  const image = str(raw.image) ?? '';
  if (raw.allow_root !== undefined) {
    const name = String(path[path.length - 1]);
    problems.add(
      [...path, 'allow_root'],
      `allow_root no longer lets an agent run as root: root is passed only by a waiver of the built-in rule, which a human approves. Replace it with waivers: [{rule: deny-root-user, address: agent.${name}, reason: "...", expires: YYYY-MM-DD}]`,
      'key',
    );
  }
  if (typeof raw.image === 'string') checkRef(image, names.images, 'images', [...path, 'image'], problems);
  const placement = agentPlacement(raw, path, {dir, clusters: names.clusters, builtImages: names.builtImages}, problems);
  // networks, volumes and ports of a kubernetes agent were refused above: not checked twice
  const docker = placement.target === 'docker';

  const tier = (['basic', 'pro', 'enterprise'] as const).find((t) => t === raw.tier) ?? 'basic';
  const limits = {...TIERS[tier]};
  const res = rec(raw.resources);
  if (res) {
    if (typeof res.cpus === 'number' && res.cpus > 0) limits.cpus = res.cpus;
    if (int(res.pids) !== undefined) limits.pids_limit = res.pids as number;
    const mem = memory(res.memory, [...path, 'resources', 'memory'], problems);
    if (mem !== undefined) limits.memory_bytes = mem;
  }

  const networks: string[] = [];
  list(docker ? raw.networks : []).forEach((n, i) => {
    if (typeof n !== 'string' || networks.includes(n)) return; // duplicates: reported by the schema
    networks.push(n);
    const at = [...path, 'networks', i];
    if (isDockerNetwork(n)) problems.add(at, `${formatPath(at)}: ${dockerNetworkAdvice(n, 'ref')}`);
    else checkRef(n, names.networks, 'networks', at, problems);
  });

  const volumes: AgentSpec['volumes'] = [];
  const mount_paths: ConfigPath[] = [];
  const mountedAt = new Map<string, number>();
  const seenSpecs = new Set<string>();
  list(docker ? raw.volumes : []).forEach((v, i) => {
    if (typeof v !== 'string' || seenSpecs.has(v)) return;
    seenSpecs.add(v);
    const at = [...path, 'volumes', i];
    const parsed = parseMount(v);
    if (!parsed.ok) return problems.add(at, `${formatPath(at)} ${parsed.error}`);
    if (!checkRef(parsed.mount.volume, names.volumes, 'volumes', at, problems)) return;
    const earlier = mountedAt.get(parsed.mount.path);
    if (earlier !== undefined)
      return problems.add(at, `${formatPath(at)} mounts a second volume at ${JSON.stringify(parsed.mount.path)} (see volumes[${earlier}])`);
    mountedAt.set(parsed.mount.path, i);
    volumes.push(parsed.mount);
    mount_paths.push(at);
  });

  const ports: AgentExtras['ports'] = [];
  list(docker ? raw.ports : []).forEach((p, i) => {
    const at = [...path, 'ports', i];
    const parsed = parsePort(p);
    if (parsed.ok) ports.push({port: parsed.port, path: at});
    else if (parsed.error) problems.add(at, `${formatPath(at)}: ${parsed.error}`);
  });

  const depends_on: AgentExtras['depends_on'] = [];
  list(raw.depends_on).forEach((d, i) => {
    if (typeof d === 'string' && !depends_on.some((x) => x.name === d)) depends_on.push({name: d, path: [...path, 'depends_on', i]});
  });

  const labels = stringMap(raw.labels);
  checkLabels(labels, [...path, 'labels'], problems);

  const spec: AgentSpec = {
    image,
    command: command(raw.command),
    env: env(raw.env, [...path, 'env'], problems),
    tier,
    cpus: limits.cpus,
    memory_bytes: limits.memory_bytes,
    pids_limit: limits.pids_limit,
    networks,
    volumes,
    ports: ports.map((p) => p.port),
    health: health(raw.health, [...path, 'health'], problems),
    user: userSetting(raw.user, [...path, 'user'], problems),
    allow_root: rootWaiver,
    privileged: raw.privileged === true,
    budget_ms: budgetDuration(rec(raw.budget)?.time, [...path, 'budget', 'time'], problems),
    labels,
    depends_on: depends_on.map((d) => d.name),
    update: update(raw.update, [...path, 'update'], problems),
    secrets: agentSecrets(raw.secrets, [...path, 'secrets'], problems),
    token: agentToken(raw.token, [...path, 'token'], problems),
    egress: parseAgentEgress(raw.egress, [...path, 'egress'], problems),
    talks_to: parseTalksTo(raw.talks_to, String(path[path.length - 1]), [...path, 'talks_to'], problems),
    ...placement,
  };
  checkProbe(spec, path, problems);
  return {spec, extras: {ports, depends_on, mount_paths}};
}

function userSetting(v: unknown, path: ConfigPath, problems: Problems): string | null {
  const user = str(v) ?? null;
  const big = user === null ? null : outOfRangeId(user);
  if (big !== null) problems.add(path, `user "${user}": ${big} is larger than any uid or gid (at most ${MAX_ID})`);
  return user;
}

/** A budget duration in ms (1ms..24h), null when absent or refused. */
export function budgetDuration(v: unknown, path: ConfigPath, problems: Problems): number | null {
  return typeof v === 'string' ? duration(v, 0, 1, path, problems) || null : null;
}

export function checkLabels(labels: Record<string, string>, path: ConfigPath, problems: Problems): void {
  for (const key of Object.keys(labels))
    if (key.startsWith(RESERVED_LABEL_PREFIX))
      problems.add(
        [...path, key],
        `label ${JSON.stringify(preview(key, 60))} in ${formatPath(path)} uses the reserved prefix "${RESERVED_LABEL_PREFIX}"`,
        'key',
      );
}

function command(v: unknown): string[] | null {
  if (typeof v === 'string') return ['/bin/sh', '-c', v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return [...v];
  return null;
}

function env(v: unknown, path: ConfigPath, problems: Problems): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of entries(v)) {
    if (typeof val === 'string' || typeof val === 'boolean') put(out, k, String(val));
    else if (typeof val === 'number') {
      // YAML reads 12345678901234567890 as a float that has already lost digits.
      if (Number.isInteger(val) && !Number.isSafeInteger(val))
        problems.add([...path, k], `${formatPath([...path, k])} is too large to keep exactly; put it in quotes`);
      else put(out, k, String(val));
    }
  }
  return out;
}

function memory(v: unknown, path: ConfigPath, problems: Problems): number | undefined {
  if (typeof v !== 'string') return int(v) !== undefined && (v as number) >= MIN_MEMORY_BYTES ? (v as number) : undefined;
  const bytes = parseMemory(v);
  if (bytes === undefined) {
    // The schema's pattern accepts digit counts JS cannot hold exactly.
    if (MEMORY_RE.test(v)) problems.add(path, `${formatPath(path)} is too large (got ${JSON.stringify(preview(v, 32))})`);
    return undefined;
  }
  if (bytes < MIN_MEMORY_BYTES) {
    problems.add(path, `${formatPath(path)} must be at least 6MiB (got ${JSON.stringify(preview(v, 32))})`);
    return undefined;
  }
  return bytes;
}

function duration(v: unknown, fallback: number, min: number, path: ConfigPath, problems: Problems): number {
  if (typeof v !== 'string') return fallback;
  const ms = parseDuration(v);
  if (ms === undefined) return fallback; // the schema's pattern reported it
  if (ms < min || ms > MAX_HEALTH_MS) {
    problems.add(path, `${formatPath(path)} must be between ${formatDuration(min)} and 24h (got ${JSON.stringify(v)})`);
    return fallback;
  }
  return ms;
}

function health(v: unknown, path: ConfigPath, problems: Problems): HealthSpec | null {
  const h = rec(v);
  if (!h) return null;
  let test: string[] = [];
  const http = rec(h.http);
  if (http && int(http.port) !== undefined) {
    const p = str(http.path) ?? '/';
    test = ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${http.port as number}${p}`];
  } else if (Array.isArray(h.cmd) && h.cmd.every((x) => typeof x === 'string')) {
    test = ['CMD', ...h.cmd];
  } else if (typeof h.shell === 'string') {
    test = ['CMD-SHELL', h.shell];
  }
  let probe: HealthSpec['probe'];
  const hostHttp = rec(h.host_http);
  if (Array.isArray(h.exec) && h.exec.length > 0 && h.exec.every((x) => typeof x === 'string')) probe = {exec: [...h.exec]};
  else if (hostHttp && int(hostHttp.port) !== undefined) probe = {http: {port: hostHttp.port as number, path: str(hostHttp.path) ?? '/'}};
  return {
    test,
    ...(probe ? {probe} : {}),
    interval_ms: duration(h.interval, HEALTH_DEFAULTS.interval_ms, 1, [...path, 'interval'], problems),
    timeout_ms: duration(h.timeout, HEALTH_DEFAULTS.timeout_ms, 1, [...path, 'timeout'], problems),
    retries: int(h.retries) ?? HEALTH_DEFAULTS.retries,
    start_period_ms: duration(h.start_period, HEALTH_DEFAULTS.start_period_ms, 0, [...path, 'start_period'], problems),
  };
}

export function isDefaultUpdate(u: UpdateSpec): boolean {
  return (
    u.strategy === UPDATE_DEFAULTS.strategy &&
    u.health_timeout_ms === UPDATE_DEFAULTS.health_timeout_ms &&
    [...u.rollback_on].sort().join() === [...UPDATE_DEFAULTS.rollback_on].sort().join()
  );
}

export const UPDATE_DEFAULTS: UpdateSpec = {strategy: 'recreate', health_timeout_ms: 60_000, rollback_on: ['unhealthy', 'exit', 'timeout']};

function update(v: unknown, path: ConfigPath, problems: Problems): UpdateSpec {
  const u = rec(v);
  if (!u) return {...UPDATE_DEFAULTS, rollback_on: [...UPDATE_DEFAULTS.rollback_on]};
  const conditions = list(u.rollback_on).filter((c): c is RollbackCondition => c === 'unhealthy' || c === 'exit' || c === 'timeout');
  return {
    strategy: u.strategy === 'blue-green' ? 'blue-green' : 'recreate',
    health_timeout_ms: duration(u.health_timeout, UPDATE_DEFAULTS.health_timeout_ms, 1000, [...path, 'health_timeout'], problems),
    rollback_on: u.rollback_on === undefined ? [...UPDATE_DEFAULTS.rollback_on] : [...new Set(conditions)].sort(),
  };
}

/** orx's HTTP probe reaches the agent from this machine: only through a port it publishes on loopback. */
function checkProbe(spec: AgentSpec, path: ConfigPath, problems: Problems): void {
  const probe = spec.health?.probe;
  if (!probe || !('http' in probe)) return;
  const at = [...path, 'health', 'host_http', 'port'];
  if (spec.target === 'kubernetes') {
    problems.add(
      [...path, 'health', 'host_http'],
      `${formatPath([...path, 'health', 'host_http'])} probes a port on this machine; a kubernetes agent is checked in its pod: use http, cmd or shell`,
      'key',
    );
    return;
  }
  const published = spec.ports.some(
    (p) => p.host === probe.http.port && p.protocol === 'tcp' && (p.host_ip === '127.0.0.1' || p.host_ip === '::1'),
  );
  if (!published)
    problems.add(
      at,
      `${formatPath(at)}: ${probe.http.port} is not one of this agent's ports published on 127.0.0.1 (ports: [{container: ..., host: ${probe.http.port}}])`,
    );
}
