// `orx token verify` and `orx token revoke`: agent identity tokens against the ledger.
import {withReadLedger} from '../ledger/session.js';
import {loadConfig} from '../config/load.js';
import {withCheckpointedLedger} from '../engine/checkpoint.js';
import type {OrxContext} from '../engine/context.js';
import {OrxError, preview} from '../errors.js';
import {looksLikeJwt} from '../util/jwt-shape.js';
import {revokeTokensDetailed, tokenRecord, tokenRevocation, type RevokeSelector} from '../ledger/tokens.js';
import {
  agentAddress,
  readBounded,
  readTokenArgument,
  tokenVerificationKeys,
  verifyAgentToken,
  type TokenCheck,
} from '../trust/agent-token.js';
import {MIN_SECRET_LENGTH, registerSecret} from '../util/redact.js';

export async function verifyToken(
  ctx: OrxContext,
  o: {token: string; audience?: string; trustedKeys: string[]; stdin: NodeJS.ReadableStream},
): Promise<TokenCheck> {
  const token = await readTokenArgument(o.token, ctx.dir, () => readBounded(o.stdin));
  // a credential: whatever prints from here on, it never reaches the terminal or a log
  if (token.length >= MIN_SECRET_LENGTH) registerSecret(token);
  const workspace = loadConfig(ctx.dir, {vars: ctx.vars}).config.workspace;
  const keys = tokenVerificationKeys(ctx.dir, o.trustedKeys);
  return withReadLedger(ctx.dir, (ledger) =>
    verifyAgentToken(token, {
      keys,
      workspace,
      audience: o.audience,
      isRevoked: (jti) => tokenRevocation(ledger, jti),
      lookup: (jti) => tokenRecord(ledger, jti),
    }),
  );
}

export interface RevokeResult {
  selector: RevokeSelector;
  matched: number;
  revoked: string[];
  already_revoked: string[];
  expired: string[];
  reason: string;
  /** a jti's revocation as recorded (the first one, for an already revoked token) */
  revocation: {revoked_at: string | null; revoked_by: string | null; reason: string | null} | null;
}

export async function revokeToken(ctx: OrxContext, o: {jti?: string; agent?: string; reason: string}): Promise<RevokeResult> {
  if ((o.jti === undefined) === (o.agent === undefined)) {
    throw new OrxError({
      code: 'usage',
      message: 'give either a JTI or --agent NAME (exactly one)',
      actions: ['See `orx token revoke --help`.'],
    });
  }
  if (o.jti !== undefined && looksLikeJwt(o.jti)) {
    // never echo it: it is a credential
    throw new OrxError({
      code: 'usage',
      message: 'that is a token, not a jti',
      actions: ['Get its jti with `orx token verify -` (paste the token on stdin), then revoke the jti.'],
    });
  }
  const sel: RevokeSelector = o.jti !== undefined ? {jti: o.jti} : {address: agentAddress(o.agent!)};
  const r = await withCheckpointedLedger(ctx, {reason: 'token-revoke'}, (ledger) => {
    const out = revokeTokensDetailed(ledger, sel, {actor: ctx.actor, reason: o.reason});
    const first = sel.jti !== undefined ? tokenRecord(ledger, sel.jti) : null;
    return {...out, revocation: first ? {revoked_at: first.revoked_at, revoked_by: first.revoked_by, reason: first.reason} : null};
  });
  if (r.matched === 0) {
    throw new OrxError({
      code: 'not_found',
      message:
        sel.jti !== undefined
          ? `no token with jti ${preview(sel.jti)} is recorded in this workspace's ledger`
          : `no token was ever issued to ${sel.address} in this workspace`,
      actions:
        sel.jti !== undefined
          ? ['Check the jti: `orx token verify TOKEN` prints it.']
          : ['Check the agent name (tokens are issued when an agent starts).'],
      data: {selector: sel},
    });
  }
  return {
    selector: sel,
    matched: r.matched,
    revoked: r.revoked,
    already_revoked: r.already_revoked,
    expired: r.expired,
    reason: o.reason,
    revocation: r.revocation,
  };
}
