// Waivers over decisions: a built-in rule's deny at a waived address becomes a step a human must
// approve (at every autonomy level), carrying the waiver so plans, the review screen and the
// run's record show it. An expired waiver waives nothing.
import type {Waiver} from '../config/types.js';
import {PLAN_ADDRESS, waiverInForce} from '../config/waivers.js';
import {isBuiltinRule} from '../config/builtin-policy.js';
import type {PolicyDecision} from './types.js';

export interface WaiverUse extends Waiver {
  /** applied: it turned a deny of this plan into an approval; unused: nothing here needed it; expired: past its day, the rule applies */
  status: 'applied' | 'unused' | 'expired';
}

export function applyWaivers(
  decisions: PolicyDecision[],
  waivers: readonly Waiver[],
  now: Date,
): {decisions: PolicyDecision[]; waivers: WaiverUse[]} {
  const uses: WaiverUse[] = waivers.map((w) => ({...w, status: waiverInForce(w, now) ? 'unused' : 'expired'}));
  const out = decisions.map((d) => {
    if (d.effect !== 'deny' || !isBuiltinRule(d)) return d;
    const use = uses.find((u) => u.rule === d.rule && u.address === (d.address ?? PLAN_ADDRESS));
    if (!use || use.status === 'expired') return d;
    use.status = 'applied';
    return {
      ...d,
      effect: 'require_approval' as const,
      message: `${d.message} [waived through ${use.expires}: ${use.reason}]`,
      waiver: {reason: use.reason, expires: use.expires, effect: d.effect},
    };
  });
  return {decisions: out, waivers: uses};
}
