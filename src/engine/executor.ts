import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import type {StateChange} from '../ledger/types.js';
import {RollbackFailed, RolledBack} from '../resources/agent/rollback.js';
import {ACTIONS} from './actions.js';
import type {ApplyContext, PlannedStep, StepOutcome} from '../resources/types.js';
import {InjectedFault, type ChaosSpec, type Fault} from '../sim/chaos.js';
import type {ForcedStop} from './forced-stop.js';

export type StepResult = {
  run_id: string;
  step: PlannedStep;
  /** rolled_back: the step failed and put back what it had touched (the old container runs) */
  status: 'succeeded' | 'failed' | 'rolled_back' | 'skipped';
  error?: string;
  adopted?: boolean;
  /** the step failed and so did putting things back: its error names what was left behind */
  rollback_failed?: boolean;
  /** a replace whose old object was destroyed before its replacement failed: the address is gone */
  destroyed?: boolean;
  elapsed_ms: number;
};

export interface ExecutorEvents {
  onStart?(step: PlannedStep): void;
  onFinish?(result: StepResult): void;
  /** what a long step is doing now (bytes copied, ...), for a progress line */
  onDetail?(address: string, detail: string): void;
}

export interface ExecuteOptions {
  runId: string;
  steps: PlannedStep[];
  ctx: ApplyContext;
  ledger: Ledger;
  parallelism: number;
  signal?: AbortSignal;
  events?: ExecutorEvents;
  /** asked before each new operation: a reason stops the run like an interrupt (the kill switch) */
  haltRequested?: () => string | null;
  /** chaos rehearsal: the faults to inject, by step address */
  chaos?: {spec: ChaosSpec; faults: ReadonlyMap<string, Fault>};
  /** a forced stop records the steps in flight and those never started before the process goes */
  forced?: ForcedStop;
}

type Phase = 'destroy' | 'converge';
interface Op {
  key: string;
  step: PlannedStep;
  phase: Phase;
  deps: Set<string>;
}

/**
 * Splits steps into destroy and converge operations so a replace can wait for its
 * dependents to go before it goes, and come back before they come back (Terraform's
 * destroy-then-create ordering). Noop steps that only need recording run first.
 */
export function operations(steps: PlannedStep[]): Op[] {
  const byAddress = new Map(steps.map((s) => [s.address, s]));
  const ops = new Map<string, Op>();
  const add = (step: PlannedStep, phase: Phase): void => {
    ops.set(`${phase}:${step.address}`, {key: `${phase}:${step.address}`, step, phase, deps: new Set()});
  };
  // A replace its action does in one step (new object first) needs no destroy before it, unless
  // something it hangs on is destroyed first: that must wait until this one's old object is gone
  // (a network cannot go while a container is on it). Another one-step replace is no such thing.
  const destroys = new Map<string, boolean>();
  const hasDestroy = (s: PlannedStep): boolean => {
    const known = destroys.get(s.address);
    if (known !== undefined) return known;
    destroys.set(s.address, true); // a cycle (refused by the planner) splits
    const split =
      s.action === 'delete' ||
      (s.action === 'replace' &&
        (ACTIONS[s.kind].ownsReplace?.(s) !== true || s.depends_on.some((d) => byAddress.has(d) && hasDestroy(byAddress.get(d)!))));
    destroys.set(s.address, split);
    return split;
  };
  for (const s of steps) {
    if (hasDestroy(s)) add(s, 'destroy');
    if (s.action !== 'delete') add(s, 'converge');
  }
  for (const s of steps) {
    const conv = ops.get(`converge:${s.address}`);
    const dest = ops.get(`destroy:${s.address}`);
    if (conv && dest) conv.deps.add(dest.key);
    for (const d of s.depends_on) {
      if (!byAddress.has(d)) continue;
      if (conv && ops.has(`converge:${d}`)) conv.deps.add(`converge:${d}`);
      const depDestroy = ops.get(`destroy:${d}`);
      if (depDestroy && dest) depDestroy.deps.add(dest.key);
      // a record moves before anything is done at its new address, a destroy included
      if (dest && byAddress.get(d)!.action === 'move') dest.deps.add(`converge:${d}`);
    }
  }
  return [...ops.values()];
}

export interface ExecuteResult {
  results: StepResult[];
  failed: boolean;
  interrupted: boolean;
  /** why the run stopped early on the kill switch, if it did */
  halted: string | null;
}

export class BudgetExceeded extends Error {}

