// applyReviewed (src/app/apply.ts) in-process: today's policy, the review screen's verdict,
// approvals in the ledger, and the run itself against the real engine.
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {applyReviewed, type ApplyRequest} from '../../src/app/apply.js';
import {approvePlan} from '../../src/app/approve.js';
import {loadPlan, makePlan, planForApply} from '../../src/app/plan.js';
import {planDigest, type PlanDocument} from '../../src/engine/planfile.js';
import {EXIT} from '../../src/exit-codes.js';
import {approvalsFor} from '../../src/ledger/approvals.js';
import {context, withLedger} from '../helpers/engine.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {NET_VOL_YAML, recordingIO} from '../helpers/app-io.js';
import {caughtAsync} from '../helpers/errors.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('app-apply');
});
afterEach(async () => {
  await ws.cleanup();
});

const planNow = (autonomy?: number) => planForApply(context(ws.dir), {mode: 'apply', refresh: true, targets: [], replace: [], autonomy});

const request = (doc: PlanDocument, over: Partial<ApplyRequest> = {}): ApplyRequest => ({
  doc,
  fromFile: false,
  autoApprove: true,
  parallelism: 4,
  autonomy: doc.autonomy,
  ...over,
});

const recorded = () => withLedger(ws.dir, (l) => l.listResources().map((r) => r.address));

