// The gateway's access log into the ledger: what the engine kept of its stdout since the last
// line recorded, one event per line, attributed to the agent whose link it came in on.
import {demuxLogs, isNotFound, type Docker} from '../drivers/docker.js';
import {egressCursor, recordEgress, type EgressEventPayload} from '../ledger/egress-log.js';
import type {Ledger} from '../ledger/ledger.js';
import {GATEWAY_ADDRESS, type GatewayAttrs} from './attrs.js';
import {parseAccessLine} from './access-log.js';
import {WHY} from './squid-config.js';

/** "2026-12-04T16:48:50.12Z" -> nanoseconds padded to 9 digits, so that timestamps compare as strings. */
export function sortableTimestamp(ts: string): string | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(ts);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}Z` : null;
}

export interface IngestResult {
  recorded: number;
  denied: number;
}

/** Safe to call at any time and from any command: a missing gateway or engine records nothing. */
export async function ingestEgressLog(docker: Docker, ledger: Ledger, runId: string | null, containerId?: string): Promise<IngestResult> {
  const rec = ledger.getResource(GATEWAY_ADDRESS);
  const id = containerId ?? rec?.object_id;
  if (!rec || !id) return {recorded: 0, denied: 0};
  const agents = (rec.attributes as GatewayAttrs).agents ?? {};
  const byVia = new Map(Object.entries(agents).map(([name, a]) => [a.link.gateway_ip, name]));
  const cursor = egressCursor(ledger);
  const since = cursor ? Math.floor(Date.parse(cursor) / 1000) : 0;
  let buf: Buffer;
  try {
    buf = await docker.getContainer(id).logs({stdout: true, stderr: false, timestamps: true, since});
  } catch (err) {
    if (isNotFound(err)) return {recorded: 0, denied: 0};
    throw err;
  }
  const entries: EgressEventPayload[] = [];
  let last = cursor;
  for (const line of demuxLogs(buf).stdout.split('\n')) {
    const sp = line.indexOf(' ');
    const ts = sp > 0 ? sortableTimestamp(line.slice(0, sp)) : null;
    if (!ts || (cursor !== null && ts <= cursor)) continue;
    last = ts;
    const r = parseAccessLine(line.slice(sp + 1));
    if (!r) continue;
    entries.push({
      agent: byVia.get(r.via) ?? null,
      host: r.host,
      port: r.port,
      method: r.method,
      allowed: r.allowed,
      why: r.why,
      reason: r.why === 'unknown' ? 'no decision: the connection ended before the gateway made one' : WHY[r.why],
      status: r.status,
      bytes_out: r.bytes_out,
      bytes_in: r.bytes_in,
      server: r.server,
      at: r.at,
    });
  }
  if (last === null || last === cursor) return {recorded: 0, denied: 0};
  recordEgress(ledger, runId, entries, last);
  return {recorded: entries.length, denied: entries.filter((e) => !e.allowed).length};
}
