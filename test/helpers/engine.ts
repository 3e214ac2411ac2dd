import {applyWorkspace, planWorkspace, type OrxContext, type PlanOptions} from '../../src/engine/operations.js';
import type {PlanDocument} from '../../src/engine/planfile.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {silentLogger} from '../../src/ui/logger.js';

export function context(dir: string): OrxContext {
  return {dir, log: silentLogger, version: '0.0.0-test', actor: 'test', command: 'vitest'};
}

export async function plan(dir: string, opts: Partial<PlanOptions> = {}): Promise<PlanDocument> {
  return planWorkspace(context(dir), {mode: 'apply', refresh: true, targets: [], replace: [], ...opts});
}

export async function apply(dir: string, doc: PlanDocument, parallelism = 10) {
  return applyWorkspace(context(dir), doc, {parallelism});
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
