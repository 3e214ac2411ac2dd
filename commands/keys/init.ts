import {Flags} from '@oclif/core';
import {createKey, inWorkspace} from '../../src/app/keys.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import type {ResultOf} from '../../src/app/results.js';

export default class KeysInit extends OrxCommand {
  static override summary = 'Create the workspace signing key (ECDSA P-256) in .orx/keys/.';
  static override description =
    'The private key is written to .orx/keys/signing.key with mode 0600 and signs saved plans, audit bundles and `orx sign-blob` bundles; the public key (.orx/keys/signing.pub) is what others verify them with. An existing key is never replaced without --force.';
  static override examples = ['orx keys init', 'orx keys init --force'];
  static override flags = {
    force: Flags.boolean({
      description: 'Replace an existing key (what it signed will no longer verify with the new one).',
      env: 'ORX_FORCE',
      default: false,
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'keys init'>>> {
    const {flags} = await this.parse(KeysInit);
    await this.setup(flags);
    const k = createKey(this.orx, flags.force);
    return {
      data: k,
      human: `Created the workspace signing key ${k.fingerprint}\n  public key:  ${inWorkspace(this.orx, k.publicKeyPath)} (give it to whoever verifies what this workspace signs)\n  private key: ${inWorkspace(this.orx, k.privateKeyPath)} (mode 0600; never share or commit it)`,
    };
  }
}
