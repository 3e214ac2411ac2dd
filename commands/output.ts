import {Args, Flags} from '@oclif/core';
import {namedOutput, rawOutput, showOutputs} from '../src/app/output.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';
import {renderOutputs, renderOutputValue} from '../src/ui/output-view.js';

export default class Output extends OrxCommand {
  static override summary = "Print orchestration.yml's outputs, evaluated over the recorded state.";
  static override description =
    "Reads the ledger only (never the Docker engine), like `terraform output`: the expressions are the current file's, the state is what the last apply recorded. An output whose resources are not applied yet shows its error; the others still print.";
  static override examples = ['orx output', 'orx output web_url', 'curl "$(orx output web_url --raw)"', 'orx output --json'];
  static override args = {name: Args.string({description: 'One output (outputs.NAME).', required: false})};
  static override flags = {
    raw: Flags.boolean({
      description: 'Print the bare value of one string, number or bool output (for scripts).',
      env: 'ORX_RAW',
      default: false,
      exclusive: ['json'],
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'output'>>> {
    const {args, flags} = await this.parse(Output);
    await this.setup(flags);
    const result = await showOutputs(this.orx, args.name);
    const human = flags.raw
      ? rawOutput(result, args.name)
      : args.name !== undefined
        ? renderOutputValue(namedOutput(result, args.name))
        : renderOutputs(result.outputs);
    return {data: result, human};
  }
}
