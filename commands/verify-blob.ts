import {Args, Flags} from '@oclif/core';
import {verifyFile} from '../src/app/signing.js';
import {exitCodeHelp, OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';

export default class VerifyBlob extends OrxCommand {
  static override summary = 'Check a file against a Sigstore bundle signed with a known public key.';
  static override description = `Verifies the bundle's signature over the file with the given public key (default: this workspace's .orx/keys/signing.pub) and compares the file's digest with the signed one. No transparency-log entry or timestamp is required unless --trusted-root is given. Any failure exits 5 and says why.\n\n${exitCodeHelp()}`;
  static override examples = [
    'orx verify-blob release.tar.gz --bundle release.tar.gz.sigstore.json --key signing.pub',
    'orx verify-blob a.txt --bundle a.sigstore.json --key cosign.pub --trusted-root trusted_root.json',
  ];
  static override args = {file: Args.string({required: true, description: 'The file that was signed.'})};
  static override flags = {
    bundle: Flags.string({char: 'b', description: 'The Sigstore bundle (JSON) to check.', required: true, env: 'ORX_BUNDLE'}),
    key: Flags.string({description: 'A trusted public key, PEM (repeatable; default: the workspace key).', multiple: true, env: 'ORX_KEY'}),
    'trusted-root': Flags.string({
      description:
        "A Sigstore trusted_root.json: check the bundle's transparency-log entry and timestamps against it (and require a tlog entry).",
      env: 'ORX_TRUSTED_ROOT',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'verify-blob'>>> {
    const {args, flags} = await this.parse(VerifyBlob);
    await this.setup(flags);
    const r = await verifyFile(this.orx, {file: args.file, bundle: flags.bundle, keys: flags.key, trustedRoot: flags['trusted-root']});
    return {data: {verified: true, ...r}, human: `Verified OK (${args.file}, signed by ${r.fingerprint})`};
  }
}
