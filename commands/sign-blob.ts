import {Args, Flags} from '@oclif/core';
import {signFile} from '../src/app/signing.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';

export default class SignBlob extends OrxCommand {
  static override summary = 'Sign any file with the workspace key into a Sigstore bundle.';
  static override description =
    'Writes a standard Sigstore bundle (v0.3 JSON: a message signature over the file, the key named by its hint), made offline: no Fulcio certificate, no Rekor entry, no timestamp. Check it with `orx verify-blob`, or with `cosign verify-blob --key signing.pub --bundle B --insecure-ignore-tlog FILE`.';
  static override examples = [
    'orx sign-blob release.tar.gz --bundle release.tar.gz.sigstore.json',
    'orx sign-blob report.json --bundle report.sigstore.json --key-file ci-signing.key',
  ];
  static override args = {file: Args.string({required: true, description: 'The file to sign.'})};
  static override flags = {
    bundle: Flags.string({char: 'b', description: 'Where to write the bundle (JSON).', required: true, env: 'ORX_BUNDLE'}),
    'key-file': Flags.string({description: 'A PEM private key file to sign with instead of .orx/keys/signing.key.', env: 'ORX_KEY_FILE'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'sign-blob'>>> {
    const {args, flags} = await this.parse(SignBlob);
    await this.setup(flags);
    const r = await signFile(this.orx, {file: args.file, bundle: flags.bundle, keyFile: flags['key-file']});
    return {data: {...r}, human: `Signed ${args.file} (${r.digest}) with key ${r.fingerprint}\nWrote ${flags.bundle}`};
  }
}
