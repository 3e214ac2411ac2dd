// A Docker agent's container, one Engine API call at a time: create, update, remove, and the spec the engine is given.
import type Dockerode from 'dockerode';
import {engineMessage, isNotFound, statusCode} from '../../drivers/docker.js';
import {retryTransient} from '../../drivers/engine-retry.js';
import {OrxError} from '../../errors.js';
import {SECRETS_MOUNT} from '../../config/mounts.js';
import {effectiveUser, numericSpec} from './user.js';
import {LABEL, ownLabels} from '../../util/labels.js';
import {assertOurs} from '../network.js';
import {PROXY_PORT} from '../../util/proxy-port.js';
import {dropLink} from '../../egress/gateway-docker.js';
import {gatewayNames} from '../../egress/names.js';
import type {ApplyContext, PlannedStep, StepOutcome} from '../types.js';
import {agentAttrs, type AgentAttrs} from './attrs.js';

export async function removeAgent(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  const name = step.before?.name as string | undefined;
  const ref = step.object_id ?? name;
  if (!ref) return;
  const c = ctx.docker.getContainer(ref);
  const mountedAt = await secretsMountSource(c, step.before?.secrets_mount);
  try {
    await c.stop({t: 10});
  } catch (err) {
    // 304: already stopped
    if (!isNotFound(err) && statusCode(err) !== 304) throw new Error(`cannot stop container: ${engineMessage(err)}`, {cause: err});
  }
  await forceRemove(c);
  if (name) ctx.secrets.remove(step.address, name, step.action === 'replace' ? 'agent replaced' : 'agent deleted', mountedAt);
  await dropOldLink(step, ctx);
}

/** The link of an agent that no longer has one goes with its container (the gateway leaves it first). */
export async function dropOldLink(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  const was = (step.before?.link as AgentAttrs['link'] | undefined)?.network;
  const now = (step.after?.link as AgentAttrs['link'] | undefined)?.network;
  if (was && was !== now) await dropLink(ctx.docker, ctx.workspace, was, gatewayNames.container(ctx.workspace));
}

/** From an inspect or a list entry: both carry the container's mounts. */
export function secretsMountOf(
  info: {Mounts?: Array<{Type?: string; Destination: string; Source: string}>},
  target: unknown,
): string | null {
  const at = typeof target === 'string' ? target : SECRETS_MOUNT;
  return info.Mounts?.find((m) => m.Type === 'bind' && m.Destination === at)?.Source ?? null;
}

/**
 * The host directory a container has bind-mounted at its secrets mount, as the engine recorded
 * it when the container was created (null when the container or the mount is gone).
 */
export async function secretsMountSource(c: Dockerode.Container, target: unknown): Promise<string | null> {
  try {
    return secretsMountOf(await c.inspect(), target);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw new Error(`cannot inspect container: ${engineMessage(err)}`, {cause: err});
  }
}

