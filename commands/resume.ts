import {Flags} from '@oclif/core';
import {resumeAfterHalt} from '../src/app/resume.js';
import {runApplyFlow} from '../src/cli/apply-session.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {applyFlags, planFlags} from '../src/cli/flags.js';
import type {ResultOf} from '../src/app/results.js';

export default class Resume extends OrxCommand {
  static override summary = 'Lift the halt (safe mode) and start again what halt stopped.';
  static override description = 'Restarting is an ordinary plan and apply of the stopped agents: reviewed and approved like any other.';
  static override flags = {
    reason: Flags.string({description: 'Why it is safe again (recorded).', required: true, env: 'ORX_REASON'}),
    ...applyFlags,
    autonomy: planFlags.autonomy,
  };

  async exec(): Promise<CommandResult<ResultOf<'resume'>>> {
    const {flags} = await this.parse(Resume);
    await this.setup(flags);
    const r = await resumeAfterHalt(this.orx, {reason: flags.reason, autonomy: flags.autonomy});
    if (!r.doc) return {data: {resumed: r.resumed, status: 'no-changes'}, human: 'Safe mode lifted; halt had stopped nothing.'};
    process.stderr.write(`Safe mode lifted. Restarting what halt stopped: ${r.targets.join(', ')}\n`);
    const out = await runApplyFlow({
      ctx: this.orx,
      doc: r.doc,
      fromFile: false,
      autoApprove: flags['auto-approve'],
      parallelism: flags.parallelism,
      ...this.terminal,
      logFormat: flags['log-format'],
      autonomy: flags.autonomy,
    });
    return {...out, data: {resumed: r.resumed, ...out.data}};
  }
}
