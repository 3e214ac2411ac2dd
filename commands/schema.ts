import {Args, Flags} from '@oclif/core';
import {errorSchema, listSchemas, publishedSchema, resultSchema, type PublishedSchemaName} from '../src/app/schema.js';
import type {ResultOf} from '../src/app/results.js';
import {OrxCommand, type CommandResult, type StreamedResult} from '../src/cli/command.js';
import {OrxError} from '../src/errors.js';
import {table} from '../src/ui/state-view.js';

export default class Schema extends OrxCommand {
  static override summary = 'Print a JSON Schema shipped with orx (config, plan, policy, error, or the --json result of a command).';
  static override description =
    'Without an argument (or with --list) lists every schema. `orx schema result COMMAND` prints the schema of what COMMAND prints with --json (COMMAND with dashes for spaces: `dr-backup`, or quoted: "dr backup"); `orx schema error` the error document every command prints with --json when it fails.';
  static override examples = [
    'orx schema config > orchestration.schema.json',
    'orx schema --list',
    'orx schema result plan',
    'orx schema result dr-backup',
  ];
  static override args = {
    which: Args.string({
      required: false,
      options: ['config', 'plan', 'policy', 'error', 'result'],
      description: 'config | plan | policy | error | result',
    }),
    command: Args.string({required: false, description: 'With `result`: the command whose --json result to print (e.g. plan, dr-backup).'}),
  };
  static override flags = {
    list: Flags.boolean({description: 'List every schema with a line on what it describes.', default: false, env: 'ORX_LIST'}),
  };

  async exec(): Promise<CommandResult<ResultOf<'schema'>> | StreamedResult> {
    const {args, flags} = await this.parse(Schema);
    await this.setup(flags);
    if (flags.list || !args.which) {
      const schemas = listSchemas();
      return {data: {schemas}, human: table([['SCHEMA', 'DESCRIPTION'], ...schemas.map((s) => [s.name, s.description])])};
    }
    let schema: Record<string, unknown>;
    if (args.which === 'result') {
      const command = args.command;
      if (!command)
        throw new OrxError({code: 'usage', message: 'say which command: orx schema result COMMAND', actions: ['See `orx schema --list`.']});
      schema = resultSchema(command);
    } else if (args.which === 'error') schema = errorSchema();
    else schema = publishedSchema(args.which as PublishedSchemaName);
    // the schema is the document: printed as is, with or without --json
    process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
    return {streamed: true};
  }
}
