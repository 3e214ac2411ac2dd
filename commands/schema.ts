import {Args} from '@oclif/core';
import {publishedSchema} from '../src/app/schema.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';

export default class Schema extends OrxCommand {
  static override summary = 'Print a JSON Schema shipped with orx (config, plan or policy).';
  static override examples = ['orx schema config > orchestration.schema.json'];
  static override args = {
    which: Args.string({required: true, options: ['config', 'plan', 'policy'], description: 'config | plan | policy'}),
  };

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(Schema);
    await this.setup(flags);
    const schema = publishedSchema(args.which as 'config' | 'plan' | 'policy');
    // the schema is the document: printed as is, with or without --json
    process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
    return {data: {}, streamed: true};
  }
}
