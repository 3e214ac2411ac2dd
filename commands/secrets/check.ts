import {loadConfig} from '../../src/config/load.js';
import {checkSecrets, secretRequests} from '../../src/engine/agent-secrets.js';
import {EXIT} from '../../src/exit-codes.js';
import type {SecretRequest} from '../../src/secrets/resolve.js';
import {renderSecretChecks} from '../../src/ui/secrets-view.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';

export default class SecretsCheck extends OrxCommand {
  static override summary = 'Resolve every secret reference and say which work, without showing a value.';
  static override description =
    "Resolves every reference in orchestration.yml (agents' secrets, signing.key, the 1Password token) the way apply would: all 1Password references in one call. Prints reference, agent, provider and status; never a value. Exit 1 if any fails.";
  static override examples = ['orx secrets check', 'orx secrets check --json'];

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(SecretsCheck);
    await this.setup(flags);
    const loaded = loadConfig(this.orx.dir);
    const c = loaded.config;
    const requests: SecretRequest[] = [...secretRequests(c)];
    if (c.signing_key_ref) requests.push({address: 'signing', key: 'key', ref: c.signing_key_ref});
    const results = await checkSecrets({dir: this.orx.dir, version: this.orx.version, config: c}, requests);
    const rows = results.map((r) => ({
      reference: r.ref,
      address: r.address,
      key: r.key,
      provider: r.provider ?? 'unknown',
      status: r.ok ? 'ok' : 'error',
      error: r.ok ? null : (r.error ?? 'failed'),
    }));
    const failed = rows.filter((r) => r.status !== 'ok').length;
    return {
      data: {ok: failed === 0, checked: rows.length, failed, secrets: rows},
      human: renderSecretChecks(rows),
      exit: failed > 0 ? EXIT.ERROR : EXIT.OK,
    };
  }
}
