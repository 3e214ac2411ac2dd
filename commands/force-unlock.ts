import {Args, Flags} from '@oclif/core';
import {forceUnlock} from '../src/app/locks.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';

export default class ForceUnlock extends OrxCommand {
  static override summary = 'Remove a workspace lock left by a process that is gone.';
  static override description = 'Only the lock with this id is removed, and the reason is recorded in the ledger.';
  static override args = {lockId: Args.string({required: true, description: 'The id shown in the "workspace locked" message.'})};
  static override flags = {reason: Flags.string({required: true, description: 'Why it is safe to remove the lock.', env: 'ORX_REASON'})};

  async exec(): Promise<CommandResult<ResultOf<'force-unlock'>>> {
    const {args, flags} = await this.parse(ForceUnlock);
    await this.setup(flags);
    await forceUnlock(this.orx, args.lockId, flags.reason);
    return {data: {unlocked: args.lockId}, human: `Lock ${args.lockId} removed.`};
  }
}
