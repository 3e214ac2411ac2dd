// How token checks and revocations read in a terminal (the token itself is never shown).
import {preview} from '../errors.js';
import type {RevokeResult} from '../app/token.js';
import type {TokenCheck} from '../trust/agent-token.js';

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function relative(seconds: number, nowSec: number): string {
  const d = seconds - nowSec;
  const abs = Math.abs(d);
  const text =
    abs < 60
      ? `${abs}s`
      : abs < 3600
        ? `${Math.floor(abs / 60)}m`
        : abs < 86_400
          ? `${Math.floor(abs / 3600)}h${Math.floor((abs % 3600) / 60)}m`
          : `${Math.floor(abs / 86_400)}d`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

/** The human rendering of `orx token verify`: the verdict, then the claims (never the token). */
export function renderTokenCheck(check: TokenCheck, now: Date = new Date()): string {
  const nowSec = Math.floor(now.getTime() / 1000);
  const c = check.claims;
  const lines = [check.ok ? `Valid agent token for ${String(c?.sub)}` : `INVALID token: ${check.reason}`];
  if (c) {
    const time = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? `${iso(v)} (${relative(v, nowSec)})` : '-');
    const rows: Array<[string, string]> = [
      ['subject', preview(c.sub ?? '-', 200)],
      ['jti', preview(c.jti ?? '-', 200)],
      ['issuer', preview(c.iss ?? '-', 200)],
      ['audience', preview([c.aud ?? '-'].flat().join(', '), 200)],
      ['scopes', check.scopes.length ? preview(check.scopes.join(' '), 400) : '-'],
      ['issued', time(c.iat)],
      ['expires', time(c.exp)],
    ];
    if (check.key_fingerprint) rows.push(['key', check.key_fingerprint]);
    if (check.revocation)
      rows.push([
        'revoked',
        `${check.revocation.revoked_at}${check.revocation.reason ? ` (${preview(check.revocation.reason, 200)})` : ''}`,
      ]);
    for (const [k, v] of rows) lines.push(`  ${`${k}:`.padEnd(10)}${v}`);
  }
  return lines.join('\n');
}

/** The human rendering of `orx token revoke`. */
export function renderRevoke(r: RevokeResult): string {
  const sel = r.selector;
  const lines: string[] = [];
  if (r.revoked.length)
    lines.push(
      sel.jti !== undefined
        ? `Revoked token ${preview(sel.jti)}.`
        : `Revoked ${r.revoked.length} token(s) of ${sel.address}: ${r.revoked.join(', ')}`,
    );
  if (r.already_revoked.length) {
    lines.push(
      sel.jti !== undefined && r.revocation
        ? `Token ${preview(sel.jti)} was already revoked at ${r.revocation.revoked_at} by ${r.revocation.revoked_by ?? '?'}${r.revocation.reason ? `: ${r.revocation.reason}` : ''}`
        : `Already revoked: ${r.already_revoked.length} token(s)`,
    );
  }
  if (r.expired.length) lines.push(`Expired (left as they are): ${r.expired.length} token(s)`);
  if (r.revoked.length === 0) lines.push('Nothing new to revoke.');
  return lines.join('\n');
}
