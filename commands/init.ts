import path from 'node:path';
import {Args} from '@oclif/core';
import {initWorkspace} from '../src/app/init.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';

export default class Init extends OrxCommand {
  static override summary = 'Scaffold a workspace: orchestration.yml, policies/, plans/, an agent image context.';
  static override args = {dir: Args.string({description: 'Directory to initialise (default: the workspace directory).', required: false})};

  async exec(): Promise<CommandResult<ResultOf<'init'>>> {
    const {args, flags} = await this.parse(Init);
    await this.setup(flags);
    const result = initWorkspace(path.resolve(this.orx.dir, args.dir ?? '.'));
    return {
      data: {...result},
      human: `Initialised ${result.dir}:\n${result.created.map((f) => `  + ${f}`).join('\n')}\n${result.notes.map((n) => `note: ${n}\n`).join('')}Next: orx validate && orx plan`,
    };
  }
}
