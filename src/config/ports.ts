// Published ports, in either the string or the mapping form, and the host-side clashes
// Docker would only report halfway through an apply.
import {isIP} from 'node:net';
import {preview} from '../errors.js';
import type {PortSpec} from './types.js';
import {rec, str, int} from './raw.js';

/** Loopback by default: an agent is reachable from this machine only unless host_ip says otherwise. */
export const DEFAULT_HOST_IP = '127.0.0.1';

export type PortParse = {ok: true; port: PortSpec} | {ok: false; error: string} | {ok: false; error?: undefined};

const inRange = (n: number) => n >= 1 && n <= 65535;

export function parsePort(raw: unknown): PortParse {
  const s = str(raw);
  if (s !== undefined) {
    const m = /^([0-9]{1,5}):([0-9]{1,5})(?:\/(tcp|udp))?$/.exec(s);
    if (!m) return {ok: false}; // the schema's pattern reported it
    const host = Number(m[1]);
    const container = Number(m[2]);
    if (!inRange(host) || !inRange(container)) return {ok: false, error: `port ${JSON.stringify(s)} is out of range: ports are 1-65535`};
    return {ok: true, port: {container, host, host_ip: DEFAULT_HOST_IP, protocol: (m[3] ?? 'tcp') as 'tcp' | 'udp'}};
  }
  const r = rec(raw);
  const container = int(r?.container);
  const host = int(r?.host);
  if (!r || container === undefined || host === undefined || !inRange(container) || !inRange(host)) return {ok: false};
  const ip = r.host_ip === undefined ? DEFAULT_HOST_IP : str(r.host_ip);
  if (ip === undefined) return {ok: false};
  if (isIP(ip) === 0) return {ok: false, error: `host_ip ${JSON.stringify(preview(ip, 45))} is not an IP address`};
  const protocol = r.protocol === undefined ? 'tcp' : r.protocol;
  if (protocol !== 'tcp' && protocol !== 'udp') return {ok: false};
  return {ok: true, port: {container, host, host_ip: ip, protocol}};
}

// 0.0.0.0 covers every IPv4 address; "::" (dual-stack) covers every address.
function covers(wide: string, other: string): boolean {
  return wide === '::' || (wide === '0.0.0.0' && isIP(other) === 4);
}

/** Two bindings clash when they share port and protocol and one address covers the other. */
export function portsClash(a: PortSpec, b: PortSpec): boolean {
  if (a.host !== b.host || a.protocol !== b.protocol) return false;
  return a.host_ip === b.host_ip || covers(a.host_ip, b.host_ip) || covers(b.host_ip, a.host_ip);
}
