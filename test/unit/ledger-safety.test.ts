import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {recentActivity} from '../../src/ledger/activity.js';
import {approvalsFor, recordApprovals} from '../../src/ledger/approvals.js';
import {clearHalt, haltState, setHalt} from '../../src/ledger/halt.js';

let dir: string;
let ledger: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-safety-'));
  ledger = Ledger.open(dir);
});
afterEach(() => {
  ledger.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

function step(runId: string, address: string, category: string, status: 'succeeded' | 'failed', key: string): void {
  const s = ledger.startStep({
    run_id: runId,
    address,
    action: category === 'DESTROY' ? 'delete' : 'create',
    idempotency_key: key,
    category,
  });
  ledger.finishStep({step_id: s.id, status});
}

describe('recent activity for rate-limit rules', () => {
  it('counts applies and succeeded steps by kind and category, per window', () => {
    const run = ledger.startRun({kind: 'apply', mode: 'APPLY', autonomy: 0, actor: 't'});
    step(run.id, 'agent.a', 'DESTROY', 'succeeded', 'k1');
    step(run.id, 'agent.b', 'DESTROY', 'succeeded', 'k2');
    step(run.id, 'volume.v', 'WRITE', 'succeeded', 'k3');
    step(run.id, 'agent.c', 'DEPLOY', 'failed', 'k4');
    ledger.startRun({kind: 'apply', mode: 'PLAN', autonomy: 0, actor: 't'});
    const r = recentActivity(ledger);
    expect(r.hour).toEqual({
      applies: 1,
      steps: 3,
      by_kind: {network: 0, volume: 1, image: 0, agent: 2},
      by_category: {READ: 0, WRITE: 1, DEPLOY: 0, DESTROY: 2, ROLLBACK: 0},
    });
    expect(r.day).toEqual(r.hour);
    // an hour from now the same steps have left the hour window but not the day's
    const later = recentActivity(ledger, new Date(Date.now() + 2 * 3_600_000));
    expect(later.hour.steps).toBe(0);
    expect(later.day.steps).toBe(3);
  });
});

describe('approvals and halt state', () => {
  it('keeps approvals per plan digest, with an event each', () => {
    const before = ledger.listEvents({}).length;
    recordApprovals(ledger, [
      {plan_id: 'p1', plan_digest: 'd1', address: 'agent.a', decision: 'approved', actor: 'ann', reason: 'ok', run_id: null},
      {plan_id: 'p1', plan_digest: 'd1', address: null, decision: 'rejected', actor: 'bob', reason: 'no', run_id: null},
    ]);
    expect(approvalsFor(ledger, 'd1').map((a) => [a.address, a.decision, a.actor])).toEqual([
      ['agent.a', 'approved', 'ann'],
      [null, 'rejected', 'bob'],
    ]);
    expect(approvalsFor(ledger, 'other')).toEqual([]);
    const events = ledger
      .listEvents({})
      .slice(before)
      .map((e) => e.message);
    expect(events).toEqual(['agent.a approved by ann: ok', 'all steps rejected by bob: no']);
    expect(ledger.verifyChain()).toMatchObject({ok: true});
  });

  it('sets and lifts the halt, recording both', () => {
    expect(haltState(ledger)).toBeNull();
    setHalt(ledger, {at: 'now', by: 'ann', reason: 'runaway agent', stopped: [{address: 'agent.a', object_id: 'c1'}]});
    expect(haltState(ledger)).toMatchObject({by: 'ann', stopped: [{address: 'agent.a'}]});
    expect(clearHalt(ledger, 'bob', 'fixed')).toMatchObject({reason: 'runaway agent'});
    expect(haltState(ledger)).toBeNull();
    expect(
      ledger
        .listEvents({})
        .map((e) => e.message)
        .slice(-2),
    ).toEqual(['workspace halted by ann: runaway agent', 'workspace resumed by bob: fixed']);
  });
});