describe('applyReviewed', () => {
  it('applies a confirmed plan without a terminal, then finds nothing left to change', async () => {
    ws.write(NET_VOL_YAML);
    const doc = await planNow();
    const io = recordingIO();
    const out = await applyReviewed(context(ws.dir), request(doc), io);
    expect(out.result.status).toBe('succeeded');
    expect(out.exit).toBeUndefined();
    expect(out.counts.create).toBe(2);
    expect(out.result.steps.map((s) => [s.address, s.action, s.status]).sort()).toEqual([
      ['network.backplane', 'create', 'succeeded'],
      ['volume.memory', 'create', 'succeeded'],
    ]);
    expect(out.result.run_id).toMatch(/\S/);
    expect(out.result.serial).toBeGreaterThan(0);
    // the plan was shown with today's decisions, progress went to the events, and both were closed
    expect(io.shown).toHaveLength(1);
    expect(io.shown[0].plan_id).toBe(doc.plan_id);
    expect(io.finished.map((r) => r.step.address).sort()).toEqual(['network.backplane', 'volume.memory']);
    expect(io.closed).toBeGreaterThanOrEqual(1);
    expect(io.stopsOff).toBe(1);
    expect(recorded()).toEqual(['network.backplane', 'volume.memory']);
    const net = await docker.getNetwork(`orx-${ws.name}-backplane`).inspect();
    expect(net.Internal).toBe(true);
    const run = withLedger(ws.dir, (l) => l.getRun(out.result.run_id!)!);
    expect(run.status).toBe('succeeded');

    const again = await applyReviewed(context(ws.dir), request(await planNow()), recordingIO());
    expect(again.result).toMatchObject({status: 'no-changes', steps: []});
    expect(again.exit).toBeUndefined();
  });

  it('refuses a plan made now that nobody confirmed and there is no terminal to ask on', async () => {
    ws.write(NET_VOL_YAML);
    const doc = await planNow();
    const io = recordingIO();
    const err = await caughtAsync(applyReviewed(context(ws.dir), request(doc, {autoApprove: false}), io));
    expect(err.code).toBe('approval_required');
    expect(err.exit).toBe(EXIT.APPROVAL);
    expect(err.message).toContain('needs confirmation');
    expect(recorded()).toEqual([]);
  });

  it('stops with nothing changed when the reviewer cancels', async () => {
    ws.write(NET_VOL_YAML);
    const doc = await planNow();
    const io = recordingIO({review: () => null});
    const err = await caughtAsync(applyReviewed(context(ws.dir), request(doc, {autoApprove: false}), io));
    expect(err.code).toBe('approval_declined');
    expect(err.exit).toBe(EXIT.APPROVAL);
    expect(io.reviewed).toHaveLength(1);
    expect(io.reviewed[0].steps.map((s) => s.address).sort()).toEqual(['network.backplane', 'volume.memory']);
    expect(recorded()).toEqual([]);
  });

  it('leaves out what the reviewer rejected and records the rejection in the ledger', async () => {
    ws.write(NET_VOL_YAML);
    const doc = await planNow();
    const io = recordingIO({review: () => ({approved: ['network.backplane'], rejected: ['volume.memory'], reason: 'not yet'})});
    const out = await applyReviewed(context(ws.dir), request(doc, {autoApprove: false}), io);
    expect(out.result.status).toBe('succeeded');
    expect(out.result.dropped).toEqual(['volume.memory']);
    expect(io.dropped).toEqual([['volume.memory']]);
    expect(out.result.steps.map((s) => s.address)).toEqual(['network.backplane']);
    expect(recorded()).toEqual(['network.backplane']);
    const approvals = withLedger(ws.dir, (l) => approvalsFor(l, planDigest(doc)));
    // at autonomy 3 nothing needed a human: only the rejection is a decision worth recording
    expect(approvals.map((a) => [a.address, a.decision, a.reason, a.actor])).toEqual([['volume.memory', 'rejected', 'not yet', 'test']]);
  });

  it('applies nothing when every change was rejected', async () => {
    ws.write(NET_VOL_YAML);
    const doc = await planNow();
    const io = recordingIO({review: () => ({approved: [], rejected: ['network.backplane', 'volume.memory'], reason: ''})});
    const out = await applyReviewed(context(ws.dir), request(doc, {autoApprove: false}), io);
    expect(out.result.status).toBe('nothing-approved');
    expect(out.result.dropped?.sort()).toEqual(['network.backplane', 'volume.memory']);
    expect(out.counts.create).toBe(0);
    expect(recorded()).toEqual([]);
    const approvals = withLedger(ws.dir, (l) => approvalsFor(l, planDigest(doc)));
    expect(approvals.map((a) => a.reason)).toEqual(['(none given)', '(none given)']);
  });

  it('records an interrupted run when the stop signal is already raised', async () => {
    ws.write(NET_VOL_YAML);
    const doc = await planNow();
    const out = await applyReviewed(context(ws.dir), request(doc), recordingIO({abortBeforeRun: true}));
    expect(out.result.status).toBe('interrupted');
    expect(out.exit).toBe(EXIT.INTERRUPTED);
    expect(out.result.steps.every((s) => s.status === 'skipped')).toBe(true);
    expect(withLedger(ws.dir, (l) => l.getRun(out.result.run_id!)!.status)).toBe('interrupted');
  });

  it('reports a partial apply (exit 4) when a chaos rehearsal fails a step', async () => {
    ws.write(`${NET_VOL_YAML}chaos: {allowed: true}\n`);
    const doc = await planNow();
    const out = await applyReviewed(
      context(ws.dir),
      request(doc, {chaos: {seed: 'cov', rate: 1, kinds: ['volume']}, parallelism: 1}),
      recordingIO(),
    );
    expect(out.result.status).toBe('failed');
    expect(out.exit).toBe(EXIT.PARTIAL);
    const vol = out.result.steps.find((s) => s.address === 'volume.memory')!;
    expect(vol.status).not.toBe('succeeded');
    expect(vol.error).toContain('chaos (seed cov)');
    expect(out.result.steps.find((s) => s.address === 'network.backplane')!.status).toBe('succeeded');
  });

  it('refuses what policy denies today, naming the rule', async () => {
    ws.write(NET_VOL_YAML);
    fs.mkdirSync(path.join(ws.dir, 'policies'), {recursive: true});
    fs.writeFileSync(
      path.join(ws.dir, 'policies/no-volumes.yaml'),
      `rules:
  - id: no-volumes-here
    description: this workspace keeps no data
    match: {kinds: [volume]}
    when: "true"
    effect: deny
    message: volume {{step.address}} is not allowed here
`,
    );
    const doc = await planNow();
    const err = await caughtAsync(applyReviewed(context(ws.dir), request(doc), recordingIO()));
    expect(err.code).toBe('policy_denied');
    expect(err.exit).toBe(EXIT.APPROVAL);
    expect(err.message).toContain('volume.memory: volume volume.memory is not allowed here (rule no-volumes-here)');
    expect(recorded()).toEqual([]);
  });
});

