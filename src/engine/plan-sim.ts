// The readiness section of a plan: the steps as the simulator sees them, the ledger's history
// for their kinds, and the numbers. The inputs are stored with the result, so `orx simulate
// FILE` recomputes exactly the same numbers anywhere, or other ones with another seed.
import type {Ledger} from '../ledger/ledger.js';
import {reviewPlan, type DecisionLike} from '../policy/review.js';
import type {PlannedStep} from '../resources/types.js';
import type {History, Readiness, SimStep} from '../sim/readiness.js';

export interface PlanSimulation extends Readiness {
  parallelism: number;
  /** what the numbers were computed from */
  inputs: {steps: SimStep[]; history: History};
}

export interface SimulateOptions {
  seed?: string;
  iterations?: number;
  parallelism?: number;
}

/** Durations kept per kind: the most recent, enough for a fit, small enough for a plan file. */
const HISTORY_DURATIONS = 200;

/** The steps that do something, with what the review says needs a human. */
export function simSteps(steps: PlannedStep[], decisions: DecisionLike[], autonomy: number): SimStep[] {
  const review = reviewPlan(steps, decisions, autonomy);
  const acting = review.steps.filter((r) => r.step.action !== 'noop');
  const ids = new Map(acting.map((r) => [r.step.address, r.step.id]));
  return acting.map((r) => ({
    id: r.step.id,
    kind: r.step.kind,
    action: r.step.action,
    depends_on: r.step.depends_on.map((a) => ids.get(a)).filter((x): x is string => x !== undefined),
    needs_human: r.approval.length > 0,
  }));
}

function trimmed(history: History, kinds: ReadonlySet<string>): History {
  const out: History = {};
  for (const k of [...kinds].sort()) {
    const h = history[k];
    if (h)
      out[k] = {
        ...h,
        durations_ms: h.durations_ms.slice(-HISTORY_DURATIONS),
        rollback_durations_ms: h.rollback_durations_ms.slice(-HISTORY_DURATIONS),
      };
  }
  return out;
}

export async function simulateSteps(steps: SimStep[], history: History, planId: string, o: SimulateOptions = {}): Promise<PlanSimulation> {
  const {simulate, defaultSeed, DEFAULT_ITERATIONS, DEFAULT_PARALLELISM} = await import('../sim/readiness.js');
  const parallelism = o.parallelism ?? DEFAULT_PARALLELISM;
  const result = simulate(steps, history, {
    seed: o.seed ?? defaultSeed(planId),
    iterations: o.iterations ?? DEFAULT_ITERATIONS,
    parallelism,
  });
  return {...result, parallelism, inputs: {steps, history}};
}

export async function simulatePlan(
  ledger: Ledger,
  p: {plan_id: string; steps: PlannedStep[]; decisions: DecisionLike[]; autonomy: number},
  o: SimulateOptions = {},
): Promise<PlanSimulation> {
  const steps = simSteps(p.steps, p.decisions, p.autonomy);
  const {stepHistory} = await import('../sim/history.js');
  const history = trimmed(stepHistory(ledger), new Set(steps.map((s) => s.kind)));
  return simulateSteps(steps, history, p.plan_id, o);
}
