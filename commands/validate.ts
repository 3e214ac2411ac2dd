import {validateWorkspace} from '../src/app/validate.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';
import {count} from '../src/ui/plural.js';
import {variableFlags} from '../src/cli/flags.js';

export default class Validate extends OrxCommand {
  static override summary = 'Check orchestration.yml against the schema and its cross-references.';
  static override description =
    'Reports every problem at once as FILE:LINE:COL: message; exit 1 when there is any. Secret references are checked without being resolved: their syntax, that file:// files exist with owner-only modes (never read), and that env:// variables are set (a warning when not); `orx secrets check` resolves them.';
  static override flags = {...variableFlags};

  async exec(): Promise<CommandResult<ResultOf<'validate'>>> {
    const {flags} = await this.parse(Validate);
    await this.setup(flags);
    const v = await validateWorkspace(this.orx);
    const n = v.counts;
    return {
      data: {...v},
      human: `Success! orchestration.yml is valid (workspace ${v.workspace}: ${count(n.agents, 'agent')}, ${count(n.networks, 'network')}, ${count(n.volumes, 'volume')}, ${count(n.images, 'image')}).`,
    };
  }
}
