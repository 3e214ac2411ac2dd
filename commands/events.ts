import {Flags} from '@oclif/core';
import {withLedger} from '../src/engine/workspace.js';
import {OrxError} from '../src/errors.js';
import {renderEvent} from '../src/ui/state-view.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';

export default class Events extends OrxCommand {
  static override summary = 'Print the ledger events, optionally for one run, optionally following new ones.';
  static override description = 'With --follow and --json, prints one JSON object per line until interrupted.';
  static override flags = {
    run: Flags.string({description: 'Only events of this run.', env: 'ORX_RUN'}),
    follow: Flags.boolean({char: 'f', description: 'Keep printing new events until interrupted.', env: 'ORX_FOLLOW', default: false}),
    limit: Flags.integer({description: 'At most this many events (without --follow).', min: 1, default: 1000, env: 'ORX_LIMIT'}),
  };

  async exec(): Promise<CommandResult> {
    const {flags} = await this.parse(Events);
    await this.setup(flags);
    return withLedger(this.orx.dir, async (ledger) => {
      const runId = flags.run ? ledger.getRun(flags.run)?.id : undefined;
      if (flags.run && !runId) throw new OrxError({code: 'not_found', message: `no run ${flags.run}`, actions: ['See `orx runs`.']});
      const first = ledger.listEvents({run_id: runId, limit: flags.follow ? undefined : flags.limit});
      if (!flags.follow) return {data: {events: first}, human: first.map(renderEvent).join('\n') || 'No events.'};

      const print = (e: (typeof first)[number]): void => {
        process.stdout.write(this.jsonMode ? `${JSON.stringify(e)}\n` : `${renderEvent(e)}\n`);
      };
      first.forEach(print);
      let last = first.at(-1)?.seq ?? 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          for (const e of ledger.listEvents({run_id: runId, after_seq: last})) {
            print(e);
            last = e.seq;
          }
        }, 300);
        const stop = (): void => {
          clearInterval(timer);
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return {data: {}, streamed: true};
    });
  }
}
