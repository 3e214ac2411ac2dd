import type {PlanDocument} from '../../src/engine/planfile.js';
import type {PlannedStep} from '../../src/resources/types.js';

/** A planned step with every field filled in; tests override what they look at. */
export function plannedStep(over: Partial<PlannedStep> = {}): PlannedStep {
  const address = over.address ?? 'agent.a';
  return {
    id: address,
    address,
    kind: address.split('.')[0] as PlannedStep['kind'],
    action: 'create',
    category: 'WRITE',
    before: null,
    after: {},
    changes: [],
    reasons: [],
    depends_on: [],
    object_id: null,
    record: false,
    idempotency_key: 'k',
    budget_ms: 1000,
    ...over,
  };
}

/** A plan document around `steps` with neutral metadata; tests override what they look at. */
export function planDocument(steps: PlannedStep[], over: Partial<PlanDocument> = {}): PlanDocument {
  return {
    formatVersion: '1',
    plan_id: 'plan-1',
    kind: 'apply',
    created_at: '',
    orx_version: '',
    workspace: 'w',
    lineage: 'l',
    serial: 0,
    ledger_head: {seq: 0, hash: '0'.repeat(64)},
    config_digest: '',
    policy_digest: '',
    autonomy: 0,
    refresh: true,
    targets: [],
    replace: [],
    steps,
    drift: [],
    notes: [],
    summary: {create: 0, update: 0, replace: 0, delete: 0},
    policy: {decisions: []},
    simulation: null,
    signature: null,
    ...over,
  };
}
