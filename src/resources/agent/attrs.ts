// The attributes of a Docker agent: what a plan carries, the ledger records and a replace compares.
import {createHash} from 'node:crypto';
import {OrxError} from '../../errors.js';
import {canonicalJson} from '../../util/canonical-json.js';
import {SECRETS_MOUNT} from '../../config/mounts.js';
import {DEFAULT_TOKEN} from '../../config/secrets.js';
import type {HealthProbe, HealthSpec, UpdateSpec} from '../../config/types.js';
import {bad, bool, num, obj, str, strList, strMap} from '../check.js';
import type {Attrs} from '../types.js';

export interface MountAttr {
  source: string;
  target: string;
  read_only: boolean;
}

export interface PortAttr {
  container: number;
  host: number;
  host_ip: string;
  protocol: 'tcp' | 'udp';
}

/**
 * What `docker inspect` shows for every agent. Only `privileged` follows the file (so that
 * policy can see and deny it); the rest is not configurable, by design.
 */
export const HARDENING = {
  read_only_rootfs: true,
  cap_drop: ['ALL'],
  no_new_privileges: true,
  seccomp: 'default',
  privileged: false,
  init: true,
  tmpfs: '/tmp',
} as const;

/** The agent's side of its link network: where it is, and its proxy (the gateway's address on it). */
export interface AgentLink {
  network: string;
  subnet: string;
  gateway_ip: string;
  agent_range: string;
}

export type Hardening = Omit<typeof HARDENING, 'privileged'> & {privileged: boolean};

export interface AgentAttrs extends Attrs {
  name: string;
  image: string;
  image_ref: string;
  command: string[] | null;
  env: Record<string, string>;
  user: string | null;
  /** the image's USER when known at plan time (Dockerfile), else null; what policy reads */
  image_user: string | null;
  allow_root: {reason: string} | null;
  /** true when a network with a route out is attached: policy asks a human for these */
  egress: boolean;
  cpus: number;
  memory_bytes: number;
  pids_limit: number;
  networks: string[];
  mounts: MountAttr[];
  ports: PortAttr[];
  health: HealthSpec | null;
  labels: Record<string, string>;
  hardening: Hardening;
  /** secret name -> reference (never a value); delivered as files under secrets_mount */
  secrets: Record<string, string>;
  /** the identity token every agent gets at secrets_mount/orx-token */
  token: {ttl_ms: number; scopes: string[]; audience: string};
  /** where the secrets directory is mounted: part of the container, so older containers without it are replaced once */
  secrets_mount: string;
  running: boolean;
  /** present only when not the default (recreate): how a replace is rolled out */
  update?: UpdateSpec;
  /** present only for an agent with egress or talks_to: its own network to the egress gateway */
  link?: AgentLink;
  /** its egress allowlist as plans and policy show it ("any" for egress: any); bookkeeping, enforced by the gateway */
  egress_allow?: string[];
  /** the agents it may open connections to, through the gateway; bookkeeping, enforced by the gateway */
  talks_to?: string[];
  config_hash: string;
}

// allow_root, image_user and egress are orx's own bookkeeping for policy: no container change;
// secrets and token are files on the host: rewritten, then the container restarted
export const UPDATABLE = new Set([
  'cpus',
  'memory_bytes',
  'pids_limit',
  'running',
  'allow_root',
  'image_user',
  'egress',
  'secrets',
  'token',
  'update',
  'egress_allow',
  'talks_to',
]);

/**
 * Hash of everything that forces a new container; stored as a label so a list call can tell
 * drift. Canonical JSON: attributes read back from the ledger (keys sorted) hash the same as
 * the ones the configuration gave (a restore recreates agents from recorded attributes).
 */
export function agentConfigHash(a: Omit<AgentAttrs, 'config_hash'> | AgentAttrs): string {
  const forcing = Object.fromEntries(Object.entries(a).filter(([k]) => !UPDATABLE.has(k) && k !== 'config_hash'));
  return createHash('sha256').update(canonicalJson(forcing)).digest('hex').slice(0, 24);
}

