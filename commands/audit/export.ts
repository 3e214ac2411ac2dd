import {Flags} from '@oclif/core';
import {exportAudit} from '../../src/app/audit-bundle.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {renderExportSummary} from '../../src/ui/audit-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class AuditExport extends OrxCommand {
  static override summary = 'Write a signed audit bundle: events with their hashes, the chain head, contract snapshots, policy digests.';
  static override description =
    "The bundle is signed (a Sigstore bundle) with the workspace key and carries its public key; check it anywhere with `orx audit verify-bundle FILE`. The events exported are one contiguous stretch of the chain: with --run, from the run's first event to its last (events of other runs in between included). Read-only: takes no lock, so it runs while an apply is writing.";
  static override examples = [
    'orx audit export -o audit.json',
    'orx audit export --since 7d -o last-week.json',
    'orx audit export --run run-0abc -o run.json',
  ];
  static override flags = {
    output: Flags.string({char: 'o', description: 'Where to write the bundle (JSON).', required: true, env: 'ORX_OUTPUT'}),
    since: Flags.string({
      description: 'Only events at or after this time: ISO time, date, or a duration back from now (24h, 7d).',
      env: 'ORX_SINCE',
    }),
    until: Flags.string({description: 'Only events at or before this time (same forms as --since).', env: 'ORX_UNTIL'}),
    run: Flags.string({description: 'Only the stretch of the chain of this run (id or unique prefix).', env: 'ORX_RUN'}),
    'key-file': Flags.string({description: 'Sign with this PEM private key instead of the workspace key.', env: 'ORX_KEY_FILE'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'audit export'>>> {
    const {flags} = await this.parse(AuditExport);
    await this.setup(flags);
    const {summary, file} = await exportAudit(this.orx, {
      output: flags.output,
      keyFile: flags['key-file'],
      since: flags.since,
      until: flags.until,
      run: flags.run,
    });
    return {data: {...summary, file}, human: renderExportSummary(summary)};
  }
}