describe('saved plans: approve, then apply from the file', () => {
  it('refuses a saved plan at autonomy 0 until a human approves it in the ledger', async () => {
    ws.write(NET_VOL_YAML.replace('autonomy: 3', 'autonomy: 0'));
    const ctx = context(ws.dir);
    const made = await makePlan(ctx, {mode: 'apply', refresh: true, targets: [], replace: [], out: 'plans/p.json'});
    expect(made.saved_to).toBe(path.join(ws.dir, 'plans/p.json'));
    expect(made.denied).toBe(false);
    expect(made.has_changes).toBe(true);
    const doc = await loadPlan(ctx, 'plans/p.json', []);
    expect(doc.plan_id).toBe(made.doc.plan_id);
    expect(doc.signature).not.toBeNull();

    const refused = await caughtAsync(applyReviewed(ctx, request(doc, {fromFile: true, autoApprove: false}), recordingIO()));
    expect(refused.code).toBe('approval_required');
    expect(refused.message).toContain('2 step(s) need a human');
    expect(refused.message).toContain('network.backplane');

    // the approval's own checks: which steps, and why
    expect((await caughtAsync(approvePlan(ctx, {file: 'plans/p.json', steps: [], reason: 'x', reject: false, trustedKeys: []}))).code).toBe(
      'usage',
    );
    expect(
      (await caughtAsync(approvePlan(ctx, {file: 'plans/p.json', steps: null, reason: '  ', reject: false, trustedKeys: []}))).message,
    ).toContain('--reason');
    const notInPlan = await caughtAsync(
      approvePlan(ctx, {file: 'plans/p.json', steps: ['agent.ghost'], reason: 'x', reject: false, trustedKeys: []}),
    );
    expect(notInPlan.code).toBe('not_in_plan');
    expect(notInPlan.actions[0]).toContain('network.backplane');

    const approved = await approvePlan(ctx, {
      file: 'plans/p.json',
      steps: null,
      reason: 'reviewed the diff',
      reject: false,
      as: 'reviewer',
      trustedKeys: [],
    });
    expect(approved).toMatchObject({plan_id: doc.plan_id, plan_digest: planDigest(doc), decision: 'approved', actor: 'reviewer'});
    expect(approved.approvals.map((a) => [a.address, a.decision, a.actor, a.reason])).toEqual([
      [null, 'approved', 'reviewer', 'reviewed the diff'],
    ]);

    const out = await applyReviewed(ctx, request(doc, {fromFile: true, autoApprove: false}), recordingIO());
    expect(out.result.status).toBe('succeeded');
    expect(recorded()).toEqual(['network.backplane', 'volume.memory']);
  });

  it('records a rejection of one step, and an apply of the file leaves that step out', async () => {
    ws.write(NET_VOL_YAML);
    const ctx = context(ws.dir);
    await makePlan(ctx, {mode: 'apply', refresh: true, targets: [], replace: [], out: 'p.json'});
    const rejected = await approvePlan(ctx, {file: 'p.json', steps: ['volume.memory'], reason: 'later', reject: true, trustedKeys: []});
    expect(rejected.decision).toBe('rejected');
    expect(rejected.actor).toBe('test');
    const doc = await loadPlan(ctx, 'p.json', []);
    const io = recordingIO();
    const out = await applyReviewed(ctx, request(doc, {fromFile: true, autoApprove: false}), io);
    expect(out.result.status).toBe('succeeded');
    expect(io.dropped).toEqual([['volume.memory']]);
    expect(recorded()).toEqual(['network.backplane']);
  });

  it('does not save a denied plan unless asked to, and says it is denied', async () => {
    ws.write(NET_VOL_YAML);
    fs.mkdirSync(path.join(ws.dir, 'policies'), {recursive: true});
    fs.writeFileSync(
      path.join(ws.dir, 'policies/deny.yaml'),
      `rules:
  - id: no-networks
    description: none
    match: {kinds: [network]}
    when: "true"
    effect: deny
    message: no networks
`,
    );
    const ctx = context(ws.dir);
    const base = {mode: 'apply' as const, refresh: false, targets: [], replace: []};
    const notSaved = await makePlan(ctx, {...base, out: 'd.json'});
    expect(notSaved.denied).toBe(true);
    expect(notSaved.saved_to).toBeUndefined();
    expect(fs.existsSync(path.join(ws.dir, 'd.json'))).toBe(false);
    const saved = await makePlan(ctx, {...base, out: 'd.json', allowDenied: true});
    expect(saved.saved_to).toBe(path.join(ws.dir, 'd.json'));
    // nobody may approve what can never run
    const err = await caughtAsync(approvePlan(ctx, {file: 'd.json', steps: null, reason: 'x', reject: false, trustedKeys: []}));
    expect(err.code).toBe('policy_denied');
  });
});
