import {Args} from '@oclif/core';
import {completionScript, type CompletionShell} from '../../src/app/complete.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import type {ResultOf} from '../../src/app/results.js';

// Takes the place of @oclif/plugin-autocomplete's own `autocomplete script` (the root package's
// command wins over a plugin's): same line for bash and zsh plus orx's addresses, and fish.
export default class AutocompleteScript extends OrxCommand {
  static override hidden = true;
  static override summary = 'Print the lines a shell sources for orx completion (see `orx autocomplete`).';
  static override examples = ['orx autocomplete script bash', 'orx autocomplete script fish > ~/.config/fish/completions/orx.fish'];
  static override args = {
    shell: Args.string({required: true, options: ['bash', 'zsh', 'fish', 'powershell'], description: 'Shell type'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'autocomplete script'>>> {
    const {args, flags} = await this.parse(AutocompleteScript);
    await this.setup(flags);
    const shell = args.shell as CompletionShell;
    const script = completionScript(shell, {root: this.config.root, cacheDir: this.config.cacheDir, bin: this.config.bin});
    return {data: {shell, script}, human: script};
  }
}