/** The attributes of a Docker agent, from a plan file or the ledger: anything else is refused. */
export function validateAgentAttrs(a: Record<string, unknown>): AgentAttrs {
  const health = a.health === null ? null : healthAttr(obj('agent', a.health));
  const mounts = Array.isArray(a.mounts) ? (a.mounts as MountAttr[]) : [];
  const ports = Array.isArray(a.ports) ? (a.ports as PortAttr[]) : [];
  for (const m of mounts) {
    obj('agent', m);
    if (!m.source.startsWith('orx-') && m.source.includes('/'))
      throw new OrxError({code: 'plan_invalid', message: `plan file: agent mounts may only name volumes, not host path ${m.source}`});
  }
  for (const p of ports) str('agent', obj('agent', p), 'host_ip');
  const hardening = obj('agent', a.hardening);
  for (const [k, v] of Object.entries(HARDENING)) {
    if (k === 'privileged' ? typeof hardening[k] !== 'boolean' : JSON.stringify(hardening[k]) !== JSON.stringify(v))
      throw new OrxError({
        code: 'plan_invalid',
        message: `plan file: agent hardening.${k} must be ${JSON.stringify(v)}`,
        actions: ['Make a new plan with `orx plan -out FILE`.'],
      });
  }
  return {
    name: str('agent', a, 'name'),
    image: str('agent', a, 'image'),
    image_ref: str('agent', a, 'image_ref'),
    command: strList('agent', a, 'command', true),
    env: strMap('agent', a, 'env'),
    user: str('agent', a, 'user', true),
    // an agent recorded by `orx import` has none of image_user, allow_root, egress, secrets,
    // token and secrets_mount: they are orx's bookkeeping, not something a container shows
    image_user: a.image_user === undefined ? null : str('agent', a, 'image_user', true),
    allow_root: a.allow_root == null ? null : {reason: str('agent', obj('agent', a.allow_root), 'reason')},
    egress: a.egress === undefined ? false : bool('agent', a, 'egress'),
    cpus: num('agent', a, 'cpus'),
    memory_bytes: num('agent', a, 'memory_bytes'),
    pids_limit: num('agent', a, 'pids_limit'),
    networks: strList('agent', a, 'networks'),
    mounts,
    ports,
    health,
    labels: strMap('agent', a, 'labels'),
    hardening: {...HARDENING, privileged: hardening.privileged as boolean},
    secrets: a.secrets === undefined ? {} : strMap('agent', a, 'secrets'),
    token: a.token === undefined ? {...DEFAULT_TOKEN, scopes: []} : tokenAttr(obj('agent', a.token)),
    secrets_mount: a.secrets_mount === undefined ? SECRETS_MOUNT : str('agent', a, 'secrets_mount'),
    running: bool('agent', a, 'running'),
    ...(a.update == null ? {} : {update: updateAttr(obj('agent', a.update))}),
    ...(a.link == null ? {} : {link: linkAttr(obj('agent', a.link))}),
    ...(a.egress_allow == null ? {} : {egress_allow: strList('agent', a, 'egress_allow')}),
    ...(a.talks_to == null ? {} : {talks_to: strList('agent', a, 'talks_to')}),
    config_hash: str('agent', a, 'config_hash'),
  };
}

const IPV4 = /^(?:(?:0|[1-9]\d{0,2})\.){3}(?:0|[1-9]\d{0,2})$/;

function linkAttr(l: Record<string, unknown>): AgentLink {
  const gateway_ip = str('agent', l, 'gateway_ip');
  // it becomes the agent's HTTP_PROXY: an address, never a URL of the plan's choosing
  if (!IPV4.test(gateway_ip)) bad('agent', 'link.gateway_ip', 'an IPv4 address');
  return {network: str('agent', l, 'network'), subnet: str('agent', l, 'subnet'), gateway_ip, agent_range: str('agent', l, 'agent_range')};
}

function updateAttr(u: Record<string, unknown>): UpdateSpec {
  const strategy = str('agent', u, 'strategy');
  if (strategy !== 'recreate' && strategy !== 'blue-green') bad('agent', 'update.strategy', 'recreate or blue-green');
  return {
    strategy,
    health_timeout_ms: num('agent', u, 'health_timeout_ms'),
    rollback_on: strList('agent', u, 'rollback_on') as UpdateSpec['rollback_on'],
  };
}

function healthAttr(h: Record<string, unknown>): HealthSpec {
  return {
    test: strList('agent', h, 'test'),
    ...(h.probe === undefined ? {} : {probe: probeAttr(obj('agent', h.probe))}),
    interval_ms: num('agent', h, 'interval_ms'),
    timeout_ms: num('agent', h, 'timeout_ms'),
    retries: num('agent', h, 'retries'),
    start_period_ms: num('agent', h, 'start_period_ms'),
  };
}

function probeAttr(p: Record<string, unknown>): HealthProbe {
  if (p.exec !== undefined) return {exec: strList('agent', p, 'exec')};
  const http = obj('agent', p.http);
  return {http: {port: num('agent', http, 'port'), path: str('agent', http, 'path')}};
}

function tokenAttr(t: Record<string, unknown>): AgentAttrs['token'] {
  return {ttl_ms: num('agent', t, 'ttl_ms'), scopes: strList('agent', t, 'scopes') ?? [], audience: str('agent', t, 'audience')};
}

/** A Docker agent's step attributes (the dispatch to Kubernetes agents happened before). */
export function agentAttrs(input: unknown): AgentAttrs {
  return validateAgentAttrs(obj('agent', input));
}
