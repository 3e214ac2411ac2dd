import {describe, expect, it} from 'vitest';
import type {ApprovalRecord} from '../../src/ledger/approvals.js';
import {autonomyNeedsHuman, effectiveAutonomy} from '../../src/policy/autonomy.js';
import {gate} from '../../src/policy/gate.js';
import {reviewPlan, withoutRejected, type DecisionLike} from '../../src/policy/review.js';
import type {PlannedStep, SafetyCategory} from '../../src/resources/types.js';
import {plannedStep} from '../helpers/plan-fixtures.js';

const step = (address: string, category: SafetyCategory, over: Partial<PlannedStep> = {}): PlannedStep =>
  plannedStep({address, category, action: category === 'DESTROY' ? 'delete' : 'create', ...over});

describe('autonomy matrix', () => {
  const expected: Record<number, Record<SafetyCategory, boolean>> = {
    0: {READ: false, WRITE: true, DEPLOY: true, DESTROY: true, ROLLBACK: true},
    1: {READ: false, WRITE: false, DEPLOY: true, DESTROY: true, ROLLBACK: false},
    2: {READ: false, WRITE: false, DEPLOY: false, DESTROY: true, ROLLBACK: false},
    3: {READ: false, WRITE: false, DEPLOY: false, DESTROY: false, ROLLBACK: false},
  };
  for (const level of [0, 1, 2, 3]) {
    for (const cat of ['READ', 'WRITE', 'DEPLOY', 'DESTROY', 'ROLLBACK'] as SafetyCategory[]) {
      it(`autonomy ${level} × ${cat} → ${expected[level][cat] ? 'human' : 'no human'}`, () => {
        expect(autonomyNeedsHuman(level, cat)).toBe(expected[level][cat]);
      });
    }
  }

  it('may be lowered, never raised', () => {
    expect(effectiveAutonomy(2)).toBe(2);
    expect(effectiveAutonomy(2, 0)).toBe(0);
    expect(() => effectiveAutonomy(1, 3)).toThrow(/only be lowered/);
    expect(() => effectiveAutonomy(3, 7)).toThrow(/0, 1, 2 or 3/);
  });
});

describe('review and gate', () => {
  const steps = [step('network.n', 'WRITE'), step('agent.a', 'DEPLOY', {depends_on: ['network.n']}), step('volume.v', 'DESTROY')];
  const decisions: DecisionLike[] = [
    {rule: 'destroy-needs-approval', effect: 'require_approval', message: 'destroys data', step: 'volume.v', address: 'volume.v'},
    {rule: 'pin-images', effect: 'warn', message: 'not pinned', step: 'agent.a', address: 'agent.a'},
  ];

  it('combines autonomy and rules per step, and asks for a reason on DEPLOY/DESTROY', () => {
    const r = reviewPlan(steps, decisions, 2);
    expect(r.denied).toBe(false);
    expect(r.steps.map((s) => [s.step.address, s.approval.length > 0, s.reason_required])).toEqual([
      ['network.n', false, false],
      ['agent.a', false, true],
      ['volume.v', true, true],
    ]);
    expect(r.steps[2].approval).toEqual(['autonomy 2: DESTROY steps need a human', 'rule destroy-needs-approval: destroys data']);
    expect(r.steps[1].warnings).toEqual(['rule pin-images: not pinned']);
  });

  it('a deny on a step or on the plan denies the plan', () => {
    expect(reviewPlan(steps, [{rule: 'x', effect: 'deny', message: 'no', step: 'agent.a', address: 'agent.a'}], 3).denied).toBe(true);
    const planLevel = reviewPlan(steps, [{rule: 'quota', effect: 'deny', message: 'too many CPUs', step: null, address: null}], 3);
    expect(planLevel).toMatchObject({denied: true, plan_denied: ['rule quota: too many CPUs']});
  });

  it('ledger approvals for the plan clear pending steps; the latest decision wins', () => {
    const appr = (address: string | null, decision: 'approved' | 'rejected'): ApprovalRecord => ({
      id: 'i',
      plan_id: 'p',
      plan_digest: 'd',
      address,
      decision,
      actor: 'ann',
      reason: 'r',
      run_id: null,
      ts: '',
    });
    expect(gate(steps, decisions, 0).pending.map((p) => p.step.address)).toEqual(['network.n', 'agent.a', 'volume.v']);
    expect(gate(steps, decisions, 0, [appr(null, 'approved')]).pending).toEqual([]);
    const g = gate(steps, decisions, 0, [appr(null, 'approved'), appr('volume.v', 'rejected')]);
    expect(g.pending).toEqual([]);
    expect([...g.rejected]).toEqual(['volume.v']);
    expect(gate(steps, decisions, 3, [appr('volume.v', 'approved')]).pending).toEqual([]);
  });

  it('a rejected step takes along what is created after it, and deletes that wait for it', () => {
    expect(withoutRejected(steps, ['network.n'])).toMatchObject({dropped: ['network.n', 'agent.a']});
    const dels = [step('network.n', 'DESTROY'), step('agent.a', 'DESTROY', {depends_on: ['network.n']})];
    expect(withoutRejected(dels, ['agent.a']).dropped.sort()).toEqual(['agent.a', 'network.n']);
    expect(withoutRejected(dels, ['network.n']).dropped).toEqual(['network.n']);
  });
});
