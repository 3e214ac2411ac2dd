// The read-side use-cases (events, runs, state, audit, history, keys, simulate) and their
// terminal renderings, over the ledger of a workspace that was really applied twice.
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {applyReviewed} from '../../src/app/apply.js';
import {diffHistory, listHistory, readChainHead, readSignedHead, verifyAuditTrail} from '../../src/app/audit.js';
import {followEvents, listEvents, type EventRecord} from '../../src/app/events.js';
import {createKey, inWorkspace, showKey} from '../../src/app/keys.js';
import {makePlan, planForApply} from '../../src/app/plan.js';
import {listRuns, showRun} from '../../src/app/runs.js';
import {resimulate} from '../../src/app/simulate.js';
import {listState, readSavedPlan, readState, showResource} from '../../src/app/state.js';
import {OrxError} from '../../src/errors.js';
import {setColor} from '../../src/ui/color.js';
import {renderAuditVerification, renderHistory, renderHistoryDiff} from '../../src/ui/audit-view.js';
import {renderEvent, renderResource, renderRun, renderRuns, renderState} from '../../src/ui/state-view.js';
import {context} from '../helpers/engine.js';
import {makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {NET_VOL_YAML, recordingIO} from '../helpers/app-io.js';
import {caughtAsync} from '../helpers/errors.js';

setColor(false);

let ws: TestWorkspace;
const runIds: string[] = [];

async function applyNow(): Promise<void> {
  const ctx = context(ws.dir);
  const doc = await planForApply(ctx, {mode: 'apply', refresh: true, targets: [], replace: []});
  const out = await applyReviewed(ctx, {doc, fromFile: false, autoApprove: true, parallelism: 4, autonomy: doc.autonomy}, recordingIO());
  expect(out.result.status).toBe('succeeded');
  runIds.push(out.result.run_id!);
}

beforeAll(async () => {
  ws = makeWorkspace('app-views');
  ws.write(NET_VOL_YAML);
  await applyNow();
  ws.write(NET_VOL_YAML.replace('networks:\n', 'networks:\n  frontdoor: {internal: true}\n'));
  await applyNow();
}, 120_000);
afterAll(async () => {
  await ws?.cleanup();
});

describe('audit and history', () => {
  it('reads the chain head and the signed checkpoint, and verifies both', async () => {
    const ctx = context(ws.dir);
    const head = await readChainHead(ctx);
    expect(head.seq).toBeGreaterThan(0);
    expect(head.hash).toMatch(/^[0-9a-f]{64}$/);
    const signed = await readSignedHead(ctx);
    expect(signed.lineage).toBe(head.lineage);
    expect(signed.seq).toBeGreaterThan(0);
    const v = await verifyAuditTrail(ctx, {trustedKeys: []});
    expect(v.ok).toBe(true);
    expect(v.chain_ok).toBe(true);
    expect(v.count).toBe(head.seq);
    expect(v.checkpoints.problems).toEqual([]);
    expect(renderAuditVerification(v)).toMatch(/^Chain intact: \d+ events verified[^]*2 of 2 checkpoint signatures verified\./);

    // a signed head kept elsewhere is checked against the ledger
    fs.writeFileSync(path.join(ws.dir, 'head.json'), JSON.stringify(signed));
    const withHead = await verifyAuditTrail(ctx, {head: 'head.json', trustedKeys: []});
    expect(withHead.ok).toBe(true);
    expect(withHead.head_file?.ok).toBe(true);
  });

  it('lists the applied configurations and diffs two of them', async () => {
    const ctx = context(ws.dir);
    const h = await listHistory(ctx, 10);
    expect(h.snapshots).toHaveLength(2);
    expect(h.snapshots.filter((s) => s.current)).toHaveLength(1);
    expect(h.current?.run_id).toBe(runIds[1]);
    const list = renderHistory(h);
    expect(list).toContain('SNAPSHOT');
    expect(list).toContain(`* in force: ${h.current!.id.slice(0, 12)}`);
    const [newer, older] = h.snapshots;
    const d = await diffHistory(ctx, older.id.slice(0, 12), newer.id);
    expect(d.changes.map((ch) => [ch.op, ch.path])).toEqual([['add', 'networks.frontdoor']]);
    expect(d.policy_changed).toBe(false);
    const text = renderHistoryDiff(d);
    expect(text).toContain('networks.frontdoor');
    expect(text).toContain('1 added, 0 changed, 0 removed.');
    expect(renderHistoryDiff(await diffHistory(ctx, newer.id, newer.id))).toContain('No changes');
  });
});

describe('state', () => {
  it('lists and shows what the ledger records, and renders it', async () => {
    const ctx = context(ws.dir);
    const list = await listState(ctx);
    expect(list.map((r) => r.address)).toEqual(['network.backplane', 'network.frontdoor', 'volume.memory']);
    const vol = await showResource(ctx, 'volume.memory');
    expect(vol.object_id).toBe(`orx-${ws.name}-memory`);
    expect((await caughtAsync(showResource(ctx, 'volume.nope'))).message).toBe('volume.nope is not in the state');
    const snap = await readState(ctx);
    expect(snap.resources).toHaveLength(3);
    expect(snap.meta.serial).toBeGreaterThan(0);
    const text = renderState(snap.resources, snap.meta);
    expect(text).toContain('# volume.memory (volume, object orx-');
    expect(text).toMatch(/backup\s+= true/);
    expect(text).toContain(`lineage ${snap.meta.lineage}, serial ${snap.meta.serial}`);
    expect(renderState([], {lineage: 'L', serial: 0})).toBe('The state is empty (lineage L, serial 0).');
    expect(renderResource({...vol, object_id: null})).toContain('object -');
  });
});

describe('runs and events', () => {
  it('lists the runs newest first and shows one with its steps', async () => {
    const {runs} = await listRuns(context(ws.dir), 10);
    expect(runs.map((r) => r.id).slice(0, 2)).toEqual([runIds[1], runIds[0]]);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    const table = renderRuns(runs);
    expect(table.split('\n')[0]).toMatch(/^RUN\s+KIND\s+MODE\s+STATUS/);
    expect(table).toContain(runIds[0]);
    expect(renderRuns([])).toBe('No runs yet.');

    const shown = await showRun(context(ws.dir), runIds[1]);
    expect(shown.run.id).toBe(runIds[1]);
    expect(shown.steps.map((s) => [s.address, s.action, s.status])).toEqual([['network.frontdoor', 'create', 'succeeded']]);
    expect(shown.approvals).toEqual([]);
    const text = renderRun(shown.run, shown.steps, [
      {
        id: 'a1',
        ts: '2030-01-01T00:00:00Z',
        plan_id: 'p',
        plan_digest: 'd',
        address: null,
        decision: 'approved',
        actor: 'ann',
        reason: 'ok',
        run_id: null,
      },
    ]);
    expect(text).toContain('network.frontdoor');
    expect(text).toContain('attempt 1');
    expect(text).toContain('Approvals:');
    expect(text).toContain('(all steps)');
    expect(renderRun(shown.run, [])).toContain('no steps');

    const err = await caughtAsync(showRun(context(ws.dir), 'no-such-run'));
    expect(err.code).toBe('not_found');
  });

  it('lists events, of one run or all, and follows new ones until stopped', async () => {
    const all = await listEvents(context(ws.dir), {});
    expect(all.length).toBeGreaterThan(4);
    const ofRun = await listEvents(context(ws.dir), {run: runIds[0], limit: 100});
    expect(ofRun.length).toBeGreaterThan(0);
    expect(ofRun.every((e) => e.run_id === runIds[0])).toBe(true);
    expect(ofRun.some((e) => e.message.includes('network.backplane'))).toBe(true);
    expect((await caughtAsync(listEvents(context(ws.dir), {run: 'nope'}))).message).toBe('no run nope');
    const line = renderEvent(ofRun[0]);
    expect(line).toContain(runIds[0]);
    expect(line).toContain(ofRun[0].message);
    expect(renderEvent({...ofRun[0], level: 'error'})).toContain('error');
    expect(renderEvent({...ofRun[0], level: 'warn', run_id: null})).toMatch(/warn\s+-\s/);

    // followed: what is there, then what a later writer appends, until the signal
    const seen: EventRecord[] = [];
    const stop = new AbortController();
    const following = followEvents(context(ws.dir), {}, (e) => seen.push(e), stop.signal);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.length).toBe(all.length);
    const {Ledger} = await import('../../src/ledger/ledger.js');
    const l = Ledger.open(ws.dir);
    try {
      l.appendEvent({run_id: null, level: 'info', message: 'written while followed', payload: null});
    } finally {
      l.close();
    }
    const until = Date.now() + 5000;
    while (!seen.some((e) => e.message === 'written while followed') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await following;
    expect(seen.at(-1)!.message).toBe('written while followed');

    // a signal already aborted: what is there, and it returns at once
    const once: EventRecord[] = [];
    await followEvents(context(ws.dir), {run: runIds[1]}, (e) => once.push(e), AbortSignal.abort());
    expect(once.length).toBeGreaterThan(0);
    expect(once.every((e) => e.run_id === runIds[1])).toBe(true);
  });
});

describe('keys, saved plans and simulation', () => {
  it('shows the key checkpoints were signed with, and refuses to overwrite it without force', async () => {
    const ctx = context(ws.dir);
    const shown = showKey(ctx);
    expect(shown.fingerprint).toMatch(/\S/);
    expect(shown.publicKey).toContain('BEGIN PUBLIC KEY');
    expect(inWorkspace(ctx, shown.keyFile)).toBe(path.join('.orx', 'keys', path.basename(shown.keyFile)));
    expect(inWorkspace(ctx, ws.dir)).toBe(ws.dir);
    expect(() => createKey(ctx, false)).toThrow(OrxError);
  });

  it('creates a key in a fresh workspace, and reads back and re-simulates a saved plan', async () => {
    const other = makeWorkspace('app-keys');
    try {
      other.write(NET_VOL_YAML);
      const ctx = context(other.dir);
      const made = createKey(ctx, false);
      expect(fs.existsSync(made.privateKeyPath)).toBe(true);
      expect(fs.readFileSync(made.publicKeyPath, 'utf8')).toBe(made.publicKey);
      expect(showKey(ctx).fingerprint).toBe(made.fingerprint);
      const rotated = createKey(ctx, true);
      expect(rotated.fingerprint).not.toBe(made.fingerprint);

      const p = await makePlan(ctx, {mode: 'apply', refresh: false, targets: [], replace: [], out: 'saved.json', simSeed: 's1'});
      const back = readSavedPlan(ctx, 'saved.json');
      expect(back.plan_id).toBe(p.doc.plan_id);
      expect(back.signature).not.toBeNull();
      const sim = await resimulate(other.dir, path.join(other.dir, 'saved.json'), {});
      expect(sim.seed).toBe('s1');
      expect(sim).toMatchObject({iterations: p.doc.simulation!.iterations, readinessScore: p.doc.simulation!.readinessScore});
      const again = await resimulate(other.dir, path.join(other.dir, 'saved.json'), {seed: 'other', iterations: 50});
      expect(again.seed).toBe('other');
      expect(again.iterations).toBe(50);
      // a plan from before readiness was stored: the ledger's history stands in
      const old = {...back, simulation: null};
      fs.writeFileSync(path.join(other.dir, 'old.json'), JSON.stringify(old));
      const fromLedger = await resimulate(other.dir, path.join(other.dir, 'old.json'), {seed: 'x', iterations: 20});
      expect(fromLedger.iterations).toBe(20);
      expect(fromLedger.readinessScore).toBeGreaterThanOrEqual(0);
    } finally {
      await other.cleanup();
    }
  });
});