/**
 * Runs one engine operation within the step's time budget. On expiry the step's signal
 * aborts (builds and pulls stop) and the step fails; an engine call that still lands
 * afterwards is found by the next refresh like anything an interrupted apply left.
 */
async function withinBudget<T>(budgetMs: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new BudgetExceeded(
          `budget exceeded: the step ran past its ${(budgetMs / 1000).toFixed(budgetMs < 1000 ? 3 : 0)}s time budget and was cancelled`,
        ),
      );
    }, budgetMs);
  });
  try {
    return await Promise.race([run(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs up to `parallelism` operations at once. Each step is committed to the ledger
 * (step row, state change, event) in one synchronous transaction as it finishes. On
 * the first failure no new operation starts; running ones finish and are recorded.
 */
export async function execute(opts: ExecuteOptions): Promise<ExecuteResult> {
  const {ledger, runId, ctx} = opts;
  const ops = operations(opts.steps.filter((s) => s.action !== 'noop' || s.record));
  const remaining = new Map(ops.map((o) => [o.key, o]));
  const done = new Set<string>();
  const stepRows = new Map<string, string>();
  const started = new Map<string, number>();
  const destroyed = new Set<string>();
  const begun = new Set<string>();
  const results: StepResult[] = [];
  let failed = false;
  let interrupted = false;
  let halted: string | null = null;
  let running = 0;

  const finish = (
    step: PlannedStep,
    status: 'succeeded' | 'failed' | 'rolled_back',
    outcome: StepOutcome | null,
    error?: string,
    rollbackFailed = false,
  ): void => {
    let change: StateChange | undefined;
    if (status === 'succeeded' && outcome?.changes) {
      // the step says exactly what it changed (DR steps)
    } else if (status === 'succeeded') {
      change = outcome?.attributes
        ? {
            op: 'put',
            address: step.address,
            kind: step.kind,
            attributes: outcome.attributes,
            object_id: outcome.object_id,
            ...(outcome.secret_fingerprints ? {secret_fingerprints: outcome.secret_fingerprints} : {}),
          }
        : {op: 'delete', address: step.address};
    } else if (destroyed.has(step.address)) {
      // the old object is gone even though its replacement failed: the ledger says so
      change = {op: 'delete', address: step.address};
    }
    ledger.finishStep({
      step_id: stepRows.get(step.address)!,
      status,
      error: error ?? null,
      outcome: outcome ? {object_id: outcome.object_id, adopted: outcome.adopted ?? false} : null,
      change,
      changes: status === 'succeeded' ? outcome?.changes : undefined,
      message: `${step.address}: ${step.action} ${status.replace('_', ' ')}${error ? `: ${error}` : ''}`,
    });
    const result: StepResult = {
      run_id: runId,
      step,
      status,
      error,
      adopted: outcome?.adopted,
      elapsed_ms: Date.now() - started.get(step.address)!,
      ...(rollbackFailed ? {rollback_failed: true} : {}),
      ...(status !== 'succeeded' && destroyed.has(step.address) && step.action === 'replace' ? {destroyed: true} : {}),
    };
    results.push(result);
    opts.events?.onFinish?.(result);
  };

  const runOp = async (op: Op): Promise<void> => {
    const {step} = op;
    if (!stepRows.has(step.address)) {
      started.set(step.address, Date.now());
      stepRows.set(
        step.address,
        ledger.startStep({
          run_id: runId,
          address: step.address,
          action: step.action,
          idempotency_key: step.idempotency_key,
          category: step.category,
        }).id,
      );
      opts.events?.onStart?.(step);
    }
    const action = ACTIONS[step.kind];
    const progress = (detail: string): void => opts.events?.onDetail?.(step.address, detail);
    const fault = opts.chaos?.faults.get(step.address);
    // a fault happens once per step: at its first operation (a replace has two)
    const firstOp = op.phase === 'destroy' || !begun.has(step.address);
    begun.add(step.address);
    const recordFault = (what: string): void => {
      const spec = opts.chaos!.spec;
      ledger.appendEvent({
        run_id: runId,
        step_id: stepRows.get(step.address),
        level: 'warn',
        message: `${step.address}: chaos: ${what}`,
        payload: {chaos: {seed: spec.seed, rate: spec.rate, fault: fault!.kind, address: step.address}},
      });
    };
    const inject = (when: 'fail-before' | 'fail-after'): void => {
      if (!fault || fault.kind !== when || (!firstOp && when === 'fail-before')) return;
      recordFault(`injected ${fault.kind}`);
      throw new InjectedFault(fault, opts.chaos!.spec.seed);
    };
    const stepCtx = (signal: AbortSignal): ApplyContext => ({
      ...ctx,
      signal,
      progress,
      ...(fault?.kind === 'unhealthy' ? {chaos: {unhealthy: true}} : {}),
    });
    if (fault?.kind === 'unhealthy' && firstOp) recordFault("the new container's health checks are made to fail");
    try {
      inject('fail-before');
      if (op.phase === 'destroy') {
        const out = await withinBudget(step.budget_ms, (signal) => action.apply({...step, action: 'delete'}, stepCtx(signal)));
        destroyed.add(step.address);
        if (step.action === 'delete') inject('fail-after');
        // a step that says what it changed (a DR prune) is taken at its word
        if (step.action === 'delete') finish(step, 'succeeded', out?.changes ? out : {object_id: null, attributes: null});
      } else {
        const outcome =
          step.action === 'noop'
            ? {object_id: step.object_id, attributes: step.after, adopted: true}
            : await withinBudget(step.budget_ms, (signal) =>
                action.apply(
                  step.action === 'replace' && destroyed.has(step.address) ? {...step, action: 'create'} : step,
                  stepCtx(signal),
                ),
              );
        inject('fail-after');
        finish(step, 'succeeded', outcome);
      }
    } catch (err) {
      failed = true;
      // what to do next belongs with what went wrong: the run summary shows only this line
      const message =
        err instanceof OrxError && err.actions.length > 0
          ? `${err.message} (${err.actions.join(' ')})`
          : err instanceof Error
            ? err.message
            : String(err);
      // said once on stderr by the progress line of the step, and once in the run's summary
      ctx.log.debug(message, {address: step.address});
      finish(step, err instanceof RolledBack ? 'rolled_back' : 'failed', null, message, err instanceof RollbackFailed);
    }
  };

  // a forced stop cannot wait for the steps in flight: they are failed as cut short (what they
  // made is found by the next plan), the rest skipped
  const unforce = opts.forced?.add(() => {
    const cutShort = 'cut short by a forced stop: what it made is found and finished or removed by the next apply';
    for (const [address, row] of stepRows) {
      if (results.some((r) => r.step.address === address)) continue;
      const change: StateChange | undefined = destroyed.has(address) ? {op: 'delete', address} : undefined;
      ledger.finishStep({step_id: row, status: 'failed', error: cutShort, change, message: `${address}: ${cutShort}`});
      results.push({run_id: runId, step: opts.steps.find((s) => s.address === address)!, status: 'failed', error: cutShort, elapsed_ms: 0});
    }
    recordSkipped();
  });

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (opts.signal?.aborted) interrupted = true;
      if (!failed && !interrupted && !halted) halted = opts.haltRequested?.() ?? null;
      if (!failed && !interrupted && !halted) {
        for (const op of [...remaining.values()]) {
          if (running >= opts.parallelism) break;
          if (![...op.deps].every((d) => done.has(d))) continue;
          remaining.delete(op.key);
          running++;
          void runOp(op).then(() => {
            running--;
            done.add(op.key);
            pump();
          });
        }
      }
      if (running === 0) resolve();
    };
    opts.signal?.addEventListener('abort', () => pump(), {once: true});
    pump();
  });

  unforce?.();
  recordSkipped();
  return {results, failed, interrupted, halted};

  // never started: recorded as skipped so the run says exactly what was not done
  function recordSkipped(): void {
    const finished = new Set(results.map((r) => r.step.address));
    for (const op of remaining.values()) {
      if (finished.has(op.step.address)) continue;
      const row =
        stepRows.get(op.step.address) ??
        ledger.startStep({
          run_id: runId,
          address: op.step.address,
          action: op.step.action,
          idempotency_key: op.step.idempotency_key,
          category: op.step.category,
        }).id;
      const change: StateChange | undefined = destroyed.has(op.step.address) ? {op: 'delete', address: op.step.address} : undefined;
      ledger.finishStep({
        step_id: row,
        status: 'skipped',
        error: null,
        change,
        message: `${op.step.address}: ${op.step.action} not started`,
      });
      const r: StepResult = {run_id: runId, step: op.step, status: 'skipped', elapsed_ms: 0};
      results.push(r);
      opts.events?.onFinish?.(r);
      finished.add(op.step.address);
    }
    remaining.clear();
  }
}
