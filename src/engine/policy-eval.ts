// Policy over plans: the one place decisions are made, at plan time and again, on the steps
// about to run, when a plan is approved or applied. The built-in baseline is always part of it;
// waivers come from the current orchestration.yml; decisions stored in a plan are never trusted.
import type {LoadedConfig, Waiver} from '../config/types.js';
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import type {Ledger} from '../ledger/ledger.js';
import {recentActivity} from '../ledger/activity.js';
import {approvalsFor, type ApprovalRecord} from '../ledger/approvals.js';
import {loadConfig} from '../config/load.js';
import type {VariableInputs} from '../config/variables.js';
import {isDenied, type DecisionLike} from '../policy/review.js';
import type {PolicySet, RuleResult} from '../policy/types.js';
import type {WaiverUse} from '../policy/waivers.js';
import type {PlannedStep} from '../resources/types.js';
import {assertFresh, planDigest, readPlanFile, type PlanDocument, type PlanKind} from './planfile.js';
import {currentState, planVariableInputs} from './digests.js';
import {summarize} from './planner.js';
import {withLedger} from '../ledger/session.js';

export interface PolicyVerdict {
  decisions: DecisionLike[];
  waivers: WaiverUse[];
}

/** The built-in baseline and the workspace's rules. The CEL stack loads only for commands that decide. */
export async function loadPolicySet(dir: string): Promise<PolicySet> {
  const {loadPolicies} = await import('../policy/load.js');
  return loadPolicies(dir);
}

export async function decidePolicy(
  policies: PolicySet,
  waivers: readonly Waiver[],
  p: {kind: PlanKind; steps: PlannedStep[]; workspace: string; autonomy: number; ledger: Ledger; now?: Date},
): Promise<PolicyVerdict> {
  const [{buildPolicyInput}, {evaluatePolicies}, {applyWaivers}] = await Promise.all([
    import('../policy/context.js'),
    import('../policy/evaluate.js'),
    import('../policy/waivers.js'),
  ]);
  const now = p.now ?? new Date();
  const input = buildPolicyInput({
    plan: {kind: p.kind, steps: p.steps, summary: summarize(p.steps)},
    workspace: p.workspace,
    autonomy: p.autonomy,
    now,
    recent: recentActivity(p.ledger),
  });
  return applyWaivers(evaluatePolicies(policies, input).decisions, waivers, now);
}

/**
 * Today's decisions for the steps of a saved (or just made) plan that are about to run: the
 * current policies and waivers, whatever the file says. Image-signature denials found at plan
 * time cannot be checked again offline, so the plan's own are kept on top.
 */
export async function decideAtApply(
  dir: string,
  doc: PlanDocument,
  steps: PlannedStep[],
  loaded: LoadedConfig,
  ledger: Ledger,
  autonomy: number,
): Promise<PolicyVerdict> {
  const verdict = await decidePolicy(await loadPolicySet(dir), loaded.config.waivers, {
    kind: doc.kind,
    steps,
    workspace: loaded.config.workspace,
    autonomy,
    ledger,
  });
  const running = new Set(steps.map((s) => s.id));
  const signatures = (doc.policy.decisions ?? []).filter(
    (d) => d.rule === 'image-signature' && d.effect === 'deny' && (d.step === null || running.has(d.step)),
  );
  return {decisions: [...signatures, ...verdict.decisions], waivers: verdict.waivers};
}

export interface PlanPolicyReview {
  verdict: PolicyVerdict;
  autonomy: number;
  /** approvals recorded in the ledger for this exact plan digest */
  approvals: ApprovalRecord[];
  /** the plan file carries decisions other than today's (edited, or made under other policies) */
  differs: boolean;
}

/** What review and approval go by for a plan: today's policies and waivers over all its steps. */
export async function reviewPolicy(
  dir: string,
  doc: PlanDocument,
  requestedAutonomy?: number,
  vars?: VariableInputs,
): Promise<PlanPolicyReview> {
  const loaded = loadConfig(dir, {vars: planVariableInputs(doc, vars)});
  const autonomy = autonomyAtApply(loaded, doc, requestedAutonomy);
  return withLedger(dir, async (ledger) => {
    // a stale plan is refused as stale (exit 5) before anyone is asked to approve it
    assertFresh(doc, currentState(dir, loaded, ledger));
    const verdict = await decideAtApply(dir, doc, doc.steps, loaded, ledger, autonomy);
    return {
      verdict,
      autonomy,
      approvals: approvalsFor(ledger, planDigest(doc)),
      differs: !sameDecisions(doc.policy.decisions ?? [], verdict.decisions),
    };
  });
}

function sameDecisions(a: readonly DecisionLike[], b: readonly DecisionLike[]): boolean {
  const key = (d: DecisionLike) => `${d.rule}\0${d.effect}\0${d.address ?? ''}`;
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** The autonomy a saved plan runs at: never above the workspace's today, the plan's, or the command line's. */
export function autonomyAtApply(loaded: LoadedConfig, doc: PlanDocument, requested?: number): number {
  return Math.min(loaded.config.autonomy, Number.isInteger(doc.autonomy) ? doc.autonomy : 0, requested ?? 3);
}

/** A plan with a deny decision can be saved for review, never approved or applied; the refusal names each rule. */
export function refuseIfDenied(decisions: readonly DecisionLike[], what = 'this plan'): void {
  if (!isDenied(decisions)) return;
  const denies = decisions.filter((d) => d.effect === 'deny');
  throw new OrxError({
    code: 'policy_denied',
    exit: EXIT.APPROVAL,
    message: `policy denies ${what}:\n${denies.map((d) => `  ${d.address ?? 'plan'}: ${d.message} (rule ${d.rule})`).join('\n')}`,
    actions: [
      'Change orchestration.yml (or, with review, the policies/) and plan again. A built-in rule is passed only by a waiver in orchestration.yml (waivers: [{rule, address, reason, expires}]).',
    ],
    data: {denied: denies},
  });
}

/** Every rule against every step of a saved plan, with today's rate-limit counts. */
export async function evaluatePlanRules(dir: string, file: string): Promise<{doc: PlanDocument; results: RuleResult[]}> {
  const doc = readPlanFile(file);
  const set = await loadPolicySet(dir);
  const [{buildPolicyInput}, {evaluateAll}] = await Promise.all([import('../policy/context.js'), import('../policy/evaluate.js')]);
  const recent = await withLedger(dir, (l) => recentActivity(l));
  const input = buildPolicyInput({
    plan: {kind: doc.kind, steps: doc.steps, summary: doc.summary},
    workspace: doc.workspace,
    autonomy: doc.autonomy,
    now: new Date(),
    recent,
  });
  return {doc, results: evaluateAll(set, input)};
}
