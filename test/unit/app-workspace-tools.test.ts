// The smaller use-cases in-process, without Docker: audit bundles (src/app/audit-bundle.ts),
// blob signing (signing.ts), force-unlock (locks.ts), policy test/eval (policy.ts) and the
// published schemas (schema.ts), on a real workspace with a real ledger and key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {exportAudit, verifyAuditBundleFile} from '../../src/app/audit-bundle.js';
import {initWorkspace} from '../../src/app/init.js';
import {forceUnlock} from '../../src/app/locks.js';
import {makePlan} from '../../src/app/plan.js';
import {evaluatePlanFile, testPolicies} from '../../src/app/policy.js';
import {publishedSchema} from '../../src/app/schema.js';
import {signFile, verifyFile} from '../../src/app/signing.js';
import {checkpointChain} from '../../src/engine/checkpoint.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {initWorkspaceKey, keyPaths} from '../../src/trust/keys.js';
import {setColor} from '../../src/ui/color.js';
import {renderBundleVerification, renderChainHead, renderExportSummary} from '../../src/ui/audit-view.js';
import {silentLogger} from '../../src/ui/logger.js';
import {renderPolicyTestTable} from '../../src/ui/policy-view.js';
import {context} from '../helpers/engine.js';
import {caughtAsync} from '../helpers/errors.js';

setColor(false);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-app-tools-'));
});
afterEach(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

function withLedger<T>(fn: (l: Ledger) => T): T {
  const l = Ledger.open(dir);
  try {
    return fn(l);
  } finally {
    l.close();
  }
}

describe('audit bundles', () => {
  it('exports a signed bundle of the events that verifies, with the pinned key too, and fails once edited', async () => {
    fs.writeFileSync(path.join(dir, 'orchestration.yml'), 'workspace: lab\n');
    initWorkspaceKey(dir);
    const runId = withLedger((l) => {
      const r = l.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 't'});
      l.appendEvents([1, 2, 3].map((i) => ({run_id: r.id, level: 'info' as const, message: `step ${i}`, payload: {i}})));
      l.finishRun(r.id, 'succeeded');
      return r.id;
    });
    const l = Ledger.open(dir);
    try {
      const cp = await checkpointChain({dir, version: '0', log: silentLogger}, l, null, {reason: 'apply', run_id: runId});
      expect(cp.status).toBe('signed');
    } finally {
      l.close();
    }

    const out = await exportAudit(context(dir), {output: 'audit/bundle.json'});
    expect(out.file).toBe(path.join(dir, 'audit/bundle.json'));
    expect(out.summary.events).toBeGreaterThanOrEqual(5);
    const summary = renderExportSummary(out.summary);
    expect(summary).toMatch(/^Wrote audit\/bundle\.json: \d+ events \(seq 1\.\.\d+\), 1 run, 0 snapshots/);
    expect(summary).toContain('check it with: orx audit verify-bundle audit/bundle.json');

    const v = await verifyAuditBundleFile(context(dir), {file: 'audit/bundle.json'});
    expect(v.ok).toBe(true);
    expect(v.signature).toMatchObject({ok: true, key: 'bundle'});
    expect(v.checkpoint?.ok).toBe(true);
    const text = renderBundleVerification('audit/bundle.json', v);
    expect(text).toContain('signature   ok  signed by');
    expect(text).toContain('(the key in the bundle)');
    expect(text.split('\n').at(-1)).toBe('Bundle verified.');
    const pinned = await verifyAuditBundleFile(context(dir), {file: 'audit/bundle.json', key: keyPaths(dir).publicKey});
    expect(pinned.signature.key).toBe('pinned');
    expect(renderBundleVerification('b', pinned)).toContain('(the pinned --key)');

    const ofRun = await exportAudit(context(dir), {output: 'run.json', run: runId});
    expect(ofRun.summary.runs).toBe(1);

    const edited = fs.readFileSync(out.file, 'utf8').replace('step 2', 'step X');
    fs.writeFileSync(path.join(dir, 'edited.json'), edited);
    const bad = await verifyAuditBundleFile(context(dir), {file: 'edited.json'});
    expect(bad.ok).toBe(false);
    const badText = renderBundleVerification('edited.json', bad, 1);
    expect(badText).toContain('Problems (');
    expect(badText.split('\n').at(-1)).toMatch(/^Bundle FAILED verification/);
    expect(renderChainHead({seq: 0, hash: 'g'})).toBe('No events yet: head is the genesis hash g');
    expect(renderChainHead({seq: 3, hash: 'h'})).toBe('seq 3 h');
  });
});

