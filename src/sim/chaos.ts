// Chaos rehearsal: `orx apply --chaos SEED[,rate=R][,kinds=K+K]` injects failures chosen
// from seedrandom(SEED) over the plan's steps in order, so the same seed on the same plan
// injects the same faults, to prove the rollback paths. Pure: the executor applies them.
import {alea} from './alea.js';
import {OrxError} from '../errors.js';
import type {PlannedStep} from '../resources/types.js';
import {wantsBlueGreen} from '../resources/agent/blue-green.js';

/** before: the step fails before its side effect; after: it fails after it (the world changed, the ledger says failed); unhealthy: a blue-green step's new container never passes its health check */
export type FaultKind = 'fail-before' | 'fail-after' | 'unhealthy';

export interface ChaosSpec {
  seed: string;
  /** chance that a step gets a fault (default 0.2) */
  rate: number;
  /** step kinds that may get one (null: all) */
  kinds: string[] | null;
}

export interface Fault {
  address: string;
  kind: FaultKind;
}

export const DEFAULT_CHAOS_RATE = 0.2;
export const CHAOS_RNG = {library: 'seedrandom', algorithm: 'alea'} as const;

export function parseChaos(text: string): ChaosSpec {
  const [seed, ...opts] = text.split(',').map((s) => s.trim());
  const bad = (why: string): OrxError =>
    new OrxError({
      code: 'bad_flag',
      message: `--chaos ${JSON.stringify(text)}: ${why}`,
      actions: ['Write --chaos SEED[,rate=0.2][,kinds=agent+network], e.g. --chaos 42,rate=0.5,kinds=agent.'],
    });
  if (!seed) throw bad('the seed is missing');
  const spec: ChaosSpec = {seed, rate: DEFAULT_CHAOS_RATE, kinds: null};
  for (const o of opts) {
    const [k, v] = o.split('=');
    if (k === 'rate' && v !== undefined && /^(0(\.\d+)?|1(\.0+)?)$/.test(v)) spec.rate = Number(v);
    else if (k === 'kinds' && v) spec.kinds = v.split('+').filter(Boolean);
    else throw bad(`unknown option ${JSON.stringify(o)} (rate=0..1, kinds=KIND+KIND)`);
  }
  return spec;
}

function applicable(step: PlannedStep): FaultKind[] {
  return wantsBlueGreen(step) ? ['fail-before', 'fail-after', 'unhealthy'] : ['fail-before', 'fail-after'];
}

/**
 * Two draws per step whatever happens, in plan order, so one step's outcome never shifts
 * another's: the same seed and the same steps give the same faults.
 */
export function planFaults(steps: readonly PlannedStep[], spec: ChaosSpec): Fault[] {
  const rng = alea(`orx-chaos:${spec.seed}`);
  const out: Fault[] = [];
  for (const step of steps) {
    const hit = rng();
    const pick = rng();
    if (step.action === 'noop' || (spec.kinds && !spec.kinds.includes(step.kind))) continue;
    if (hit >= spec.rate) continue;
    const kinds = applicable(step);
    out.push({address: step.address, kind: kinds[Math.min(kinds.length - 1, Math.floor(pick * kinds.length))]});
  }
  return out;
}

export class InjectedFault extends Error {
  constructor(
    readonly fault: Fault,
    seed: string,
  ) {
    super(
      `chaos (seed ${seed}): injected ${fault.kind === 'fail-before' ? 'failure before the step changed anything' : 'failure after the step made its change'}`,
    );
  }
}
