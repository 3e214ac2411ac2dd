// `orx simulate FILE`: a saved plan's readiness again, from the inputs it carries.
import {readPlanFile} from '../engine/planfile.js';
import {withLedger} from '../ledger/session.js';
import {simulatePlan, simulateSteps, type PlanSimulation, type SimulateOptions} from '../engine/plan-sim.js';

export async function resimulate(dir: string, file: string, o: SimulateOptions): Promise<PlanSimulation> {
  const doc = readPlanFile(file);
  const prior = doc.simulation;
  const opts = {seed: o.seed ?? prior?.seed, iterations: o.iterations ?? prior?.iterations, parallelism: prior?.parallelism};
  if (prior?.inputs) return simulateSteps(prior.inputs.steps, prior.inputs.history, doc.plan_id, opts);
  // a plan made before readiness was stored: this workspace's ledger stands in for its history
  return withLedger(dir, (ledger) =>
    simulatePlan(ledger, {plan_id: doc.plan_id, steps: doc.steps, decisions: doc.policy.decisions, autonomy: doc.autonomy}, opts),
  );
}
