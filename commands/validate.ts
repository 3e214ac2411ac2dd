import {validateWorkspace} from '../src/app/validate.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';
import {variableFlags} from '../src/cli/flags.js';

export default class Validate extends OrxCommand {
  static override summary = 'Check orchestration.yml against the schema and its cross-references.';
  static override description =
    'Reports every problem at once as FILE:LINE:COL: message; exit 1 when there is any. Secret references are checked for syntax only (offline); `orx secrets check` resolves them.';
  static override flags = {...variableFlags};

  async exec(): Promise<CommandResult<ResultOf<'validate'>>> {
    const {flags} = await this.parse(Validate);
    await this.setup(flags);
    const v = await validateWorkspace(this.orx);
    const n = v.counts;
    return {
      data: {...v},
      human: `Success! orchestration.yml is valid (workspace ${v.workspace}: ${n.agents} agents, ${n.networks} networks, ${n.volumes} volumes, ${n.images} images).`,
    };
  }
}
