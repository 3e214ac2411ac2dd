// The gateway's Docker objects: its uplink and link networks, its configuration directory, its
// container, and telling squid to reload. Each call is safe to repeat after a crash.
import {chmodSync, mkdirSync, renameSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type Dockerode from 'dockerode';
import {demuxLogs, engineMessage, followProgress, isNotFound, statusCode, type Docker} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import {LABEL, ownLabels} from '../util/labels.js';
import type {GatewayAttrs, LinkAttr} from './attrs.js';
import {gatewayConfigHash} from './attrs.js';
import {CONFIG_DIR_IN_CONTAINER, CONFIG_FILE, renderSquidConfig} from './squid-config.js';
import {PROXY_PORT} from '../util/proxy-port.js';

export const GATEWAY_USER = 'proxy';
const READY_LINE = 'Accepting HTTP Socket connections';
const READY_TIMEOUT_MS = 30_000;

/** Where the configuration lives on the host: inside .orx (the operator's, mode 0700), read-only in the container. */
export function configDir(dir: string): string {
  return join(dir, '.orx', 'egress');
}

/** Written whole under a temporary name, then renamed: squid never reads half a file. */
export function writeConfig(dir: string, g: GatewayAttrs): string {
  const d = configDir(dir);
  mkdirSync(d, {recursive: true, mode: 0o755});
  // squid runs as its own user in the container: it reads through the bind mount, never writes
  chmodSync(d, 0o755);
  const tmp = join(d, `.${CONFIG_FILE}.${process.pid}`);
  writeFileSync(tmp, renderSquidConfig(g), {mode: 0o644});
  renameSync(tmp, join(d, CONFIG_FILE));
  return d;
}

async function networkExists(docker: Docker, name: string): Promise<Dockerode.NetworkInspectInfo | null> {
  try {
    return await docker.getNetwork(name).inspect();
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

function refuseForeign(name: string, info: Dockerode.NetworkInspectInfo, ws: string): void {
  if (info.Labels?.[LABEL.workspace] === ws) return;
  throw new OrxError({
    code: 'name_conflict',
    message: `gateway.egress: a network named "${name}" already exists and orx does not manage it`,
    actions: ['Remove it (`docker network rm`), then apply again.'],
  });
}

export async function ensureUplink(docker: Docker, g: GatewayAttrs, address: string, key: string): Promise<void> {
  if (!g.uplink_managed) {
    for (const name of g.uplinks)
      if (!(await networkExists(docker, name)))
        throw new OrxError({
          code: 'uplink_missing',
          message: `gateway.egress: uplink network "${name}" (egress_gateway.uplinks) does not exist`,
          actions: [`Create it (\`docker network create ${name}\`), or remove it from egress_gateway.uplinks.`],
        });
    return;
  }
  const name = g.uplinks[0];
  const info = await networkExists(docker, name);
  if (info) return refuseForeign(name, info, g.workspace);
  await docker.createNetwork({
    Name: name,
    Driver: 'bridge',
    Internal: false,
    CheckDuplicate: true,
    Labels: ownLabels(g.workspace, address, key),
  });
}

export async function ensureLink(docker: Docker, ws: string, link: LinkAttr, address: string, key: string): Promise<void> {
  const info = await networkExists(docker, link.network);
  if (info) return refuseForeign(link.network, info, ws);
  const base = link.subnet.split('/')[0].split('.').map(Number);
  const bridge = `${base[0]}.${base[1]}.${base[2]}.${base[3] + 1}`;
  try {
    await docker.createNetwork({
      Name: link.network,
      Driver: 'bridge',
      // no route out: the agent's only way anywhere is the gateway's proxy
      Internal: true,
      CheckDuplicate: true,
      IPAM: {Driver: 'default', Config: [{Subnet: link.subnet, Gateway: bridge, IPRange: link.agent_range}]},
      Labels: ownLabels(ws, address, key),
    });
  } catch (err) {
    const m = engineMessage(err);
    if (/overlap/i.test(m))
      throw new OrxError({
        code: 'link_pool_taken',
        message: `gateway.egress: link network ${link.subnet} for ${link.network} overlaps a network that exists already: ${m}`,
        actions: ['Set egress_gateway.link_pool in orchestration.yml to a range no Docker network, LAN or VPN of this machine uses.'],
      });
    throw err;
  }
}

/** A link no agent needs any more: the gateway leaves it, and it goes once no container is on it. */
export async function dropLink(docker: Docker, ws: string, network: string, gatewayName: string | null): Promise<void> {
  const info = await networkExists(docker, network);
  if (!info || info.Labels?.[LABEL.workspace] !== ws) return;
  const net = docker.getNetwork(network);
  if (gatewayName) await net.disconnect({Container: gatewayName, Force: true}).catch(() => undefined);
  const left = await networkExists(docker, network);
  const others = Object.keys(left?.Containers ?? {}).length;
  if (!left || others > 0) return;
  await net.remove().catch((err: unknown) => {
    if (!isNotFound(err)) throw new Error(`cannot remove link network ${network}: ${engineMessage(err)}`, {cause: err});
  });
}

export async function ensureImage(docker: Docker, image: string, signal?: AbortSignal): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await followProgress(docker, await docker.pull(image, {abortSignal: signal}));
  } catch (err) {
    throw new OrxError({
      code: 'image_unavailable',
      kind: 'external',
      message: `gateway.egress: image ${image} is not on this machine and cannot be pulled: ${engineMessage(err).trim()}`,
      actions: [
        "Set egress_gateway.image to a squid image this engine has or can pull (pinned by digest), e.g. one built from Debian's squid package.",
      ],
    });
  }
}

export function gatewaySpec(dir: string, g: GatewayAttrs, address: string, key: string): Dockerode.ContainerCreateOptions {
  const tmpfs = 'rw,noexec,nosuid,nodev,size=16m,mode=1777';
  return {
    name: g.name,
    Image: g.image,
    User: GATEWAY_USER,
    Cmd: ['/usr/sbin/squid', '-N', '-f', `${CONFIG_DIR_IN_CONTAINER}/${CONFIG_FILE}`],
    Labels: {...ownLabels(g.workspace, address, key), [LABEL.configHash]: gatewayConfigHash(g)},
    ExposedPorts: {[`${PROXY_PORT}/tcp`]: {}},
    HostConfig: {
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      PidsLimit: 256,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      NanoCpus: 1e9,
      Tmpfs: {'/tmp': tmpfs, '/var/run/squid': tmpfs, '/var/spool/squid': tmpfs, '/var/log/squid': tmpfs, '/dev/shm': tmpfs},
      Mounts: [{Type: 'bind', Source: configDir(dir), Target: CONFIG_DIR_IN_CONTAINER, ReadOnly: true}],
      NetworkMode: g.uplinks[0],
      RestartPolicy: {Name: 'unless-stopped'},
      // the access log is read from the engine: kept whole until orx has ingested it
      LogConfig: {Type: 'json-file', Config: {'max-size': '50m', 'max-file': '4'}},
    },
  };
}

/** The networks the container is on, by name. */
export async function attachedNetworks(c: Dockerode.Container): Promise<Set<string>> {
  const info = await c.inspect();
  return new Set(Object.keys(info.NetworkSettings.Networks ?? {}));
}

export async function connectLinks(docker: Docker, c: Dockerode.Container, g: GatewayAttrs, have: Set<string>): Promise<void> {
  for (const net of g.uplinks.slice(1)) if (!have.has(net)) await docker.getNetwork(net).connect({Container: c.id});
  for (const a of Object.values(g.agents)) {
    if (have.has(a.link.network)) continue;
    await docker.getNetwork(a.link.network).connect({Container: c.id, EndpointConfig: {IPAMConfig: {IPv4Address: a.link.gateway_ip}}});
  }
}

async function stderrOf(c: Dockerode.Container): Promise<string> {
  return demuxLogs(await c.logs({stdout: false, stderr: true})).stderr;
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** Waits for squid to say it is listening for the `after`-th time (a reload says it again). */
async function waitListening(c: Dockerode.Container, after: number): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  const restarts = (await c.inspect()).RestartCount;
  for (;;) {
    const log = await stderrOf(c);
    if (count(log, READY_LINE) > after) return;
    const info = await c.inspect();
    // with its restart policy a squid that exits comes back at once: a restart is a failure too
    const died = !info.State.Running || info.State.Restarting || info.RestartCount > restarts;
    if (died || Date.now() > until) {
      const tail = log
        .trim()
        .split('\n')
        .filter((l) => /FATAL|ERROR|WARNING|Bungled|cannot|Terminated/i.test(l))
        .slice(-6)
        .join('\n');
      throw new Error(
        `the egress gateway did not start listening${died ? ' (squid exited)' : ` within ${READY_TIMEOUT_MS / 1000}s`}; squid said:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startAndWait(c: Dockerode.Container): Promise<void> {
  const before = count(await stderrOf(c), READY_LINE);
  try {
    await c.start();
  } catch (err) {
    if (statusCode(err) !== 304) throw err;
  }
  await waitListening(c, before);
}

/** squid re-reads its configuration on SIGHUP and keeps the connections it has. */
export async function reload(c: Dockerode.Container): Promise<void> {
  const before = count(await stderrOf(c), READY_LINE);
  await c.kill({signal: 'HUP'});
  await waitListening(c, before);
}
