import {Flags} from '@oclif/core';
import {followEvents, listEvents, type EventRecord} from '../src/app/events.js';
import {OrxCommand, type CommandResult, type StreamedResult} from '../src/cli/command.js';
import {untilInterrupted} from '../src/cli/stop-signals.js';
import {renderEvent} from '../src/ui/state-view.js';
import type {ResultOf} from '../src/app/results.js';

export default class Events extends OrxCommand {
  static override summary = 'Print the ledger events, optionally for one run, optionally following new ones.';
  static override description = 'With --follow and --json, prints one JSON object per line until interrupted.';
  static override flags = {
    run: Flags.string({description: 'Only events of this run.', env: 'ORX_RUN'}),
    follow: Flags.boolean({char: 'f', description: 'Keep printing new events until interrupted.', env: 'ORX_FOLLOW', default: false}),
    limit: Flags.integer({description: 'At most this many events (without --follow).', min: 1, default: 1000, env: 'ORX_LIMIT'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'events'>> | StreamedResult> {
    const {flags} = await this.parse(Events);
    await this.setup(flags);
    if (!flags.follow) {
      const events = await listEvents(this.orx, {run: flags.run, limit: flags.limit});
      return {data: {events}, human: events.map(renderEvent).join('\n') || 'No events.'};
    }
    const print = (e: EventRecord): void => {
      process.stdout.write(this.jsonMode ? `${JSON.stringify(e)}\n` : `${renderEvent(e)}\n`);
    };
    await followEvents(this.orx, {run: flags.run}, print, untilInterrupted());
    return {streamed: true};
  }
}
