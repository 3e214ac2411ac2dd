import {withCheckpointedLedger} from '../engine/checkpoint.js';
import {withLedger} from '../ledger/session.js';
import type Dockerode from 'dockerode';
import {loadConfig} from '../config/load.js';
import {connectDocker, engineMessage, isNotFound} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import type {ResourceRecord} from '../ledger/types.js';
import {agentConfigHash, type AgentAttrs} from '../resources/agent/attrs.js';
import {parseAddress} from '../engine/actions.js';
import {LABEL} from '../util/labels.js';
import {dockerNetworkAdvice, isDockerNetwork} from '../config/special-networks.js';
import type {Attrs} from '../resources/types.js';
import type {OrxContext} from '../engine/context.js';
import {takeWorkspaceLock} from '../engine/workspace-lock.js';
import {moveAddressProblem} from '../config/moved.js';
import {networkSubnet} from '../resources/network.js';

function withoutOrxLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !k.startsWith('io.orchestrix.')));
}

/** What a container someone else made looks like in orx's terms; the next plan shows the gap. */
export function agentAttrsFromInspect(info: Dockerode.ContainerInspectInfo, image: string): AgentAttrs {
  const hc = info.HostConfig;
  const securityOpt = (hc.SecurityOpt ?? []) as string[];
  const env = Object.fromEntries((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const ports = Object.entries((hc.PortBindings ?? {}) as Record<string, unknown>).flatMap(([key, binds]) => {
    const [container, protocol] = key.split('/');
    return ((binds as Array<{HostIp: string; HostPort: string}>) ?? []).map((b) => ({
      container: Number(container),
      host: Number(b.HostPort),
      host_ip: b.HostIp || '0.0.0.0',
      protocol: protocol === 'udp' ? 'udp' : 'tcp',
    }));
  });
  const h = info.Config.Healthcheck;
  const base = {
    name: info.Name.replace(/^\//, ''),
    image,
    image_ref: info.Config.Image,
    command: info.Config.Cmd ?? null,
    env,
    user: info.Config.User || null,
    cpus: (hc.NanoCpus ?? 0) / 1e9,
    memory_bytes: hc.Memory ?? 0,
    pids_limit: hc.PidsLimit ?? 0,
    networks: Object.keys(info.NetworkSettings.Networks ?? {})
      .filter((n) => n !== 'none')
      .sort(),
    mounts: (info.Mounts ?? [])
      .filter((m) => m.Type === 'volume')
      .map((m) => ({source: m.Name ?? '', target: m.Destination, read_only: !m.RW})),
    ports,
    health: h?.Test
      ? {
          test: h.Test,
          interval_ms: (h.Interval ?? 0) / 1e6,
          timeout_ms: (h.Timeout ?? 0) / 1e6,
          retries: h.Retries ?? 0,
          start_period_ms: (h.StartPeriod ?? 0) / 1e6,
        }
      : null,
    labels: withoutOrxLabels(info.Config.Labels),
    hardening: {
      read_only_rootfs: Boolean(hc.ReadonlyRootfs),
      cap_drop: (hc.CapDrop ?? []) as string[],
      no_new_privileges: securityOpt.some((o) => o.startsWith('no-new-privileges')),
      seccomp: securityOpt.some((o) => o === 'seccomp=unconfined' || o === 'seccomp:unconfined') ? 'unconfined' : 'default',
      privileged: Boolean(hc.Privileged),
      init: Boolean(hc.Init),
      tmpfs: hc.Tmpfs?.['/tmp'] !== undefined ? '/tmp' : '',
    },
    running: info.State.Running,
  } as unknown as Omit<AgentAttrs, 'config_hash'>;
  return {...base, config_hash: agentConfigHash(base)} as AgentAttrs;
}

async function inspectFor(
  docker: Dockerode,
  kind: string,
  id: string,
  configName: string,
  spec: Attrs,
  owner: ImportOwner,
): Promise<{object_id: string; attributes: Attrs}> {
  try {
    if (kind === 'network') {
      const n = await docker.getNetwork(id).inspect();
      refuseForeign(owner, 'network', n.Name, n.Labels, isDockerNetwork(n.Name) || n.Driver === 'host' || n.Driver === 'null');
      return {
        object_id: n.Id,
        attributes: {name: n.Name, internal: Boolean(n.Internal), labels: withoutOrxLabels(n.Labels), subnet: networkSubnet(n)},
      };
    }
    if (kind === 'volume') {
      const v = await docker.getVolume(id).inspect();
      refuseForeign(owner, 'volume', v.Name, v.Labels);
      return {object_id: v.Name, attributes: {name: v.Name, labels: withoutOrxLabels(v.Labels), backup: Boolean(spec.backup)}};
    }
    if (kind === 'image') {
      const i = await docker.getImage(id).inspect();
      return {object_id: i.Id, attributes: {source: 'ref', ref: String(spec.ref ?? i.RepoTags?.[0] ?? i.Id), id: i.Id}};
    }
    const c = await docker.getContainer(id).inspect();
    refuseForeign(owner, 'container', c.Name.replace(/^\//, ''), c.Config.Labels);
    return {object_id: c.Id, attributes: agentAttrsFromInspect(c, String(spec.image ?? configName))};
  } catch (err) {
    if (err instanceof OrxError) throw err;
    if (isNotFound(err))
      throw new OrxError({
        code: 'not_found',
        message: `no ${kind === 'agent' ? 'container' : kind} "${id}" on the engine`,
        actions: ['Check the id or name with `docker ps -a` / `docker network ls` / `docker volume ls`.'],
      });
    throw new OrxError({code: 'engine_error', kind: 'external', message: engineMessage(err)});
  }
}

interface ImportOwner {
  workspace: string;
  address: string;
}

/**
 * What orx may adopt: never Docker's own networks (an agent placed on `host` or `none` is not
 * isolated, or cannot start), never an object another workspace manages (this one would then
 * replace or delete it).
 */
function refuseForeign(
  owner: ImportOwner,
  kind: string,
  name: string,
  labels: Record<string, string> | null | undefined,
  dockerNetwork = false,
): void {
  if (dockerNetwork) {
    throw new OrxError({
      code: 'import_refused',
      message: `${owner.address}: network ${dockerNetworkAdvice(name, 'import')}`,
      actions: [`Run \`orx plan\` and \`orx apply\` instead: orx creates ${owner.address} as a network of this workspace.`],
    });
  }
  const other = labels?.[LABEL.workspace];
  if (other !== undefined && other !== owner.workspace) {
    throw new OrxError({
      code: 'import_refused',
      message: `${owner.address}: ${kind} "${name}" belongs to workspace "${other}" (label ${LABEL.workspace}), not "${owner.workspace}"; orx never takes over another workspace's objects`,
      actions: [`Let orx create ${owner.address} for this workspace (plan and apply), or manage "${name}" from workspace "${other}".`],
    });
  }
}

/** `orx import ADDR ID`: binds an existing object to an address declared in the configuration. */
export async function importObject(ctx: OrxContext, ledger: Ledger, address: string, id: string): Promise<ResourceRecord> {
  const parsed = parseAddress(address);
  if (!parsed) throw new OrxError({code: 'bad_address', message: `${address}: not a resource address (kind.name, e.g. volume.memory)`});
  if (parsed.kind === 'gateway')
    throw new OrxError({
      code: 'import_unsupported',
      message: `${address}: the egress gateway is made and configured by orx from the plan; another proxy is never adopted`,
      actions: ['Plan and apply: orx creates the gateway for the agents with egress or talks_to.'],
    });
  if (parsed.kind === 'cluster' || parsed.kind === 'manifests') {
    throw new OrxError({
      code: 'import_unsupported',
      message: `${address}: ${parsed.kind === 'cluster' ? 'a kind cluster orx did not create is never adopted' : 'manifests are applied from their files, not imported'}`,
      actions: [
        parsed.kind === 'cluster'
          ? 'Let orx create the cluster (plan and apply), or keep managing that one yourself.'
          : 'Plan and apply: server-side apply takes the objects over as they are.',
      ],
    });
  }
  const cfg = loadConfig(ctx.dir, {vars: ctx.vars}).config;
  const section = {network: cfg.networks, volume: cfg.volumes, image: cfg.images, agent: cfg.agents}[parsed.kind] as Record<
    string,
    unknown
  >;
  if (!(parsed.name in section)) {
    throw new OrxError({
      code: 'not_in_config',
      message: `${address} is not declared in orchestration.yml`,
      actions: [`Add ${parsed.kind === 'agent' ? 'agents' : `${parsed.kind}s`}.${parsed.name} to orchestration.yml, then import it.`],
    });
  }
  if (parsed.kind === 'image' && (section[parsed.name] as {build?: unknown}).build) {
    throw new OrxError({
      code: 'import_unsupported',
      message: `${address} is built by orx from its context; only \`ref\` images can be imported`,
    });
  }
  const lock = await takeWorkspaceLock(ctx, ledger);
  try {
    if (ledger.getResource(address)) {
      throw new OrxError({
        code: 'already_managed',
        message: `${address} is already in the state`,
        actions: [`Run \`orx state rm ${address}\` first to bind it to another object.`],
      });
    }
    const found = await inspectFor(await connectDocker(), parsed.kind, id, parsed.name, section[parsed.name] as Attrs, {
      workspace: cfg.workspace,
      address,
    });
    ledger.applyStateChange(
      {op: 'put', address, kind: parsed.kind, attributes: found.attributes, object_id: found.object_id},
      {message: `${address}: imported ${found.object_id}`},
    );
    return ledger.getResource(address)!;
  } finally {
    ledger.releaseLock(lock.id);
  }
}

/** `orx state rm ADDR`: forget without deleting; the object is left exactly as it is. */
export async function forgetResource(ctx: OrxContext, ledger: Ledger, address: string): Promise<ResourceRecord> {
  const lock = await takeWorkspaceLock(ctx, ledger);
  try {
    const rec = ledger.getResource(address);
    if (!rec) throw new OrxError({code: 'not_found', message: `${address} is not in the state`, actions: ['See `orx state list`.']});
    ledger.removeResource(address, 'state rm');
    if (rec.object_id) ledger.forget(rec.object_id);
    return rec;
  } finally {
    ledger.releaseLock(lock.id);
  }
}

/** `orx state rm ADDRESS`: forgotten by the ledger; the object itself is left as it is. */
export function removeFromState(ctx: OrxContext, address: string): Promise<ResourceRecord> {
  return withCheckpointedLedger(ctx, {reason: 'state-rm'}, (ledger) => forgetResource(ctx, ledger, address));
}

/** `orx import ADDRESS ID`: an existing object recorded under an address of the configuration. */
export function importIntoState(ctx: OrxContext, address: string, id: string): Promise<ResourceRecord> {
  return withCheckpointedLedger(ctx, {reason: 'import'}, (ledger) => importObject(ctx, ledger, address, id));
}

export interface StateMove {
  from: string;
  to: string;
  kind: string;
  object_id: string | null;
  /** the Docker object's name, which stays as it is */
  name: string | null;
  dry_run: boolean;
}

/**
 * `orx state mv SRC DST`: the record at SRC is the record at DST from now on. The Docker object
 * is left exactly as it is, name and labels included (Docker cannot relabel an object, and the
 * name is a computed attribute orx carries over): refresh finds it at DST by its recorded id.
 */
export async function moveResourceInState(ctx: OrxContext, ledger: Ledger, from: string, to: string, dryRun: boolean): Promise<StateMove> {
  const bad = moveAddressProblem(from, to);
  if (bad)
    throw new OrxError({
      code: 'bad_move',
      message: bad,
      actions: ['Give two addresses of the same kind: `orx state mv agent.old agent.new`.'],
    });
  const lock = dryRun ? null : await takeWorkspaceLock(ctx, ledger);
  try {
    const rec = ledger.getResource(from);
    if (!rec) throw new OrxError({code: 'not_found', message: `${from} is not in the state`, actions: ['See `orx state list`.']});
    const there = ledger.getResource(to);
    if (there)
      throw new OrxError({
        code: 'address_taken',
        message: `${to} is already in the state (object ${there.object_id ?? '-'}): a move never overwrites a record`,
        actions: [`Run \`orx state rm ${to}\` first if that record is the one to let go.`],
      });
    if (!rec.object_id)
      throw new OrxError({
        code: 'bad_move',
        message: `${from} has no object id recorded: refresh could not find its object at ${to}`,
        actions: [`Run \`orx apply\` first (it records the object), then move it.`],
      });
    if (!dryRun) ledger.moveResource(from, to, 'state mv');
    const name = rec.attributes.name;
    return {from, to, kind: rec.kind, object_id: rec.object_id, name: typeof name === 'string' ? name : null, dry_run: dryRun};
  } finally {
    if (lock) ledger.releaseLock(lock.id);
  }
}

/** `orx state mv SRC DST [--dry-run]`; a real move ends with a signed checkpoint like `state rm`. */
export async function moveInState(ctx: OrxContext, from: string, to: string, dryRun: boolean): Promise<StateMove> {
  if (dryRun) return withLedger(ctx.dir, (ledger) => moveResourceInState(ctx, ledger, from, to, true));
  return withCheckpointedLedger(ctx, {reason: 'state-mv'}, (ledger) => moveResourceInState(ctx, ledger, from, to, false));
}
