import {createHash} from 'node:crypto';
import {OrxError} from '../errors.js';
import type {ResourceRecord} from '../ledger/types.js';
import {ACTIONS, parseAddress} from './actions.js';
import type {
  AttrChange,
  Attrs,
  DesiredResource,
  ObservedResource,
  PlannedStep,
  ResourceKind,
  StepDraft,
  StepKind,
} from '../resources/types.js';
import {deepEqual, diffAttrs} from '../resources/diff.js';
import {closure, topoSort} from './graph.js';
import {withObjectChanges} from '../resources/manifests.js';
import {REDACTED} from '../util/redact.js';
import type {Observation} from './refresh.js';
import {moveStep, type MoveAttrs} from '../resources/move.js';

export interface DriftItem {
  address: string;
  kind: ResourceKind;
  /** 'deleted' (gone from the engine), 'changed' (attributes differ from the ledger) */
  status: 'deleted' | 'changed';
  changes: AttrChange[];
}

export interface PlanInput {
  plan_id: string;
  mode: 'apply' | 'destroy';
  desired: DesiredResource[];
  recorded: ResourceRecord[];
  /** null when refresh is off: the ledger stands in for the world */
  observation: Observation | null;
  /** idempotency keys of steps the ledger has run: a labelled orphan with one of these is orx's to delete */
  knownStepKeys: ReadonlySet<string>;
  targets: string[];
  replace: string[];
  /** time budget of a step on this address (default: the action's own) */
  budgetFor?: (address: string, kind: ResourceKind) => number | undefined;
  /** agent address -> secret names whose value changed since it was delivered (plan --refresh-secrets) */
  rotated?: ReadonlyMap<string, readonly string[]>;
  /** `moved:` entries with a record to move (engine/moves.ts); `recorded` already has them at their new address */
  moves?: MoveAttrs[];
}

export interface PlanModel {
  steps: PlannedStep[];
  drift: DriftItem[];
  notes: string[];
}

const KIND_RANK: Record<StepKind, number> = {
  move: -1,
  network: 0,
  volume: 1,
  image: 2,
  cluster: 3,
  manifests: 4,
  gateway: 5,
  agent: 6,
  dr: 7,
};

function checkAddresses(list: string[], flag: string, known: Set<string>): void {
  for (const a of list) {
    if (!parseAddress(a))
      throw new OrxError({code: 'bad_address', message: `${flag} ${a}: not a resource address (kind.name, e.g. agent.researcher)`});
    if (!known.has(a))
      throw new OrxError({
        code: 'bad_address',
        message: `${flag} ${a}: no such resource in the configuration or the state`,
        actions: ['See `orx state list` for recorded addresses.'],
      });
  }
}

/** The addresses a resource's recorded attributes point at (what it needed when it was made). */
function recordedDeps(kind: ResourceKind, attrs: Attrs, nameIndex: Map<string, string>): string[] {
  const cluster = (attrs.kube as {cluster?: string | null} | undefined)?.cluster;
  if (kind === 'manifests' || attrs.target === 'kubernetes') return cluster ? [`cluster.${cluster}`] : [];
  if (kind !== 'agent') return [];
  const deps = [`image.${String(attrs.image)}`];
  for (const n of (attrs.networks as string[] | undefined) ?? []) deps.push(nameIndex.get(`network:${n}`) ?? '');
  for (const m of (attrs.mounts as Array<{source: string}> | undefined) ?? []) deps.push(nameIndex.get(`volume:${m.source}`) ?? '');
  return deps.filter(Boolean);
}

