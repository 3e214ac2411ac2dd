// The gateway's access log (squid-config.ts LOG_FORMAT) read back into records. Pure. Each line
// came through the engine from the gateway's stdout: the agent decides only the host and the
// method, which come last and are checked to a host's shape before they are kept.
import {WHY, type Why} from './squid-config.js';

export interface EgressRecord {
  /** when squid finished with it, ISO 8601 */
  at: string;
  /** the gateway's address the request came in on: which agent's link */
  via: string;
  client: string;
  host: string;
  port: number;
  method: string;
  status: number;
  allowed: boolean;
  why: Why | 'unknown';
  bytes_out: number;
  bytes_in: number;
  /** the address squid connected to; null when it connected nowhere */
  server: string | null;
}

const IP = /^[0-9a-f.:]{2,45}$/i;
const HOST = /^[a-z0-9._*:[\]-]{1,255}$/i;

export function parseAccessLine(line: string): EgressRecord | null {
  const f = line.trim().split(/\s+/);
  if (f.length !== 12) return null;
  const [ts, via, client, port, status, squid, sent, received, server, why, method, host] = f;
  const t = Number(ts);
  if (!Number.isFinite(t) || !IP.test(via) || !IP.test(client) || !HOST.test(host) || !/^[A-Z]{1,20}$/.test(method)) return null;
  const code = Number(status);
  const key = (why in WHY ? why : 'unknown') as Why | 'unknown';
  const denied = squid.includes('DENIED') || key === 'not_listed' || key === 'guard' || key === 'link_pool' || key === 'unknown';
  return {
    at: new Date(Math.round(t * 1000)).toISOString(),
    via,
    client,
    host: host.toLowerCase(),
    port: Number(port) || 0,
    method,
    status: Number.isFinite(code) ? code : 0,
    allowed: !denied,
    why: key,
    bytes_out: Number(sent) || 0,
    bytes_in: Number(received) || 0,
    server: IP.test(server) ? server : null,
  };
}