export async function forceRemove(c: Dockerode.Container): Promise<void> {
  try {
    await c.remove({force: true});
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot remove container: ${engineMessage(err)}`, {cause: err});
  }
}

export async function updateAgent(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  const after = agentAttrs(step.after);
  const c = ctx.docker.getContainer(step.object_id ?? after.name);
  const changed = new Set(step.changes.map((ch) => ch.path.split('.')[0]));
  if (changed.has('cpus') || changed.has('memory_bytes') || changed.has('pids_limit')) {
    await c.update({
      Memory: after.memory_bytes,
      MemorySwap: after.memory_bytes,
      NanoCpus: Math.round(after.cpus * 1e9),
      PidsLimit: after.pids_limit,
    });
  }
  const info = await c.inspect();
  // new secret values (or a stopped agent, whose files a halt removed) mean fresh files and a
  // fresh token; a running agent is restarted so that it reads them
  const refresh = changed.has('secrets') || changed.has('token') || !info.State.Running;
  // into the directory the container really mounts (an earlier XDG_RUNTIME_DIR's, if it changed)
  const mountedAt = secretsMountOf(info, after.secrets_mount);
  const fingerprints = refresh
    ? await ctx.secrets.deliver(step.address, after, numericSpec(await effectiveUser(after, ctx)), mountedAt)
    : undefined;
  if (!info.State.Running) await c.start();
  else if (refresh) await c.restart({t: 10});
  return {object_id: info.Id, attributes: after, ...(fingerprints ? {secret_fingerprints: fingerprints} : {})};
}

/** `aliases: false`: reachable by no agent name yet (a blue-green container before it is healthy). */
export async function createAgent(step: PlannedStep, ctx: ApplyContext, opts: {aliases: boolean} = {aliases: true}): Promise<StepOutcome> {
  const after = agentAttrs(step.after);
  await refuseRootImage(step.address, after, ctx);
  // the bind mount's source must exist before the container is created
  const fingerprints = await ctx.secrets.deliver(step.address, after, numericSpec(await effectiveUser(after, ctx)));

  let container: Dockerode.Container;
  try {
    container = await createContainer(ctx, containerSpec(step, after, ctx, opts.aliases));
  } catch (err) {
    // the name is taken: most often by this same container, left by an interrupted apply
    if (statusCode(err) !== 409) {
      ctx.secrets.remove(step.address, after.name, 'agent not created');
      throw new Error(`cannot create container: ${engineMessage(err)}`, {cause: err});
    }
    const adopted = await adoptExisting(step, after, ctx);
    if (adopted) return {...adopted, secret_fingerprints: fingerprints};
    container = await createContainer(ctx, containerSpec(step, after, ctx, opts.aliases));
  }
  try {
    if (opts.aliases) await connectNetworks(container, step.address, after, agentNetworks(after).slice(0, 1), ctx);
    await container.start();
  } catch (err) {
    await forceRemove(container);
    ctx.secrets.remove(step.address, after.name, 'agent did not start');
    throw new Error(`cannot start container: ${engineMessage(err)}`, {cause: err});
  }
  // like Terraform's must_run: a container that died at once is a failed step, not a success
  const state = (await container.inspect()).State;
  if (!state.Running && state.Status !== 'restarting') {
    await forceRemove(container);
    ctx.secrets.remove(step.address, after.name, 'agent exited at start');
    throw new Error(`container exited right after start (exit code ${state.ExitCode}${state.Error ? `: ${state.Error}` : ''})`);
  }
  return {object_id: container.id, attributes: after, secret_fingerprints: fingerprints};
}

/**
 * The container of `after`, created under `name` (a replace's temporary one) and joined to its
 * networks, not started; its secrets delivered into that name's directory. Nothing of it is
 * left when this fails.
 */
export async function createStopped(
  step: PlannedStep,
  after: AgentAttrs,
  ctx: ApplyContext,
  name: string,
): Promise<{container: Dockerode.Container; fingerprints: Record<string, string>}> {
  await refuseRootImage(step.address, after, ctx);
  const fingerprints = await ctx.secrets.deliver(step.address, {...after, name}, numericSpec(await effectiveUser(after, ctx)));
  let container: Dockerode.Container | undefined;
  try {
    container = await createContainer(ctx, containerSpec(step, after, ctx, true, name));
    await connectNetworks(container, step.address, after, agentNetworks(after).slice(0, 1), ctx);
    return {container, fingerprints};
  } catch (err) {
    if (container) await forceRemove(container).catch(() => undefined);
    ctx.secrets.discard(name, 'agent not created');
    throw new Error(`cannot create the new container: ${engineMessage(err)}`, {cause: err});
  }
}

/** A create the engine failed over another client's concurrent change to the image's layers is tried again. */
function createContainer(ctx: ApplyContext, spec: Dockerode.ContainerCreateOptions): Promise<Dockerode.Container> {
  return retryTransient(() => ctx.docker.createContainer(spec), {signal: ctx.signal});
}

/** Finishes the job of a container with the same configuration, or clears a stale one away. */
async function adoptExisting(step: PlannedStep, after: AgentAttrs, ctx: ApplyContext): Promise<StepOutcome | null> {
  const existing = await ctx.docker.getContainer(after.name).inspect();
  assertOurs('container', after.name, existing.Config.Labels, ctx, step.address);
  const c = ctx.docker.getContainer(existing.Id);
  if (existing.Config.Labels?.[LABEL.configHash] === after.config_hash) {
    await connectNetworks(c, step.address, after, Object.keys(existing.NetworkSettings.Networks ?? {}), ctx);
    if (!existing.State.Running) await c.start();
    return {object_id: existing.Id, attributes: after, adopted: true};
  }
  await forceRemove(c);
  return null;
}

// the waiver is looked up in today's orchestration.yml: a plan's allow_root attribute is no proof of one
async function refuseRootImage(address: string, after: AgentAttrs, ctx: ApplyContext): Promise<void> {
  if (ctx.waived?.('deny-root-user', address)) return;
  const who = await effectiveUser(after, ctx);
  if (who.uid === 0) throw rootRefused(address, after, who.user);
}

function rootRefused(address: string, after: AgentAttrs, user: string): OrxError {
  const name = address.slice('agent.'.length);
  return new OrxError({
    code: 'root_user',
    message: `${address}: ${after.user ? `user "${user}"` : `image ${after.image} (USER "${user}")`} runs as uid 0, and agents never run as root without a waiver of deny-root-user`,
    actions: [
      `Set \`user:\` on agents.${name} (e.g. "1000:1000"), use an image with a non-root USER, or add a waiver to orchestration.yml: waivers: [{rule: deny-root-user, address: ${address}, reason: "...", expires: YYYY-MM-DD}].`,
    ],
  });
}

