import path from 'node:path';
import {Args, Flags} from '@oclif/core';
import {loadSavedPlan} from '../src/engine/operations.js';
import {planDigest} from '../src/engine/planfile.js';
import {refuseIfDenied, reviewPolicy} from '../src/engine/policy-eval.js';
import {withCheckpointedLedger} from '../src/engine/checkpoint.js';
import {OrxError} from '../src/errors.js';
import {recordApprovals} from '../src/ledger/safety.js';
import {OrxCommand, type CommandResult} from '../src/cli/command.js';

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
      default: [],
      env: 'ORX_TRUSTED_KEY',
    }),
  };

  async exec(): Promise<CommandResult> {
    const {args, flags} = await this.parse(Approve);
    await this.setup(flags);
    if (!flags.all && !flags.step?.length)
      throw new OrxError({code: 'usage', message: 'say which steps: --step ADDR (repeatable) or --all'});
    if (!flags.reason.trim()) throw new OrxError({code: 'usage', message: '--reason must not be empty'});
    // approving a plan whose signature does not hold would approve nobody knows what
    const doc = await loadSavedPlan(this.orx, path.resolve(this.orx.dir, args.file), flags['trusted-key']);
    const inPlan = new Set(doc.steps.filter((s) => s.action !== 'noop' || s.record).map((s) => s.address));
    for (const a of flags.step ?? []) {
      if (!inPlan.has(a))
        throw new OrxError({
          code: 'not_in_plan',
          message: `${a} is not a step of plan ${doc.plan_id}`,
          actions: [`Steps: ${[...inPlan].join(', ') || '(none)'}`],
        });
    }
    // approving what today's policies deny would record a human's yes to something that can never run
    if (!flags.reject) refuseIfDenied((await reviewPolicy(this.orx.dir, doc)).verdict.decisions, `plan ${doc.plan_id}`);
    const digest = planDigest(doc);
    const actor = flags.as ?? this.orx.actor;
    const decision = flags.reject ? ('rejected' as const) : ('approved' as const);
    const rows = await withCheckpointedLedger(this.orx, {reason: 'approve'}, (l) =>
      recordApprovals(
        l,
        (flags.all ? [null] : flags.step!).map((address) => ({
          plan_id: doc.plan_id,
          plan_digest: digest,
          address,
          decision,
          actor,
          reason: flags.reason,
          run_id: null,
        })),
      ),
    );
    return {
      data: {plan_id: doc.plan_id, plan_digest: digest, approvals: rows},
      human: `${decision === 'approved' ? 'Approved' : 'Rejected'} ${flags.all ? 'every step' : flags.step!.join(', ')} of plan ${doc.plan_id} as ${actor}. Apply it with: orx apply ${args.file}`,
    };
  }
}
