// A `moved:` entry as a plan step: the record at `from` becomes the record at `to`. Only the
// ledger changes: the Docker object keeps its id, its name (a computed attribute, carried over
// like any other) and its labels, which Docker cannot change; refresh binds it by the recorded
// object id, which wins over the io.orchestrix.address label it was created with.
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {bad, obj, str} from './check.js';
import type {Action, Attrs, PlannedStep, StepDraft} from './types.js';

export interface MoveAttrs extends Attrs {
  from: string;
  to: string;
  /** the kind of the record that moves (agent, network, volume) */
  kind: string;
  /** the object the record was bound to when the plan was made: a different one makes the step fail */
  object_id: string | null;
}

const MOVE_BUDGET_MS = 10_000;

export function moveAttrs(input: unknown): MoveAttrs {
  const a = obj('move', input);
  const m = {
    from: str('move', a, 'from'),
    to: str('move', a, 'to'),
    kind: str('move', a, 'kind'),
    object_id: str('move', a, 'object_id', true),
  };
  if (m.from.split('.')[0] !== m.kind || m.to.split('.')[0] !== m.kind) bad('move', 'from/to', `addresses of the kind ${m.kind}`);
  return m;
}

/** The step of one move: it runs before anything at its `to` address (which depends on it). */
export function moveStep(m: MoveAttrs): StepDraft {
  return {
    address: m.from,
    kind: 'move',
    action: 'move',
    category: 'WRITE',
    before: null,
    after: {...m},
    changes: [],
    reasons: [`${m.from} has moved to ${m.to}`],
    depends_on: [],
    object_id: m.object_id,
    record: false,
    budget_ms: MOVE_BUDGET_MS,
  };
}

function moveFailed(message: string): OrxError {
  return new OrxError({
    code: 'move_failed',
    exit: EXIT.STALE,
    message,
    actions: ['Run `orx plan` again: it plans from the state as it is now.'],
  });
}

export const moveAction: Action<MoveAttrs> = {
  kind: 'move',
  version: '1.0.0',
  safety: {category: 'WRITE', budget: {timeMs: MOVE_BUDGET_MS, network: 'none'}},
  updatable: new Set(),
  computed: new Set(),
  validate: moveAttrs,

  plan(desired) {
    if (!desired) throw new Error('a move is planned from its moved: entry');
    const {depends_on: _d, record: _r, budget_ms: _b, ...step} = moveStep(moveAttrs(desired.attributes));
    return step;
  },

  // idempotent: after a crash between the ledger write and the step's end, the record is
  // found at `to` bound to the same object, and there is nothing left to do
  async apply(step: PlannedStep, ctx) {
    const m = moveAttrs(step.after);
    const rec = ctx.ledger.getResource(m.from);
    const there = ctx.ledger.getResource(m.to);
    if (!rec) {
      if (there && there.object_id === m.object_id) return {object_id: m.object_id, attributes: null, changes: []};
      throw moveFailed(`${m.from} is no longer in the state: nothing to move to ${m.to}`);
    }
    if (rec.object_id !== m.object_id)
      throw moveFailed(`${m.from} is bound to ${rec.object_id ?? 'no object'} now, not ${m.object_id ?? 'no object'} as planned`);
    if (there) throw moveFailed(`${m.to} is already in the state: a move never overwrites a record`);
    ctx.log.info(`${m.from}: moved to ${m.to} (object ${m.object_id ?? '-'} kept)`, {address: m.from});
    return {
      object_id: rec.object_id,
      attributes: null,
      changes: [
        {op: 'delete', address: m.from},
        {
          op: 'put',
          address: m.to,
          kind: rec.kind,
          attributes: rec.attributes,
          object_id: rec.object_id,
          secret_fingerprints: rec.secret_fingerprints,
        },
      ],
    };
  },

  // the record goes back where it was: nothing else was changed
  async rollback(outcome, ctx) {
    const put = outcome.changes?.find((c) => c.op === 'put');
    const del = outcome.changes?.find((c) => c.op === 'delete');
    if (put && del && ctx.ledger.getResource(put.address) && !ctx.ledger.getResource(del.address))
      ctx.ledger.moveResource(put.address, del.address, 'move rolled back', {runId: ctx.runId});
  },
};