export async function connectNetworks(
  c: Dockerode.Container,
  address: string,
  after: AgentAttrs,
  already: string[],
  ctx: ApplyContext,
): Promise<void> {
  for (const net of agentNetworks(after)) {
    if (already.includes(net)) continue;
    await ctx.docker.getNetwork(net).connect({Container: c.id, EndpointConfig: {Aliases: [aliasOf(address)]}});
  }
}

/** Its link to the egress gateway first (when it has one), then the workspace networks it joins. */
export function agentNetworks(after: AgentAttrs): string[] {
  return after.link ? [after.link.network, ...after.networks] : after.networks;
}

/**
 * The gateway's address on the agent's own link, for every client that honours the usual
 * variables (both spellings: curl reads only the lower-case http_proxy). Nothing bypasses it:
 * loopback needs no proxy, and there is no other way out to exempt.
 */
export function proxyEnv(after: AgentAttrs): string[] {
  if (!after.link) return [];
  const url = `http://${after.link.gateway_ip}:${PROXY_PORT}`;
  const none = 'localhost,127.0.0.1,::1';
  return [`HTTP_PROXY=${url}`, `HTTPS_PROXY=${url}`, `http_proxy=${url}`, `https_proxy=${url}`, `NO_PROXY=${none}`, `no_proxy=${none}`];
}

/** Other agents reach it by its name in orchestration.yml, whatever its container is called (blue-green names the new one apart). */
export function aliasOf(address: string): string {
  return address.slice('agent.'.length);
}

function tmpfsOptions(user: string | null): string {
  const opts = ['rw', 'noexec', 'nosuid', 'nodev', 'size=64m', 'mode=1777'];
  const [uid, gid] = (user ?? '').split(':');
  if (uid && /^\d+$/.test(uid)) opts.push(`uid=${uid}`);
  if (gid && /^\d+$/.test(gid)) opts.push(`gid=${gid}`);
  return opts.join(',');
}

/** `name`: the container's (a replace's temporary one); its secrets directory is named for it. */
export function containerSpec(
  step: PlannedStep,
  after: AgentAttrs,
  ctx: ApplyContext,
  aliases = true,
  name = after.name,
): Dockerode.ContainerCreateOptions {
  const ports = Object.fromEntries(after.ports.map((p) => [`${p.container}/${p.protocol}`, {}]));
  const bindings: Record<string, Array<{HostIp: string; HostPort: string}>> = {};
  for (const p of after.ports) (bindings[`${p.container}/${p.protocol}`] ??= []).push({HostIp: p.host_ip, HostPort: String(p.host)});
  const first = agentNetworks(after)[0];
  return {
    name,
    Image: after.image_ref,
    ...(after.command ? {Cmd: after.command} : {}),
    // the path of the secrets, never their values
    Env: [...Object.entries(after.env).map(([k, v]) => `${k}=${v}`), ...proxyEnv(after), `ORX_SECRETS_DIR=${after.secrets_mount}`],
    ...(after.user ? {User: after.user} : {}),
    Labels: {...after.labels, ...ownLabels(ctx.workspace, step.address, step.idempotency_key), [LABEL.configHash]: after.config_hash},
    ExposedPorts: ports,
    ...(after.health
      ? {
          Healthcheck: {
            Test: after.health.test,
            Interval: after.health.interval_ms * 1e6,
            Timeout: after.health.timeout_ms * 1e6,
            Retries: after.health.retries,
            StartPeriod: after.health.start_period_ms * 1e6,
          },
        }
      : {}),
    HostConfig: {
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: after.hardening.privileged,
      Init: true,
      PidsLimit: after.pids_limit,
      Memory: after.memory_bytes,
      MemorySwap: after.memory_bytes,
      NanoCpus: Math.round(after.cpus * 1e9),
      Tmpfs: {'/tmp': tmpfsOptions(after.user)},
      Mounts: [
        // NoCopy: the engine would copy the image's directory (and its owner) onto an empty volume, undoing the volume's hand-over to its owner
        ...after.mounts.map((m) => ({
          Type: 'volume' as const,
          Source: m.source,
          Target: m.target,
          ReadOnly: m.read_only,
          VolumeOptions: {NoCopy: true} as Dockerode.MountSettings['VolumeOptions'],
        })),
        {Type: 'bind' as const, Source: ctx.secrets.dirFor(name), Target: after.secrets_mount, ReadOnly: true},
      ],
      PortBindings: bindings,
      // without aliases (a blue-green container before it is healthy): on no network at all, joined once healthy
      NetworkMode: aliases ? (first ?? 'none') : 'none',
      RestartPolicy: {Name: 'unless-stopped'},
    },
    ...(first && aliases ? {NetworkingConfig: {EndpointsConfig: {[first]: {Aliases: [aliasOf(step.address)]}}}} : {}),
  };
}
