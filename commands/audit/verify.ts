import {renderAuditVerification, verifyAudit, withReadLedger} from '../../src/audit/chain.js';
import {EXIT} from '../../src/exit-codes.js';
import {OrxCommand, type CommandResult} from '../base.js';

export default class AuditVerify extends OrxCommand {
  static override summary = 'Recompute the ledger\'s hash chain and report the first broken link.';
  static override description =
    'Every event stores the hash of the one before it. This recomputes each hash from the genesis hash to the head and names the seq of the first row that was edited, deleted, inserted or reordered. Exit 1 when the chain is broken. Read-only: it runs while an apply is writing.';
  static override examples = ['orx audit verify', 'orx audit verify --json'];

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(AuditVerify);
    await this.setup(flags);
    const v = await withReadLedger(this.orx.dir, (ledger) => verifyAudit(ledger));
    return {data: {...v}, human: renderAuditVerification(v), exit: v.ok ? EXIT.OK : EXIT.ERROR};
  }
}
