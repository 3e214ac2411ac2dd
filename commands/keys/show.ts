import {Flags} from '@oclif/core';
import {showKey} from '../../src/app/keys.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import type {ResultOf} from '../../src/app/results.js';

export default class KeysShow extends OrxCommand {
  static override summary = 'Print the workspace public key (PEM) and its fingerprint.';
  static override examples = ['orx keys show', 'orx keys show --json', 'orx keys show --key-file ci-signing.key'];
  static override flags = {
    'key-file': Flags.string({description: 'A PEM private key file to use instead of .orx/keys/signing.key.', env: 'ORX_KEY_FILE'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'keys show'>>> {
    const {flags} = await this.parse(KeysShow);
    await this.setup(flags);
    const k = showKey(this.orx, flags['key-file']);
    return {data: k, human: `fingerprint: ${k.fingerprint}\n${k.publicKey}`};
  }
}
