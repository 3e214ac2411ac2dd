// `orx egress log`: one line per outbound attempt, denied ones marked.
import type {EgressAttempt, EgressLogResult} from '../app/egress-log.js';
import {c} from './color.js';
import {table} from './state-view.js';

function row(a: EgressAttempt): string[] {
  return [
    a.at,
    a.allowed ? c.green('allowed') : c.red('denied'),
    a.agent ?? '(unknown)',
    `${a.method === 'CONNECT' ? 'CONNECT ' : ''}${a.host}:${a.port}`,
    String(a.status),
    a.reason,
    a.allowed ? `${a.bytes_in} B in` : '',
  ];
}

export function renderEgressAttempt(a: EgressAttempt): string {
  return row(a).filter(Boolean).join('  ');
}

export function renderEgressLog(r: EgressLogResult): string {
  const note = r.engine_reached
    ? ''
    : '\n(the Docker engine did not answer: attempts since the last command that reached it are not shown)';
  if (r.attempts.length === 0) return `No outbound attempts recorded.${note}`;
  return `${table([['WHEN', 'DECISION', 'AGENT', 'DESTINATION', 'STATUS', 'WHY', 'RECEIVED'], ...r.attempts.map(row)])}${note}`;
}
