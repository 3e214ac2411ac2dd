import {Args, Flags} from '@oclif/core';
import {withCheckpointedLedger} from '../../src/engine/checkpoint.js';
import {OrxError, preview} from '../../src/errors.js';
import {revokeTokensDetailed, tokenRecord, type RevokeSelector} from '../../src/ledger/tokens.js';
import {agentAddress} from '../../src/trust/agent-token.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export default class TokenRevoke extends OrxCommand {
  static override summary = 'Revoke an agent identity token by its jti, or every live token of an agent.';
  static override description =
    'Revocation is recorded in the ledger (with who and why) and `orx token verify` refuses the token from then on. Idempotent: revoking a revoked token again changes nothing and exits 0. Exit 1 when no recorded token matches.';
  static override examples = [
    'orx token revoke 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --reason "leaked in a log"',
    'orx token revoke --agent researcher --reason "rotating credentials"',
  ];
  static override args = {jti: Args.string({required: false, description: "The token's jti (`orx token verify` prints it)."})};
  static override flags = {
    agent: Flags.string({description: 'Revoke every live token of this agent (NAME or agent.NAME).', env: 'ORX_AGENT'}),
    reason: Flags.string({
      description: 'Why (recorded in the ledger).',
      default: 'revoked by the operator (orx token revoke)',
      env: 'ORX_REASON',
    }),
  };

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(TokenRevoke);
    await this.setup(flags);
    if ((args.jti === undefined) === (flags.agent === undefined)) {
      throw new OrxError({
        code: 'usage',
        message: 'give either a JTI or --agent NAME (exactly one)',
        actions: ['See `orx token revoke --help`.'],
      });
    }
    if (args.jti !== undefined && JWT_SHAPE.test(args.jti.trim())) {
      // never echo it: it is a credential
      throw new OrxError({
        code: 'usage',
        message: 'that is a token, not a jti',
        actions: ['Get its jti with `orx token verify -` (paste the token on stdin), then revoke the jti.'],
      });
    }
    const sel: RevokeSelector = args.jti !== undefined ? {jti: args.jti} : {address: agentAddress(flags.agent!)};
    const what = sel.jti !== undefined ? `token ${preview(sel.jti)}` : `agent ${sel.address}`;
    const r = await withCheckpointedLedger(this.orx, {reason: 'token-revoke'}, (ledger) => {
      const out = revokeTokensDetailed(ledger, sel, {actor: this.orx.actor, reason: flags.reason});
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
    const lines: string[] = [];
    if (r.revoked.length)
      lines.push(
        sel.jti !== undefined ? `Revoked ${what}.` : `Revoked ${r.revoked.length} token(s) of ${sel.address}: ${r.revoked.join(', ')}`,
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
    return {
      data: {
        selector: sel,
        matched: r.matched,
        revoked: r.revoked,
        already_revoked: r.already_revoked,
        expired: r.expired,
        reason: flags.reason,
      },
      human: lines.join('\n'),
    };
  }
}
