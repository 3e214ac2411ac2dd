import {Args} from '@oclif/core';
import {testPolicies} from '../../src/app/policy.js';
import {OrxCommand, type CommandResult} from '../../src/cli/command.js';
import {EXIT} from '../../src/exit-codes.js';
import {renderPolicyTestTable} from '../../src/ui/policy-view.js';
import type {ResultOf} from '../../src/app/results.js';

export default class PolicyTest extends OrxCommand {
  static override summary = 'Run the policy test cases (policies/tests/*_test.yaml) against policies/.';
  static override description =
    'Like `opa test` / `conftest verify`: each case is a plan fixture and the decisions it must produce. Exit 1 on any failure.';
  static override args = {dir: Args.string({description: 'Directory of *_test.yaml files (default: policies/tests).', required: false})};

  async exec(): Promise<CommandResult<ResultOf<'policy test'>>> {
    const {args, flags} = await this.parse(PolicyTest);
    await this.setup(flags);
    const report = await testPolicies(this.orx, args.dir);
    return {data: {...report}, human: renderPolicyTestTable(report), exit: report.failed > 0 ? EXIT.ERROR : EXIT.OK};
  }
}
