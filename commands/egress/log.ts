import {Flags} from '@oclif/core';
import {egressLog, followEgress, type EgressAttempt} from '../../src/app/egress-log.js';
import {OrxCommand, type CommandResult, type StreamedResult} from '../../src/cli/command.js';
import {untilInterrupted} from '../../src/cli/stop-signals.js';
import {renderEgressAttempt, renderEgressLog} from '../../src/ui/egress-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class EgressLog extends OrxCommand {
  static override summary = "Print every outbound attempt of the workspace's agents: allowed and denied, and why.";
  static override description =
    "Reads the egress gateway's access log into the ledger first (as hash-chained events; a denied attempt is a warning naming the agent), then prints what the ledger holds. With the engine down it prints what was recorded before. With --follow and --json, prints one JSON object per line until interrupted.";
  static override flags = {
    agent: Flags.string({description: "Only this agent's attempts (its name in orchestration.yml).", env: 'ORX_AGENT'}),
    denied: Flags.boolean({description: 'Only refused attempts.', default: false, env: 'ORX_DENIED'}),
    follow: Flags.boolean({char: 'f', description: 'Keep printing new attempts until interrupted.', default: false, env: 'ORX_FOLLOW'}),
    limit: Flags.integer({description: 'At most this many (the newest).', min: 1, default: 1000, env: 'ORX_LIMIT'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'egress log'>> | StreamedResult> {
    const {flags} = await this.parse(EgressLog);
    await this.setup(flags);
    const opts = {agent: flags.agent, denied: flags.denied, limit: flags.limit};
    if (!flags.follow) {
      const r = await egressLog(this.orx, opts);
      return {data: r, human: () => renderEgressLog(r)};
    }
    const print = (a: EgressAttempt): void => {
      process.stdout.write(this.jsonMode ? `${JSON.stringify(a)}\n` : `${renderEgressAttempt(a)}\n`);
    };
    await followEgress(this.orx, opts, print, untilInterrupted());
    return {streamed: true};
  }
}
