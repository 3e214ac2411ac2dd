import {Flags} from '@oclif/core';
import {liftHalt} from '../src/app/halt.js';
import {planWorkspace} from '../src/engine/operations.js';
import {withLedger} from '../src/engine/workspace.js';
import {effectiveAutonomy} from '../src/policy/autonomy.js';
import {applyFlags} from './apply.js';
import {runApplyFlow} from '../src/cli/apply-session.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {planFlags} from './plan.js';

export default class Resume extends OrxCommand {
  static override summary = 'Lift the halt (safe mode) and start again what halt stopped.';
  static override description = 'Restarting is an ordinary plan and apply of the stopped agents: reviewed and approved like any other.';
  static override flags = {
    reason: Flags.string({description: 'Why it is safe again (recorded).', required: true, env: 'ORX_REASON'}),
    ...applyFlags,
    autonomy: planFlags.autonomy,
  };

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(Resume);
    await this.setup(flags);
    const was = await withLedger(this.orx.dir, (l) => liftHalt(this.orx, l, flags.reason));
    const recorded = await withLedger(this.orx.dir, (l) => new Set(l.listResources().map((r) => r.address)));
    const targets = was.stopped.map((s) => s.address).filter((a) => recorded.has(a));
    if (targets.length === 0) return {data: {resumed: was, status: 'no-changes'}, human: 'Safe mode lifted; halt had stopped nothing.'};
    const doc = await planWorkspace(this.orx, {
      mode: 'apply',
      refresh: true,
      targets,
      replace: [],
      autonomy: flags.autonomy,
      refreshSecrets: true,
    });
    process.stderr.write(`Safe mode lifted. Restarting what halt stopped: ${targets.join(', ')}\n`);
    const out = await runApplyFlow({
      ctx: this.orx,
      doc,
      fromFile: false,
      autoApprove: flags['auto-approve'],
      parallelism: flags.parallelism,
      ...this.terminal,
      logFormat: flags['log-format'],
      autonomy: effectiveAutonomy(doc.autonomy, flags.autonomy),
    });
    return {...out, data: {resumed: was, ...out.data}};
  }
}
