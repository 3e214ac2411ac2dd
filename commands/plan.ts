import {Flags} from '@oclif/core';
import {makePlan} from '../src/app/plan.js';
import {exitCodeHelp, OrxCommand, type CommandResult} from '../src/cli/command.js';
import {planFlags, toolFlags} from '../src/cli/flags.js';
import {EXIT} from '../src/exit-codes.js';
import {planFooter, renderPlan} from '../src/ui/plan-view.js';
import type {ResultOf} from '../src/app/results.js';

export default class Plan extends OrxCommand {
  static override summary = 'Show what apply would change, without changing anything.';
  static override description = `Compares orchestration.yml with the ledger and what the Docker engine has, and prints a Terraform-style diff; drift found by refresh is listed separately.\n\n${exitCodeHelp()}`;
  static override examples = [
    'orx plan',
    'orx plan -out plans/next.plan.json',
    'orx plan --target agent.researcher --detailed-exitcode',
    'orx plan --refresh-secrets',
  ];
  static override flags = {
    ...planFlags,
    ...toolFlags,
    out: Flags.string({char: 'o', description: 'Write the plan to this file for `orx apply FILE`.', env: 'ORX_OUT'}),
    destroy: Flags.boolean({description: 'Plan the deletion of everything the workspace owns.', env: 'ORX_DESTROY', default: false}),
    'detailed-exitcode': Flags.boolean({
      description: 'Exit 2 when the plan has changes, 0 when it has none.',
      env: 'ORX_DETAILED_EXITCODE',
      default: false,
    }),
    'key-file': Flags.string({
      description: 'Sign a saved plan with this private key (PEM) instead of the workspace key.',
      env: 'ORX_KEY_FILE',
    }),
    'allow-denied': Flags.boolean({
      description: 'Save a plan that policy denies, for review (it can never be applied).',
      env: 'ORX_ALLOW_DENIED',
      default: false,
    }),
    readiness: Flags.boolean({
      description: 'Show the readiness estimate even where the ledger has too little history for it to be more than the prior.',
      env: 'ORX_READINESS',
      default: false,
    }),
    'refresh-secrets': Flags.boolean({
      description:
        'Resolve the secret references (1Password, environment, files) to show rotated values; without it a plan stays offline. `orx apply` always does.',
      env: 'ORX_REFRESH_SECRETS',
      default: false,
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'plan'>>> {
    const {flags} = await this.parse(Plan);
    await this.setup(flags);
    const p = await makePlan(this.orx, {
      mode: flags.destroy ? 'destroy' : 'apply',
      refresh: flags.refresh,
      targets: flags.target ?? [],
      replace: flags.replace ?? [],
      autonomy: flags.autonomy,
      out: flags.out,
      allowDenied: flags['allow-denied'],
      keyFile: flags['key-file'],
      refreshSecrets: flags['refresh-secrets'],
      simSeed: flags['sim-seed'],
      simIterations: flags['sim-iterations'],
    });
    return {
      data: {...p.doc, denied: p.denied, ...(p.saved_to ? {saved_to: p.saved_to} : {}), approvals_needed: p.approvals_needed},
      // a plan of a thousand steps takes a while to render: not done for --json
      human: () =>
        renderPlan(p.doc, {needs: p.needs_human, readiness: flags.readiness}) +
        planFooter(p, {dir: this.orx.dir, asked: Boolean(flags.out)}),
      exit: p.denied ? EXIT.APPROVAL : flags['detailed-exitcode'] && p.has_changes ? EXIT.CHANGES : EXIT.OK,
    };
  }
}
