import {Args, Flags} from '@oclif/core';
import {revokeToken} from '../../src/app/token.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderRevoke} from '../../src/ui/token-view.js';
import type {ResultOf} from '../../src/app/results.js';
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

  async exec(): Promise<CommandResult<ResultOf<'token revoke'>>> {
    const {args, flags} = await this.parse(TokenRevoke);
    await this.setup(flags);
    const r = await revokeToken(this.orx, {jti: args.jti, agent: flags.agent, reason: flags.reason});
    const {revocation: _revocation, ...data} = r;
    return {data, human: renderRevoke(r)};
  }
}
