import {Args, Flags} from '@oclif/core';
import {withReadLedger} from '../../src/audit/chain.js';
import {loadConfig} from '../../src/config/load.js';
import {EXIT} from '../../src/exit-codes.js';
import {tokenRecord, tokenRevocation} from '../../src/ledger/tokens.js';
import {MIN_SECRET_LENGTH, registerSecret} from '../../src/util/redact.js';
import {readBounded, readTokenArgument, renderTokenCheck, tokenVerificationKeys, verifyAgentToken} from '../../src/trust/agent-token.js';
import {exitCodeHelp, OrxCommand, type CommandResult} from '../../src/cli/command.js';

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
      default: [],
      env: 'ORX_TRUSTED_KEY',
    }),
    audience: Flags.string({description: 'Also require this audience (aud claim).', env: 'ORX_TOKEN_AUDIENCE'}),
  };

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(TokenVerify);
    await this.setup(flags);
    const dir = this.orx.dir;
    const token = await readTokenArgument(args.token, dir, () => readBounded(process.stdin));
    // a credential: whatever prints from here on, it never reaches the terminal or a log
    if (token.length >= MIN_SECRET_LENGTH) registerSecret(token);
    const workspace = loadConfig(dir).config.workspace;
    const keys = tokenVerificationKeys(dir, flags['trusted-key']);
    const check = await withReadLedger(dir, (ledger) =>
      verifyAgentToken(token, {
        keys,
        workspace,
        audience: flags.audience,
        isRevoked: (jti) => tokenRevocation(ledger, jti),
        lookup: (jti) => tokenRecord(ledger, jti),
      }),
    );
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
