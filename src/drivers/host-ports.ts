// Whether a host port is free on this machine, and who holds it when it is not. Asked only
// when the engine runs here (a unix socket): a remote engine's ports are not this host's.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import {parseAddress} from '../util/address-class.js';

export type Protocol = 'tcp' | 'udp';

export function engineIsLocal(env: NodeJS.ProcessEnv = process.env): boolean {
  const host = env.DOCKER_HOST;
  return !host || host.startsWith('unix://');
}

/**
 * Binds the address and port for a moment. 'in-use' only for EADDRINUSE: an address this
 * host lacks, or a low port an unprivileged user may not bind, is the engine's to judge.
 */
export function probePort(ip: string, port: number, protocol: Protocol): Promise<'free' | 'in-use' | 'unknown'> {
  return new Promise((resolve) => {
    const verdict = (err: NodeJS.ErrnoException | null): void =>
      resolve(err === null ? 'free' : err.code === 'EADDRINUSE' ? 'in-use' : 'unknown');
    if (protocol === 'udp') {
      const sock = dgram.createSocket({type: net.isIPv6(ip) ? 'udp6' : 'udp4', ipv6Only: net.isIPv6(ip) && ip !== '::'});
      sock.once('error', (err) => {
        sock.close();
        verdict(err);
      });
      sock.bind({port, address: ip, exclusive: true}, () => sock.close(() => verdict(null)));
      return;
    }
    const server = net.createServer();
    server.once('error', (err) => verdict(err));
    server.listen({port, host: ip, exclusive: true, ipv6Only: net.isIPv6(ip) && ip !== '::'}, () => server.close(() => verdict(null)));
  });
}

/** /proc/net/* renders an address as the hex of its bytes in host (little-endian) order, 32 bits at a time. */
function procAddressBytes(hex: string): number[] {
  return (hex.match(/.{8}/g) ?? []).flatMap((w) => {
    const n = parseInt(w, 16);
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
  });
}

const isWildcard = (bytes: number[]): boolean => bytes.every((b) => b === 0);

/** A socket bound to `seen` stops a bind of `want` when they are one address or either is a wildcard. */
function blocks(want: number[], seen: number[]): boolean {
  return isWildcard(want) || isWildcard(seen) || (want.length === seen.length && want.every((b, i) => b === seen[i]));
}

// LISTEN for tcp; an unconnected bound socket (CLOSE) for udp
const HOLDING_STATE: Record<Protocol, string> = {tcp: '0A', udp: '07'};

function socketInodes(ip: string, port: number, protocol: Protocol): Set<string> {
  const inodes = new Set<string>();
  const want = parseAddress(ip)?.bytes;
  if (!want) return inodes;
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== HOLDING_STATE[protocol]) continue;
      const [addrHex, portHex] = f[1].split(':') as [string, string];
      if (parseInt(portHex, 16) !== port || !blocks(want, procAddressBytes(addrHex))) continue;
      inodes.add(f[9]);
    }
  }
  return inodes;
}

// bounded: a host with very many processes is not searched to the end
const MAX_PROCESSES = 4096;

/**
 * The process holding a port, as "pid N (command)", found through /proc: only processes
 * this user may look into (all of them as root); null when none is found.
 */
export function portHolder(ip: string, port: number, protocol: Protocol): string | null {
  const inodes = socketInodes(ip, port, protocol);
  if (inodes.size === 0) return null;
  let pids: string[];
  try {
    pids = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .slice(0, MAX_PROCESSES);
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1])) return `pid ${pid} (${command(pid)})`;
    }
  }
  return null;
}

function command(pid: string): string {
  try {
    return (
      fs
        .readFileSync(`/proc/${pid}/comm`, 'utf8')
        .trim()
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, 32) || '?'
    );
  } catch {
    return '?';
  }
}
