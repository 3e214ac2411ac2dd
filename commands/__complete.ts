import path from 'node:path';
import {Args} from '@oclif/core';
import {completionAddresses} from '../src/app/complete.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import {completeWords, type CompletionCommand} from '../src/cli/complete-words.js';
import type {ResultOf} from '../src/app/results.js';

// Called by the shell completion scripts (templates/completion/): not for people, so hidden.
export default class Complete extends OrxCommand {
  static override hidden = true;
  static override strict = false;
  static override summary = 'Completion candidates for the shell scripts of `orx autocomplete`.';
  static override description =
    '`addresses`: the resource addresses of the workspace (recorded state and configuration). `words -- WORD...`: the candidates for the last word of `orx WORD...` (commands, flags, addresses).';
  static override examples = ['orx __complete addresses', 'orx __complete words -- state show ag'];
  static override args = {
    what: Args.string({required: true, options: ['addresses', 'words'], description: 'What to complete'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'__complete'>>> {
    const {args, flags} = await this.parse(Complete);
    const dd = this.argv.indexOf('--');
    const words = dd < 0 ? [] : this.argv.slice(dd + 1);
    const commands = this.config.commands as unknown as CompletionCommand[];
    const ctx = completeWords(args.what === 'addresses' ? [...words, ''] : words, commands);
    // `orx -C DIR state show <TAB>`: the addresses of that workspace
    await this.setup({...flags, chdir: flags.chdir ?? (ctx.chdir ? path.resolve(ctx.chdir) : undefined)});
    const current = args.what === 'addresses' ? '' : (words.at(-1) ?? '');
    const candidates =
      args.what === 'addresses' || ctx.wantsAddress
        ? (await completionAddresses(this.orx)).filter((a) => a.startsWith(current))
        : ctx.candidates;
    return {data: {candidates}, human: candidates.join('\n')};
  }
}