export function buildPlan(input: PlanInput): PlanModel {
  const recorded = new Map(input.recorded.map((r) => [r.address, r]));
  const desired = new Map(input.mode === 'destroy' ? [] : input.desired.map((d) => [d.address, d]));
  const observed = input.observation?.observed;
  const notes: string[] = [];

  const asObserved = (r: ResourceRecord): ObservedResource => ({
    address: r.address,
    kind: r.kind as ResourceKind,
    object_id: r.object_id ?? String(r.attributes.name ?? r.address),
    attributes: r.attributes,
  });
  const base = (address: string): ObservedResource | null => {
    if (observed) return observed.get(address) ?? null;
    const r = recorded.get(address);
    return r ? asObserved(r) : null;
  };

  const drift: DriftItem[] = [];
  if (observed) {
    for (const r of input.recorded) {
      const o = observed.get(r.address);
      if (!o) drift.push({address: r.address, kind: r.kind as ResourceKind, status: 'deleted', changes: []});
      else {
        const changes = withObjectChanges(
          diffAttrs(r.attributes, o.attributes, ACTIONS[r.kind as ResourceKind].updatable),
          r.attributes,
          o.attributes,
        );
        if (changes.length > 0) drift.push({address: r.address, kind: r.kind as ResourceKind, status: 'changed', changes});
      }
    }
  }

  const all = new Set<string>([...desired.keys(), ...recorded.keys(), ...(observed ? observed.keys() : [])]);
  checkAddresses(input.targets, '--target', all);
  checkAddresses(input.replace, '--replace', all);

  const nameIndex = new Map<string, string>();
  for (const src of [...input.recorded.map((r) => ({address: r.address, kind: r.kind, attributes: r.attributes})), ...desired.values()]) {
    if (src.kind === 'network' || src.kind === 'volume') nameIndex.set(`${src.kind}:${String(src.attributes.name)}`, src.address);
  }

  const budget = (address: string, kind: ResourceKind): number => input.budgetFor?.(address, kind) ?? ACTIONS[kind].safety.budget.timeMs;
  const drafts = new Map<string, StepDraft>();
  for (const address of all) {
    const kind = parseAddress(address)!.kind;
    const d = desired.get(address) ?? null;
    const rec0 = recorded.get(address);
    // gone from the world and from the configuration, still in the ledger (a delete whose step
    // failed after it ran): a delete that finds nothing to remove, so that the record goes too
    const gone = !d && observed && !observed.has(address) && rec0 ? asObserved(rec0) : null;
    const b = base(address) ?? gone;
    if (!d && !b) continue;
    const step = ACTIONS[kind].plan(d, b);
    if (gone) step.reasons.push('already gone from the engine: only the record is removed');
    const rec = recorded.get(address);
    const deps = new Set([
      ...(d?.depends_on ?? []),
      ...(b ? recordedDeps(kind, b.attributes, nameIndex) : []),
      ...(rec ? recordedDeps(kind, rec.attributes, nameIndex) : []),
    ]);
    const draft: StepDraft = {...step, depends_on: [...deps].filter((x) => x !== address), record: false, budget_ms: budget(address, kind)};
    if (observed && rec && !observed.has(address) && d) draft.reasons.push('deleted outside orx');
    if (input.replace.includes(address) && d && b && draft.action !== 'create') {
      draft.action = 'replace';
      draft.category = kind === 'volume' ? 'DESTROY' : kind === 'agent' || kind === 'cluster' || kind === 'manifests' ? 'DEPLOY' : 'WRITE';
      draft.reasons.push('requested with --replace');
    }
    const rotated = d ? input.rotated?.get(address) : undefined;
    if (rotated && (draft.action === 'noop' || draft.action === 'update')) markRotated(draft, rotated);
    if (draft.action === 'noop' && b && (!rec || rec.object_id !== b.object_id || !deepEqual(rec.attributes, draft.after))) {
      draft.record = true;
      // a `ref:` image is found because the operator has it, not because an apply was cut short
      if (!rec)
        draft.reasons.push(
          kind === 'image' && b.attributes.source === 'ref'
            ? 'found on this machine: will be recorded'
            : 'found on the engine (left by an interrupted apply): will be recorded',
        );
    }
    // a kind cluster left by an interrupted apply is adopted by its create step, which also
    // writes the workspace kubeconfig the recording alone would not
    if (kind === 'cluster' && draft.action === 'noop' && !rec && b) {
      draft.action = 'create';
      draft.category = 'DEPLOY';
      draft.record = false;
      draft.reasons.splice(0, draft.reasons.length, 'found (left by an interrupted apply): will be adopted');
    }
    drafts.set(address, draft);
  }

  // a new cluster has none of the objects: everything on it is applied again
  for (const s of drafts.values()) {
    const onCluster = s.kind === 'manifests' || (s.kind === 'agent' && (s.after ?? s.before)?.target === 'kubernetes');
    const dep = onCluster ? s.depends_on.find((a) => a.startsWith('cluster.') && drafts.get(a)?.action === 'replace') : undefined;
    if (dep && (s.action === 'noop' || s.action === 'update')) {
      s.action = 'update';
      s.category = 'DEPLOY';
      s.record = false;
      s.reasons.push(`${dep} is replaced: applied to the new cluster`);
    }
  }

  // a container cannot outlive the network or volume it is attached to being recreated
  let changed = true;
  while (changed) {
    changed = false;
    for (const s of drafts.values()) {
      if (s.kind !== 'agent' || s.after?.target === 'kubernetes' || (s.action !== 'noop' && s.action !== 'update')) continue;
      // another agent it depends on is only an ordering: its replacement leaves this container be
      const dep = s.depends_on.find((a) => drafts.get(a)?.action === 'replace' && ['network', 'volume'].includes(a.split('.')[0]));
      if (dep) {
        s.action = 'replace';
        s.category = 'DEPLOY';
        s.record = false;
        s.reasons.push(`${dep} is replaced`);
        changed = true;
      }
    }
  }

  // a moved record is moved in the ledger before anything is done at its new address
  for (const m of input.moves ?? []) {
    drafts.set(m.from, moveStep(m));
    const at = drafts.get(m.to);
    if (at) at.depends_on = [...at.depends_on, m.from];
  }

  for (const o of input.observation?.orphans ?? []) {
    if (o.step_key && input.knownStepKeys.has(o.step_key) && !drafts.has(o.address) && parseAddress(o.address)) {
      drafts.set(o.address, {
        address: o.address,
        kind: o.kind,
        action: 'delete',
        category: 'DESTROY',
        before: {name: o.name},
        after: null,
        changes: [],
        reasons: ['created by an earlier apply that was interrupted; no longer in the configuration'],
        depends_on: [],
        object_id: o.object_id,
        record: false,
        budget_ms: budget(o.address, o.kind),
      });
    } else if (o.kind === 'agent' && o.step_key && input.knownStepKeys.has(o.step_key) && drafts.get(o.address)?.action === 'replace') {
      // a replace removes its agent's leftovers before making a new container (resources/agent/rollback.ts)
      notes.push(`container ${o.name} was left by an interrupted update of ${o.address}: its replace removes it first`);
    } else if (!drafts.has(o.address)) {
      notes.push(`${o.kind} ${o.name} carries this workspace's labels but orx does not manage it (left alone)`);
    }
  }

  let selected = [...drafts.values()];
  if (input.targets.length > 0) {
    const keep = closure(input.targets, (a) => drafts.get(a)?.depends_on ?? []);
    selected = selected.filter((s) => keep.has(s.address));
  }

  const ordered = topoSort(
    selected
      .sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.address < b.address ? -1 : 1))
      .map((s) => ({...s, id: s.address, deps: s.depends_on})),
  );
  const steps: PlannedStep[] = ordered.map((s, i) => {
    const {deps: _deps, ...rest} = s;
    return {...rest, id: `s${i + 1}`, idempotency_key: idempotencyKey(input.plan_id, s.address, s.action)};
  });
  return {steps, drift, notes};
}

/**
 * A rotated secret is an update: its files are rewritten and the agent restarted (its
 * container, mounts and identity stay). The values are never shown, only that they changed.
 */
function markRotated(draft: Omit<PlannedStep, 'id' | 'idempotency_key'>, keys: readonly string[]): void {
  draft.action = 'update';
  draft.category = 'DEPLOY';
  for (const key of keys) {
    const path = `secrets.${key}`;
    if (!draft.changes.some((c) => c.path === path))
      draft.changes.push({path, before: REDACTED, after: REDACTED, forces_replacement: false});
    draft.reasons.push(`secret ${key} rotated`);
  }
}

export function idempotencyKey(planId: string, address: string, action: string): string {
  return createHash('sha256').update(`${planId}\0${address}\0${action}`).digest('hex').slice(0, 32);
}

export function summarize(steps: PlannedStep[]): Record<'create' | 'update' | 'replace' | 'delete', number> {
  const s = {create: 0, update: 0, replace: 0, delete: 0};
  for (const st of steps) if (st.action !== 'noop' && st.action !== 'move') s[st.action]++;
  return s;
}

export function hasChanges(steps: PlannedStep[]): boolean {
  return steps.some((s) => s.action !== 'noop' || s.record);
}
