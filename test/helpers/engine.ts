import {applyWorkspace, planWorkspace, type PlanOptions} from '../../src/engine/operations.js';
import {type OrxContext} from '../../src/engine/context.js';
import {planDigest, type PlanDocument} from '../../src/engine/planfile.js';
import {recordApprovals} from '../../src/ledger/approvals.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {silentLogger} from '../../src/ui/logger.js';

export function context(dir: string): OrxContext {
  return {dir, log: silentLogger, version: '0.0.0-test', actor: 'test', command: 'vitest'};
}

export async function plan(dir: string, opts: Partial<PlanOptions> = {}): Promise<PlanDocument> {
  return planWorkspace(context(dir), {mode: 'apply', refresh: true, targets: [], replace: [], ...opts});
}

/**
 * Applies a plan as a human who approved all of it would (`orx approve FILE --all`, then
 * `orx apply FILE`): these tests are about what the engine does, the approval gate has its own.
 */
export async function apply(dir: string, doc: PlanDocument, parallelism = 10) {
  approveAll(dir, doc);
  return applyWorkspace(context(dir), doc, {parallelism});
}

export function approveAll(dir: string, doc: PlanDocument): void {
  withLedger(dir, (l) =>
    recordApprovals(l, [
      {
        plan_id: doc.plan_id,
        plan_digest: planDigest(doc),
        address: null,
        decision: 'approved',
        actor: 'test',
        reason: 'engine test',
        run_id: null,
      },
    ]),
  );
}

/** plan + apply, failing loudly if any step failed */
export async function converge(dir: string, opts: Partial<PlanOptions> = {}) {
  const doc = await plan(dir, opts);
  const out = await apply(dir, doc);
  const failed = out.results.filter((r) => r.status !== 'succeeded');
  if (failed.length) throw new Error(`apply failed: ${failed.map((f) => `${f.step.address} ${f.status} ${f.error ?? ''}`).join('; ')}`);
  return {doc, out};
}

export function actions(doc: PlanDocument): string[] {
  return doc.steps.filter((s) => s.action !== 'noop' || s.record).map((s) => `${s.action} ${s.address}`);
}

export function withLedger<T>(dir: string, fn: (l: Ledger) => T): T {
  const l = Ledger.open(dir);
  try {
    return fn(l);
  } finally {
    l.close();
  }
}
