// Agent identity tokens in the ledger: the jti and claims of every token the orchestrator
// issued, and its revocation. The token string itself is a credential and never enters the
// ledger (nor an event, a log line or an error message). Each write is one synchronous
// IMMEDIATE transaction together with its hash-chained event.
import {OrxError, preview} from '../errors.js';
import {sessionOf} from './db.js';
import type {Ledger} from './ledger.js';
import {containsJwt} from '../util/jwt-shape.js';

/** What is recorded when a token is issued: its id and claims (src/trust/agent-token.ts makes them). */
export interface TokenIssue {
  jti: string;
  /** the agent's address, the JWT's `sub` (e.g. agent.researcher) */
  address: string;
  /** the JWT's `iss` */
  workspace: string;
  /** the JWT's `aud` */
  audience: string;
  scopes: string[];
  /** seconds since the epoch, as in the JWT */
  iat: number;
  exp: number;
}

export interface TokenRecord extends TokenIssue {
  run_id: string | null;
  /** when it was recorded (ISO) */
  issued_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  reason: string | null;
}

/** Which tokens to revoke: exactly one of these. */
export interface RevokeSelector {
  jti?: string;
  /** every live token of this agent address */
  address?: string;
  /** every live token of the workspace (halt) */
  all?: boolean;
}

export interface RevokeActor {
  actor: string;
  reason: string;
  now?: Date;
}

export interface RevokeOutcome {
  /** how many recorded tokens the selector names (for --agent: every token ever issued to it) */
  matched: number;
  /** jtis revoked by this call */
  revoked: string[];
  /** jtis that were revoked before */
  already_revoked: string[];
  /** jtis left as they are because they have expired (only for an address or `all`) */
  expired: string[];
}

function invalid(message: string): OrxError {
  return new OrxError({
    code: 'invalid_input',
    kind: 'bug',
    message,
    actions: ['This is a bug in orx: rerun with --debug and report the output.'],
  });
}

function checkText(field: string, v: unknown, max = 256): string {
  // never echo the value: it may be the token
  // refusing anything shaped like a token keeps it out of the ledger even when a caller passes the wrong value
  if (typeof v === 'string' && containsJwt(v))
    throw invalid(`token record: ${field} looks like a JWT; only the jti and claims are recorded, never the token`);
  if (typeof v !== 'string' || v.length === 0 || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
    throw invalid(`token record: ${field} must be a non-empty string of at most ${max} printable characters`);
  }
  return v;
}

function checkSeconds(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalid(`token record: ${field} must be whole seconds since the epoch`);
  return v;
}

interface TokenRow extends Omit<TokenRecord, 'scopes'> {
  scopes: string;
}

const COLUMNS = 'jti, address, workspace, audience, scopes, iat, exp, run_id, issued_at, revoked_at, revoked_by, reason';
const toRecord = (r: TokenRow): TokenRecord => ({...r, scopes: JSON.parse(r.scopes) as string[]});
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** Records an issued token (its jti and claims) with an event, in one transaction. */
export function recordToken(ledger: Ledger, t: TokenIssue, runId: string | null = null): void {
  const jti = checkText('jti', t.jti, 128);
  const address = checkText('address', t.address);
  const workspace = checkText('workspace', t.workspace);
  const audience = checkText('audience', t.audience);
  if (!Array.isArray(t.scopes)) throw invalid('token record: scopes must be an array of strings');
  const scopes = t.scopes.map((s) => checkText('scope', s));
  const iat = checkSeconds('iat', t.iat);
  const exp = checkSeconds('exp', t.exp);
  if (exp <= iat) throw invalid('token record: exp must be after iat');
  ledger.write(() => {
    if (sessionOf(ledger).stmt('SELECT 1 FROM tokens WHERE jti = ?').get(jti)) {
      throw new OrxError({
        code: 'token_exists',
        kind: 'bug',
        message: `a token with jti ${preview(jti)} is already recorded`,
        actions: ['This is a bug in orx: every token gets a fresh jti.'],
      });
    }
    sessionOf(ledger)
      .stmt(
        `INSERT INTO tokens (${COLUMNS}) VALUES (@jti, @address, @workspace, @audience, @scopes, @iat, @exp, @run_id, @issued_at, NULL, NULL, NULL)`,
      )
      .run({
        jti,
        address,
        workspace,
        audience,
        scopes: JSON.stringify(scopes),
        iat,
        exp,
        run_id: runId,
        issued_at: new Date().toISOString(),
      });
    ledger.appendEvent({
      run_id: runId,
      level: 'info',
      message: `token ${jti} issued to ${address} (expires ${iso(exp)})`,
      payload: {token: {jti, address, workspace, audience, scopes, iat, exp}},
    });
  });
}

