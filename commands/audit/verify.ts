import {Flags} from '@oclif/core';
import {verifyAuditTrail} from '../../src/app/audit.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {EXIT} from '../../src/exit-codes.js';
import {renderAuditVerification} from '../../src/ui/audit-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class AuditVerify extends OrxCommand {
  static override summary = "Recompute the ledger's hash chain and check it against its signed checkpoints.";
  static override description =
    'Every event stores the hash of the one before it. This recomputes each hash from the genesis hash to the head and names the seq of the first row that was edited, deleted, inserted or reordered. Then it checks every signed checkpoint of the chain head (each run ends with one, signed with the workspace key): its signature, that the events it signed are still there with the same hash (a chain edited and recomputed, or truncated, fails here), that no checkpoint was deleted, and that no events follow the newest checkpoint unless a run is in progress. With --head FILE it also checks that the ledger still holds a head kept elsewhere (`orx audit head --signed`), which detects a rollback to an older copy. Exit 1 on any problem. Read-only: it runs while an apply is writing.';
  static override examples = ['orx audit verify', 'orx audit verify --json', 'orx audit verify --head ~/orx-heads/lab.json'];
  static override flags = {
    head: Flags.string({
      description: 'A signed head kept elsewhere (from `orx audit head --signed`): the ledger must still contain it.',
      env: 'ORX_HEAD',
    }),
    'trusted-key': Flags.string({
      description: 'Also accept checkpoints signed by this public key (PEM file; repeatable), e.g. the key before `orx keys init --force`.',
      multiple: true,
      env: 'ORX_TRUSTED_KEY',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'audit verify'>>> {
    const {flags} = await this.parse(AuditVerify);
    await this.setup(flags);
    const v = await verifyAuditTrail(this.orx, {head: flags.head, trustedKeys: flags['trusted-key'] ?? []});
    return {data: {...v}, human: renderAuditVerification(v), exit: v.ok ? EXIT.OK : EXIT.ERROR};
  }
}
