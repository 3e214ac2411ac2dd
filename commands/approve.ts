import {Args, Flags} from '@oclif/core';
import {approvePlan} from '../src/app/approve.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';
import type {ResultOf} from '../src/app/results.js';
export default class Approve extends OrxCommand {
  static override summary = 'Record approvals (or rejections) for steps of a saved plan.';
  static override description =
    "For the two-step CI flow: a human approves a saved plan here, and a later non-interactive `orx apply FILE` proceeds. Approvals are bound to the plan's digest: they count for no other plan.";
  static override examples = [
    'orx approve plans/next.plan.json --all --reason "reviewed in PR 42"',
    'orx approve plans/next.plan.json --step agent.researcher --reason "rollout window"',
  ];
  static override args = {file: Args.string({required: true, description: 'A plan saved with `orx plan -out FILE`.'})};
  static override flags = {
    step: Flags.string({description: 'Address of a step to approve (repeatable).', multiple: true, env: 'ORX_STEP', exclusive: ['all']}),
    all: Flags.boolean({description: 'Approve every step of the plan.', env: 'ORX_ALL', default: false}),
    reason: Flags.string({description: 'Why (a reason-for-access, recorded with the approval).', required: true, env: 'ORX_REASON'}),
    as: Flags.string({description: 'Approver name (default: the OS user).', env: 'ORX_APPROVER'}),
    reject: Flags.boolean({
      description: 'Record a rejection instead: those steps (and what needs them) are left out.',
      default: false,
      env: 'ORX_REJECT',
    }),
    'trusted-key': Flags.string({
      description: 'Also accept plans signed by this public key (PEM file; repeatable).',
      multiple: true,
      env: 'ORX_TRUSTED_KEY',
    }),
  };

  async exec(): Promise<CommandResult<ResultOf<'approve'>>> {
    const {args, flags} = await this.parse(Approve);
    await this.setup(flags);
    const r = await approvePlan(this.orx, {
      file: args.file,
      steps: flags.all ? null : (flags.step ?? []),
      reason: flags.reason,
      reject: flags.reject,
      as: flags.as,
      trustedKeys: flags['trusted-key'] ?? [],
    });
    return {
      data: {plan_id: r.plan_id, plan_digest: r.plan_digest, approvals: r.approvals},
      human: `${r.decision === 'approved' ? 'Approved' : 'Rejected'} ${flags.all ? 'every step' : flags.step!.join(', ')} of plan ${r.plan_id} as ${r.actor}. Apply it with: orx apply ${args.file}`,
    };
  }
}
