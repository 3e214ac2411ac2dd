import {Args, Flags} from '@oclif/core';
import {verifyAuditBundleFile} from '../../src/app/audit-bundle.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderBundleVerification} from '../../src/ui/audit-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class AuditVerifyBundle extends OrxCommand {
  static override summary = 'Check an audit bundle: signature, every event hash, the links in its range, the chain head, snapshots.';
  static override description =
    'Reports every part that fails (with the event seq or snapshot id and why), not just the first. Without --key the signature is checked against the public key inside the bundle; --key pins the signer. Exit 5 if the signature (or the pinned key) fails, 1 if anything else fails. Needs no workspace.';
  static override examples = [
    'orx audit verify-bundle audit.json',
    'orx audit verify-bundle audit.json --key keys/auditor-trusted.pub --json',
  ];
  static override args = {file: Args.string({required: true, description: 'A bundle written by `orx audit export`.'})};
  static override flags = {
    key: Flags.string({description: 'PEM public key the bundle must be signed with.', env: 'ORX_KEY'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'audit verify-bundle'>>> {
    const {args, flags} = await this.parse(AuditVerifyBundle);
    await this.setup(flags);
    const v = await verifyAuditBundleFile(this.orx, {file: args.file, key: flags.key});
    const {exit, ...data} = v;
    return {data: {file: args.file, ...data}, human: renderBundleVerification(args.file, v), exit};
  }
}