describe('sign-blob and verify-blob', () => {
  it('signs a file with the workspace key and verifies it, and not once it changed', async () => {
    fs.writeFileSync(path.join(dir, 'orchestration.yml'), 'workspace: lab\n');
    const key = initWorkspaceKey(dir);
    fs.writeFileSync(path.join(dir, 'report.txt'), 'hello');
    const signed = await signFile(context(dir), {file: 'report.txt', bundle: 'report.sigstore.json'});
    expect(signed.fingerprint).toBe(key.fingerprint);
    expect(signed.digest).toMatch(/[0-9a-f]{64}/);
    const ok = await verifyFile(context(dir), {file: 'report.txt', bundle: 'report.sigstore.json'});
    expect(ok.fingerprint).toBe(key.fingerprint);
    expect(ok.keys).toEqual([keyPaths(dir).publicKey]);
    fs.writeFileSync(path.join(dir, 'report.txt'), 'hellO');
    await caughtAsync(verifyFile(context(dir), {file: 'report.txt', bundle: 'report.sigstore.json'}));
    await caughtAsync(signFile(context(dir), {file: 'report.txt', bundle: 'report.txt'}));
  });
});

describe('force-unlock', () => {
  it('removes the lock a dead apply left and records why', async () => {
    fs.writeFileSync(path.join(dir, 'orchestration.yml'), 'workspace: lab\n');
    const lock = withLedger((l) => l.acquireLock({pid: 999_999_999, host: os.hostname(), command: 'orx apply (killed)'}));
    await forceUnlock(context(dir), lock.id, 'its process was killed');
    expect(withLedger((l) => l.currentLock())).toBeUndefined();
    const events = withLedger((l) => l.listEvents({}));
    expect(events.some((e) => e.message.includes(lock.id) && e.message.includes('its process was killed'))).toBe(true);
    const none = await caughtAsync(forceUnlock(context(dir), 'no-such-lock', 'x'));
    expect(none.code).toBe('not_found');
    expect(none.message).toBe('No lock with id "no-such-lock". The workspace is not locked.');
  });
});

describe('policy test and eval', () => {
  it("runs the baseline's and the workspace's policy tests, and evaluates every rule against a saved plan", async () => {
    const ws = path.join(dir, 'lab');
    initWorkspace(ws);
    const report = await testPolicies(context(ws));
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThan(5);
    expect(report.files.some((f) => f.includes('example_test.yaml'))).toBe(true);
    const table = renderPolicyTestTable(report);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+RESULT\s+DETAILS$/);
    expect(table).toContain(`${report.passed} passed, 0 failed`);

    await makePlan(context(ws), {mode: 'apply', refresh: false, targets: [], replace: [], out: 'plans/p.json'});
    const evaluated = await evaluatePlanFile(context(ws), 'plans/p.json');
    expect(evaluated.doc.workspace).toBe('lab');
    expect(evaluated.results.length).toBeGreaterThan(5);
    expect(evaluated.results.some((r) => r.rule === 'approve-large-agent')).toBe(true);
  });
});

describe('schema', () => {
  it('prints the published schemas as they are', () => {
    for (const which of ['config', 'plan', 'policy'] as const) {
      const doc = publishedSchema(which);
      expect(doc.$schema).toMatch(/json-schema\.org/);
      expect(doc.type).toBe('object');
    }
  });
});
