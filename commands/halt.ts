import {Flags} from '@oclif/core';
import {GATEWAY_ADDRESS, haltNow} from '../src/app/halt.js';
import {EXIT} from '../src/exit-codes.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {toolFlags} from '../src/cli/flags.js';
import type {ResultOf} from '../src/app/results.js';

export default class Halt extends OrxCommand {
  static override summary = 'The kill switch: cut all egress, stop every running agent and refuse every apply until `orx resume`.';
  static override description =
    'Safe mode is set first, so a running apply stops starting steps (it finishes the running ones and exits 3), and the egress gateway is killed at once, so no agent reaches the outside from then on; then every running agent of the workspace is stopped, in parallel, its secrets are removed from the host tmpfs and its identity tokens revoked. No container, network or volume is deleted.';
  static override flags = {
    reason: Flags.string({description: 'Why (recorded, and shown to whoever is refused).', required: true, env: 'ORX_REASON'}),
    wait: Flags.integer({
      description: 'Seconds to wait for a running apply to finish its in-flight steps.',
      default: 120,
      min: 0,
      env: 'ORX_HALT_WAIT',
    }),
    ...toolFlags,
  };

  async exec(): Promise<CommandResult<ResultOf<'halt'>>> {
    const {flags} = await this.parse(Halt);
    await this.setup(flags);
    const r = await haltNow(this.orx, {reason: flags.reason, waitMs: flags.wait * 1000});
    const agents = r.state.stopped.filter((s) => s.address !== GATEWAY_ADDRESS);
    const lines = [
      `Workspace halted at ${r.state.at} by ${r.state.by}: ${r.state.reason}`,
      r.interrupted_apply ? `The running apply (pid ${r.interrupted_apply.pid}) was told to stop starting steps.` : '',
      r.egress_cut_at ? `Egress cut at ${r.egress_cut_at}: the egress gateway was killed before any agent was stopped.` : '',
      `Stopped ${agents.length} agent(s)${agents.length ? `: ${agents.map((s) => s.address).join(', ')}` : ''}.`,
      `Removed ${r.secrets_removed} agent secrets director${r.secrets_removed === 1 ? 'y' : 'ies'} from the host tmpfs; revoked ${r.tokens_revoked} identity token(s).`,
      ...r.failures.map((f) => `Could not stop ${f.address}: ${f.error}`),
      'Every apply is refused until `orx resume --reason TEXT`.',
    ].filter(Boolean);
    return {
      data: {
        halt: r.state,
        interrupted_apply: r.interrupted_apply,
        failures: r.failures,
        egress_cut_at: r.egress_cut_at,
        secrets_removed: r.secrets_removed,
        tokens_revoked: r.tokens_revoked,
      },
      human: lines.join('\n'),
      exit: r.failures.length ? EXIT.ERROR : EXIT.OK,
    };
  }
}
