// The shapes of policy as code: rules loaded from policies/*.yaml, the context their CEL
// conditions read, and the decisions they produce.
import type {RecentActivity} from '../ledger/activity.js';
import type {PlannedStep, ResourceKind, SafetyCategory, StepAction} from '../resources/types.js';

export type PolicyEffect = 'deny' | 'require_approval' | 'warn' | 'allow';
export type RuleScope = 'step' | 'plan';

/** A compiled `when`: gives the CEL value for one evaluation context (should be a bool). */
export type CompiledWhen = (vars: Record<string, unknown>) => unknown;

export interface PolicyRule {
  id: string;
  description: string;
  /** the file, relative to the workspace ("policies/example.yaml"; "orx:baseline.yaml" for a built-in rule), for messages and decisions */
  file: string;
  /** where the rule's `when` starts in that file */
  line: number;
  col: number;
  /** null = any; noop steps are never matched */
  match: {kinds: ReadonlySet<string> | null; categories: ReadonlySet<string> | null; actions: ReadonlySet<string> | null};
  scope: RuleScope;
  when: string;
  effect: PolicyEffect;
  message: string;
  program: CompiledWhen;
}

export interface PolicySet {
  /** in file order (files sorted by name), then in the order written */
  rules: PolicyRule[];
  /** the files read, relative to the workspace */
  files: string[];
}

/** One rule's `when` came out true for one step (or, for a plan-scope rule, for the plan). */
export interface PolicyDecision {
  rule: string;
  file: string;
  effect: PolicyEffect;
  message: string;
  /** step id, null for a plan-scope rule */
  step: string | null;
  address: string | null;
  /** a waiver in orchestration.yml turned this built-in rule's deny into an approval */
  waiver?: DecisionWaiver;
}

export interface DecisionWaiver {
  reason: string;
  expires: string;
  /** what the rule decided before the waiver */
  effect: PolicyEffect;
}

export interface PolicyEvaluation {
  decisions: PolicyDecision[];
}

/** What `orx policy eval` shows: every rule against every step it could look at. */
export interface RuleResult {
  rule: string;
  file: string;
  effect: PolicyEffect;
  scope: RuleScope;
  step: string | null;
  address: string | null;
  /** not_matched: the rule's `match` leaves this step (or, plan scope, the whole plan) out */
  result: 'true' | 'false' | 'error' | 'not_matched';
  /** the rendered message when result is true, the reason when it is error */
  message: string | null;
}

/** The fields of a step policy looks at; a PlannedStep has them all. */
export type PolicyPlanStep = Pick<PlannedStep, 'id' | 'address' | 'action' | 'category' | 'before' | 'after'> & {
  kind: string;
} & Partial<Pick<PlannedStep, 'changes' | 'reasons' | 'depends_on'>>;

/** The fields of a plan policy looks at; a PlanDocument has them all. */
export interface PolicyPlan {
  kind: string;
  steps: readonly PolicyPlanStep[];
  summary?: {create: number; update: number; replace: number; delete: number};
}

export interface PolicyInputInit {
  plan: PolicyPlan;
  /** the workspace name */
  workspace: string;
  autonomy: number;
  now: Date;
  recent?: RecentActivity;
  /** extra keys merged into the `plan` variable (policy test fixtures) */
  planExtras?: Record<string, unknown>;
}

/** One step, with its CEL variables built once and shared by every rule. */
export interface PolicyStepInput {
  id: string;
  address: string;
  kind: string;
  action: StepAction;
  category: SafetyCategory;
  step: Record<string, unknown>;
  resource: Record<string, unknown>;
}

/** Everything a rule can read, already in CEL's value model (see context.ts). */
export interface PolicyInput {
  plan: Record<string, unknown>;
  workspace: Record<string, unknown>;
  autonomy: bigint;
  now: Date;
  recent: Record<string, unknown>;
  steps: PolicyStepInput[];
}

export type {ResourceKind, SafetyCategory, StepAction};
