import {Args, Flags} from '@oclif/core';
import {signImageRef} from '../../src/app/signing.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import type {ResultOf} from '../../src/app/results.js';

export default class ImageSign extends OrxCommand {
  static override summary = 'Sign an image in its registry (cosign format), so `verify: {key: ...}` accepts it.';
  static override description =
    'Resolves REF to the manifest digest it points at now and writes a cosign signature for that digest to the same repository (tag sha256-<digest>.sig: a simple-signing payload signed with ECDSA P-256, the layout `cosign sign --key` uses, without a transparency log). Signatures by other keys already there are kept. Registries are used anonymously: plain http on 127.0.0.1/localhost, https elsewhere.';
  static override examples = [
    'orx image sign 127.0.0.1:5000/team/tools:1.4',
    'orx image sign ghcr.io/example/tools:1.4 --key keys/release.key',
  ];
  static override args = {
    ref: Args.string({required: true, description: 'Image reference: [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST].'}),
  };
  static override flags = {
    key: Flags.string({
      description: 'PEM private key file (mode 0600) to sign with (default: the workspace key .orx/keys/signing.key).',
      env: 'ORX_SIGN_KEY',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'image sign'>>> {
    const {args, flags} = await this.parse(ImageSign);
    await this.setup(flags);
    const r = await signImageRef(this.orx, args.ref, flags.key);
    const kept = r.kept_signatures ? ` (kept ${r.kept_signatures} signature${r.kept_signatures === 1 ? '' : 's'} by other keys)` : '';
    return {data: r, human: `Signed ${args.ref} (${r.digest}) with key ${r.key.fingerprint}\nWrote ${r.signature}${kept}`};
  }
}
