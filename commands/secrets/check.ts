import {checkWorkspaceSecrets} from '../../src/app/validate.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {EXIT} from '../../src/exit-codes.js';
import {renderSecretChecks} from '../../src/ui/secrets-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class SecretsCheck extends OrxCommand {
  static override summary = 'Resolve every secret reference and say which work, without showing a value.';
  static override description =
    "Resolves every reference in orchestration.yml (agents' secrets, signing.key, the 1Password token) the way apply would: all 1Password references in one call. Prints reference, agent, provider and status; never a value. Exit 1 if any fails.";
  static override examples = ['orx secrets check', 'orx secrets check --json'];

  async exec(): Promise<CommandResult<ResultOf<'secrets check'>>> {
    const {flags} = await this.parse(SecretsCheck);
    await this.setup(flags);
    const r = await checkWorkspaceSecrets(this.orx);
    return {data: r, human: renderSecretChecks(r.secrets), exit: r.failed > 0 ? EXIT.ERROR : EXIT.OK};
  }
}
