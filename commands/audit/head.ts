import {Flags} from '@oclif/core';
import {readChainHead, readSignedHead} from '../../src/app/audit.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderChainHead} from '../../src/ui/audit-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class AuditHead extends OrxCommand {
  static override summary =
    'Print the seq and hash of the newest ledger event (the chain head), or with --signed the newest signed checkpoint.';
  static override description =
    "The head pins the whole history: signed plans and audit bundles carry it. It is not verified here; `orx audit verify` does that. --signed prints the newest checkpoint (seq, hash, time, lineage) with its Sigstore bundle, signed with the workspace key: keep it somewhere the ledger's host cannot rewrite, and `orx audit verify --head FILE` later proves the ledger still holds it.";
  static override examples = ['orx audit head', 'orx audit head --signed > ~/orx-heads/lab-$(date +%F).json'];
  static override flags = {
    signed: Flags.boolean({
      description: 'Print the newest signed checkpoint as JSON (a Sigstore bundle beside the signed fields).',
      default: false,
      env: 'ORX_SIGNED',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'audit head'>>> {
    const {flags} = await this.parse(AuditHead);
    await this.setup(flags);
    if (flags.signed) {
      const doc = await readSignedHead(this.orx);
      return {data: {checkpoint: doc}, human: JSON.stringify(doc, null, 2)};
    }
    const head = await readChainHead(this.orx);
    return {data: {head: {seq: head.seq, hash: head.hash}, lineage: head.lineage}, human: renderChainHead(head)};
  }
}
