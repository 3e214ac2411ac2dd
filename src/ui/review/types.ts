// Props and result of the ink review screen: approvals on a TTY.
import type {PlanKind} from '../../engine/planfile.js';

import type {SafetyCategory, StepAction} from '../../resources/types.js';

export type ReviewAction = StepAction;
export type ReviewCategory = SafetyCategory;
export type ReviewNoteEffect = 'deny' | 'require_approval' | 'warn' | 'allow';

export interface ReviewChange {
  path: string;
  before: unknown;
  after: unknown;
  forces_replacement: boolean;
}

export interface ReviewNote {
  rule: string;
  effect: ReviewNoteEffect;
  message: string;
  /** a waiver in orchestration.yml turned this built-in rule's deny into an approval */
  waived?: boolean;
}

export interface ReviewStep {
  id: string;
  address: string;
  kind: string;
  action: ReviewAction;
  category: ReviewCategory;
  changes: ReviewChange[];
  /** Shown as "+ key = value" lines for creates. */
  after: Record<string, unknown> | null;
  /** Addresses this step depends on. */
  depends_on: string[];
  /** Autonomy or a require_approval rule says a human must approve. */
  needs_approval: boolean;
  /** A reason-for-access is required before approving this step (DEPLOY/DESTROY or flagged by a rule). */
  reason_required: boolean;
  /** Policy notes. */
  notes: ReviewNote[];
}

/** Addresses, in the order of the steps. */
export interface ReviewResult {
  approved: string[];
  rejected: string[];
  reason: string;
}

export interface ReviewSummary {
  create: number;
  update: number;
  replace: number;
  delete: number;
}

export interface ReviewProps {
  planId: string;
  kind: PlanKind;
  summary: ReviewSummary;
  /** Only the steps to review (no noops). */
  steps: ReviewStep[];
  onSubmit: (result: ReviewResult) => void;
  onCancel: () => void;
}

/** What `renderReview` needs: the props without the callbacks. */
export type ReviewInput = Omit<ReviewProps, 'onSubmit' | 'onCancel'>;

export interface StepStatus {
  step: ReviewStep;
  decision: Decision;
  /** Approved without needing a human (the step does not need approval). */
  auto: boolean;
  /** Rejected because this (directly rejected) step it depends on was rejected. */
  cause: string | null;
}

export type Decision = 'pending' | 'approved' | 'rejected';
