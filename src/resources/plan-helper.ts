import {diffAttrs} from './diff.js';
import type {Action, DesiredResource, ObservedResource, PlannedStep, SafetyCategory} from './types.js';

type Planned = Omit<PlannedStep, 'id' | 'depends_on' | 'idempotency_key' | 'record' | 'budget_ms'>;

/**
 * The diff every kind shares: computed attributes are carried over from what exists,
 * a change to anything not updatable in place forces a replacement.
 */
export function planByDiff(
  action: Pick<Action, 'kind' | 'safety' | 'updatable' | 'computed'>,
  desired: DesiredResource | null,
  base: ObservedResource | null,
  replaceCategory: SafetyCategory,
  hidden: ReadonlySet<string> = new Set(),
): Planned {
  const common = {kind: action.kind, reasons: [] as string[]};
  if (!desired && !base) throw new Error('planByDiff needs a desired or an existing resource');
  if (!desired) {
    return {
      ...common,
      address: base!.address,
      action: 'delete',
      category: 'DESTROY',
      before: base!.attributes,
      after: null,
      changes: [],
      object_id: base!.object_id,
    };
  }
  if (!base) {
    return {
      ...common,
      address: desired.address,
      action: 'create',
      category: action.safety.category,
      before: null,
      after: desired.attributes,
      changes: [],
      object_id: null,
    };
  }
  const after = {...desired.attributes};
  for (const k of action.computed) if (base.attributes[k] !== undefined) after[k] = base.attributes[k];
  const changes = diffAttrs(base.attributes, after, action.updatable);
  const visible = changes.filter((c) => !hidden.has(c.path.split('.')[0]));
  const shown = visible.length > 0 ? visible : changes;
  const kind = changes.length === 0 ? 'noop' : changes.some((c) => c.forces_replacement) ? 'replace' : 'update';
  const category = kind === 'replace' ? replaceCategory : kind === 'noop' ? 'READ' : action.safety.category;
  return {
    ...common,
    address: desired.address,
    action: kind,
    category,
    before: base.attributes,
    after,
    changes: shown,
    object_id: base.object_id,
  };
}
