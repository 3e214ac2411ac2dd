import {Args, Flags} from '@oclif/core';
import {verifyToken} from '../../src/app/token.js';
import {exitCodeHelp, OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {EXIT} from '../../src/exit-codes.js';
import {renderTokenCheck} from '../../src/ui/token-view.js';
import type {ResultOf} from '../../src/app/results.js';
export default class TokenVerify extends OrxCommand {
  static override summary = 'Check an agent identity token: signature, expiry, issuer and revocation.';
  static override description = `TOKEN is the token itself, a file holding it (an agent reads its own at /run/secrets/orx-token) or - to read it from stdin, which keeps it out of the shell history and the process list. The token must be signed ES256 by the workspace key (or a key given with --trusted-key), be unexpired, be issued by this workspace, be recorded in its ledger and not be revoked. Prints the claims; exit 0 when valid, 1 when not (the reason is printed).\n\n${exitCodeHelp()}`;
  static override examples = [
    'orx token verify /run/secrets/orx-token',
    'docker exec brainbox cat /run/secrets/orx-token | orx token verify - --json',
    'orx token verify token.jwt --trusted-key old-signing.pub',
  ];
  static override args = {token: Args.string({required: true, description: 'The token, a file holding it, or - for stdin.'})};
  static override flags = {
    'trusted-key': Flags.string({
      description: 'Also accept tokens signed by this public key (PEM file; repeatable), e.g. the key before `orx keys init --force`.',
      multiple: true,
      env: 'ORX_TRUSTED_KEY',
    }),
    audience: Flags.string({description: 'Also require this audience (aud claim).', env: 'ORX_TOKEN_AUDIENCE'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'token verify'>>> {
    const {args, flags} = await this.parse(TokenVerify);
    await this.setup(flags);
    const check = await verifyToken(this.orx, {
      token: args.token,
      audience: flags.audience,
      trustedKeys: flags['trusted-key'] ?? [],
      stdin: process.stdin,
    });
    return {
      data: {
        valid: check.ok,
        reason: check.reason,
        code: check.code,
        jti: check.jti,
        claims: check.claims,
        scopes: check.scopes,
        key_fingerprint: check.key_fingerprint,
        revocation: check.revocation,
      },
      human: renderTokenCheck(check),
      exit: check.ok ? EXIT.OK : EXIT.ERROR,
    };
  }
}
