import {chainHead, renderChainHead, withReadLedger} from '../../src/audit/chain.js';
import {OrxCommand, type CommandResult} from '../base.js';

export default class AuditHead extends OrxCommand {
  static override summary = 'Print the seq and hash of the newest ledger event (the chain head).';
  static override description = 'The head pins the whole history: signed plans and audit bundles carry it. It is not verified here; `orx audit verify` does that.';

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(AuditHead);
    await this.setup(flags);
    const head = await withReadLedger(this.orx.dir, (ledger) => chainHead(ledger));
    return {data: {head: {seq: head.seq, hash: head.hash}, lineage: head.lineage}, human: renderChainHead(head)};
  }
}
