// Outbound attempts through the egress gateway, as hash-chained events: one per access-log
// line, appended with the read position in one transaction, so a line is never recorded twice
// nor skipped after a crash. Denied attempts are warnings naming the agent.
import type {Ledger} from './ledger.js';
import {metaValue, setMetaValue} from './meta.js';
import type {EventRecord} from './types.js';
import {sessionOf} from './db.js';

const CURSOR_KEY = 'egress_log_cursor';

export interface EgressEventPayload {
  agent: string | null;
  host: string;
  port: number;
  method: string;
  allowed: boolean;
  why: string;
  reason: string;
  status: number;
  bytes_out: number;
  bytes_in: number;
  server: string | null;
  at: string;
}

/** The engine's timestamp of the last line recorded (RFC 3339 with nanoseconds), or null. */
export function egressCursor(ledger: Ledger): string | null {
  return metaValue(ledger, CURSOR_KEY) ?? null;
}

export function recordEgress(ledger: Ledger, runId: string | null, entries: EgressEventPayload[], cursor: string): number {
  return ledger.write(() => {
    for (const e of entries)
      ledger.appendEvent({
        run_id: runId,
        level: e.allowed ? 'info' : 'warn',
        message: `egress ${e.allowed ? 'allowed' : 'denied'}: ${e.agent ? `agent.${e.agent}` : 'an unknown client'} -> ${e.host}:${e.port} (${e.reason})`,
        payload: {egress: e},
      });
    setMetaValue(ledger, CURSOR_KEY, cursor);
    return entries.length;
  });
}

/** Recorded attempts, oldest first: by agent, denied only, after an event, at most `limit` (the newest). */
export function listEgress(
  ledger: Ledger,
  opts: {agent?: string; denied?: boolean; after_seq?: number; limit?: number} = {},
): EventRecord[] {
  const where = ["message LIKE 'egress %'", "json_extract(payload, '$.egress.host') IS NOT NULL", 'seq > @after'];
  if (opts.agent !== undefined) where.push("json_extract(payload, '$.egress.agent') = @agent");
  if (opts.denied) where.push("json_extract(payload, '$.egress.allowed') = 0");
  const rows = sessionOf(ledger)
    .stmt(`SELECT * FROM (SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit) ORDER BY seq`)
    .all({after: opts.after_seq ?? 0, agent: opts.agent, limit: opts.limit ?? -1}) as Array<
    Omit<EventRecord, 'payload'> & {payload: string | null}
  >;
  return rows.map((r) => ({...r, payload: r.payload === null ? null : (JSON.parse(r.payload) as Record<string, unknown>)}));
}