export function tokenRecord(ledger: Ledger, jti: string): TokenRecord | null {
  const row = sessionOf(ledger).stmt(`SELECT ${COLUMNS} FROM tokens WHERE jti = ?`).get(jti) as TokenRow | undefined;
  return row ? toRecord(row) : null;
}

/** The tokens of one address (or all), oldest first; `live` keeps the unrevoked, unexpired ones. */
export function listTokens(ledger: Ledger, opts: {address?: string; live?: boolean; now?: Date} = {}): TokenRecord[] {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (opts.address !== undefined) {
    where.push('address = @address');
    params.address = opts.address;
  }
  if (opts.live) {
    where.push('revoked_at IS NULL AND exp > @now');
    params.now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  }
  const rows = sessionOf(ledger)
    .stmt(`SELECT ${COLUMNS} FROM tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY iat, rowid`)
    .all(params) as TokenRow[];
  return rows.map(toRecord);
}

/** Whether (and when, why) a token was revoked; null for a live or unknown jti. */
export function tokenRevocation(ledger: Ledger, jti: string): {revoked_at: string; reason: string | null} | null {
  const row = sessionOf(ledger).stmt('SELECT revoked_at, reason FROM tokens WHERE jti = ? AND revoked_at IS NOT NULL').get(jti) as
    {revoked_at: string; reason: string | null} | undefined;
  return row ? {revoked_at: row.revoked_at, reason: row.reason} : null;
}

function selectorWhere(sel: RevokeSelector): {where: string; params: Record<string, unknown>; what: (jtis: string[]) => string} {
  const given = [sel.jti !== undefined, sel.address !== undefined, sel.all === true].filter(Boolean).length;
  if (given !== 1) throw invalid('revoking tokens needs exactly one of a jti, an address or all');
  const count = (jtis: string[]): string => (jtis.length === 1 ? `token ${jtis[0]}` : `${jtis.length} tokens`);
  if (sel.jti !== undefined) return {where: 'jti = @jti', params: {jti: sel.jti}, what: count};
  const address = sel.address;
  if (address !== undefined) return {where: 'address = @address', params: {address}, what: (j) => `${count(j)} of ${address}`};
  return {where: '1 = 1', params: {}, what: (j) => `${count(j)} (every live token of the workspace)`};
}

/**
 * Revokes the tokens the selector names, in one transaction with one event. Idempotent: a
 * revoked token keeps its first revocation. A jti is revoked even when expired (it was
 * asked for by name); an address or `all` leaves expired tokens as they are.
 */
export function revokeTokensDetailed(ledger: Ledger, sel: RevokeSelector, by: RevokeActor): RevokeOutcome {
  const actor = by.actor.trim();
  const reason = by.reason.trim();
  if (!actor) throw invalid('revoking tokens needs an actor');
  if (!reason) {
    throw new OrxError({
      code: 'invalid_input',
      message: 'revoking tokens needs a reason; it is recorded in the audit log.',
      actions: ['Pass --reason "..."'],
    });
  }
  const {where, params, what} = selectorWhere(sel);
  const at = by.now ?? new Date();
  const nowSec = Math.floor(at.getTime() / 1000);
  return ledger.write(() => {
    const rows = sessionOf(ledger).stmt(`SELECT jti, exp, revoked_at FROM tokens WHERE ${where} ORDER BY iat, rowid`).all(params) as Array<{
      jti: string;
      exp: number;
      revoked_at: string | null;
    }>;
    const out: RevokeOutcome = {matched: rows.length, revoked: [], already_revoked: [], expired: []};
    for (const r of rows) {
      if (r.revoked_at !== null) out.already_revoked.push(r.jti);
      else if (sel.jti === undefined && r.exp <= nowSec) out.expired.push(r.jti);
      else out.revoked.push(r.jti);
    }
    if (out.revoked.length === 0) return out;
    const update = sessionOf(ledger).stmt(
      'UPDATE tokens SET revoked_at = ?, revoked_by = ?, reason = ? WHERE jti = ? AND revoked_at IS NULL',
    );
    const ts = at.toISOString();
    for (const jti of out.revoked) update.run(ts, actor, reason, jti);
    const selector = sel.jti !== undefined ? {jti: sel.jti} : sel.address !== undefined ? {address: sel.address} : {all: true};
    ledger.appendEvent({
      level: 'warn',
      message: `${what(out.revoked)} revoked by ${actor}: ${reason}`,
      payload: {tokens_revoked: {selector, jtis: out.revoked, actor, reason, at: ts}},
    });
    return out;
  });
}

/** Revokes the tokens the selector names; returns the jtis this call revoked (see revokeTokensDetailed). */
export function revokeTokens(ledger: Ledger, sel: RevokeSelector, by: RevokeActor): string[] {
  return revokeTokensDetailed(ledger, sel, by).revoked;
}
