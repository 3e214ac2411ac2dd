import {Flags} from '@oclif/core';
import {keyPaths, loadWorkspaceKey, trustedKeyOf} from '../../src/trust/keys.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';

export default class KeysShow extends OrxCommand {
  static override summary = 'Print the workspace public key (PEM) and its fingerprint.';
  static override examples = ['orx keys show', 'orx keys show --json', 'orx keys show --key-file ci-signing.key'];
  static override flags = {
    'key-file': Flags.string({description: 'A PEM private key file to use instead of .orx/keys/signing.key.', env: 'ORX_KEY_FILE'}),
  };

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(KeysShow);
    await this.setup(flags);
    const key = loadWorkspaceKey(this.orx.dir, {keyFile: flags['key-file']});
    const trusted = trustedKeyOf(key);
    const source = flags['key-file'] ?? keyPaths(this.orx.dir).privateKey;
    return {
      data: {fingerprint: key.fingerprint, hint: trusted.hint, publicKey: key.publicKeyPem, keyFile: source},
      human: `fingerprint: ${key.fingerprint}\n${key.publicKeyPem}`,
    };
  }
}
