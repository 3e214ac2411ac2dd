// Waivers turn a built-in rule's deny at one address into a step a human approves, until their day ends.
import {describe, expect, it} from 'vitest';
import {applyWaivers} from '../../src/policy/waivers.js';
import type {PolicyDecision} from '../../src/policy/types.js';

const deny = (rule: string, address: string | null, file = 'orx:baseline.yaml'): PolicyDecision => ({
  rule,
  file,
  effect: 'deny',
  message: `${rule} says no`,
  step: address ? 's1' : null,
  address,
});
const waiver = (rule: string, address: string, expires = '2027-01-31') => ({rule, address, reason: 'vendor image', expires});
const now = new Date('2027-01-15T12:00:00Z');

describe('applyWaivers', () => {
  it('a waived deny becomes require_approval, carrying the waiver', () => {
    const out = applyWaivers(
      [deny('deny-root-user', 'agent.a'), deny('deny-privileged', 'agent.b')],
      [waiver('deny-root-user', 'agent.a')],
      now,
    );
    expect(out.decisions[0]).toEqual({
      rule: 'deny-root-user',
      file: 'orx:baseline.yaml',
      effect: 'require_approval',
      message: 'deny-root-user says no [waived through 2027-01-31: vendor image]',
      step: 's1',
      address: 'agent.a',
      waiver: {reason: 'vendor image', expires: '2027-01-31', effect: 'deny'},
    });
    expect(out.decisions[1].effect).toBe('deny');
    expect(out.waivers).toEqual([{...waiver('deny-root-user', 'agent.a'), status: 'applied'}]);
  });

  it('only the named address, only built-in rules, only until it expires; plan-wide rules at "plan"', () => {
    expect(applyWaivers([deny('deny-root-user', 'agent.b')], [waiver('deny-root-user', 'agent.a')], now).decisions[0].effect).toBe('deny');
    const own = applyWaivers([deny('deny-root-user', 'agent.a', 'policies/mine.yaml')], [waiver('deny-root-user', 'agent.a')], now);
    expect(own.decisions[0].effect).toBe('deny');
    expect(own.waivers[0].status).toBe('unused');
    const late = applyWaivers([deny('deny-root-user', 'agent.a')], [waiver('deny-root-user', 'agent.a', '2027-01-14')], now);
    expect(late.decisions[0].effect).toBe('deny');
    expect(late.waivers[0].status).toBe('expired');
    const quota = applyWaivers([deny('quota-cpus', null)], [waiver('quota-cpus', 'plan')], now);
    expect(quota.decisions[0].effect).toBe('require_approval');
  });
});
