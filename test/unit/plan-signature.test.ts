import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {loadSavedPlan} from '../../src/engine/operations.js';
import {newPlanId, writePlanFile, type PlanDocument} from '../../src/engine/planfile.js';
import {buildPlan, summarize} from '../../src/engine/planner.js';
import {silentLogger} from '../../src/ui/logger.js';
import {initWorkspaceKey} from '../../src/trust/keys.js';
import {signPlan} from '../../src/engine/plan-signature.js';
import {signingKey} from '../../src/trust/keys.js';
import {planDocument} from '../helpers/plan-fixtures.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-plansig-'));
const other = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-plansig-other-'));
afterAll(() => {
  fs.rmSync(dir, {recursive: true, force: true});
  fs.rmSync(other, {recursive: true, force: true});
});
const ctx = {dir, log: silentLogger, version: 't', actor: 't', command: 't'};

function smallPlan(): PlanDocument {
  const m = buildPlan({
    plan_id: 'p',
    mode: 'apply',
    recorded: [],
    observation: null,
    knownStepKeys: new Set(),
    targets: [],
    replace: [],
    desired: [
      {address: 'network.n', kind: 'network', name: 'n', depends_on: [], attributes: {name: 'orx-w-n', internal: true, labels: {}}},
    ],
  });
  return planDocument(m.steps, {
    plan_id: newPlanId(),
    created_at: '2026-01-01T00:00:00.000Z',
    orx_version: '0',
    lineage: 'L',
    config_digest: 'a'.repeat(64),
    policy_digest: 'b'.repeat(64),
    summary: summarize(m.steps),
  });
}

describe('signed plans', () => {
  it('signs with the workspace key (made on first use) and verifies', async () => {
    const {key, created} = signingKey(dir);
    expect(created).toBe(true);
    expect(signingKey(dir).created).toBe(false);
    const file = path.join(dir, 'ok.plan.json');
    writePlanFile(file, await signPlan(smallPlan(), key));
    const doc = await loadSavedPlan(ctx, file);
    expect(doc.signature).toMatchObject({mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json'});
  });

  it('refuses unsigned plans and plans signed by a key it was not told to trust', async () => {
    const unsigned = path.join(dir, 'unsigned.plan.json');
    writePlanFile(unsigned, smallPlan());
    await expect(loadSavedPlan(ctx, unsigned)).rejects.toMatchObject({exit: 5, message: expect.stringMatching(/is not signed/)});

    const foreign = initWorkspaceKey(other);
    const file = path.join(dir, 'foreign.plan.json');
    writePlanFile(file, await signPlan(smallPlan(), foreign));
    await expect(loadSavedPlan(ctx, file)).rejects.toMatchObject({exit: 5, message: expect.stringMatching(/signature check failed/)});
    // a CI apply job trusts the plan job's key explicitly
    const doc = await loadSavedPlan(ctx, file, [path.join(other, '.orx/keys/signing.pub')]);
    expect(doc.plan_id).toMatch(/^plan-/);
  });

  it('no single flipped bit anywhere in a saved plan or its bundle gets through', async () => {
    const {key} = signingKey(dir);
    const file = path.join(dir, 'flip.plan.json');
    writePlanFile(file, await signPlan(smallPlan(), key));
    const bytes = fs.readFileSync(file);
    const sigStart = bytes.indexOf('"signature"');
    expect(sigStart).toBeGreaterThan(0);
    const accepted: number[] = [];
    let inBundle = 0;
    const variant = path.join(dir, 'variant.plan.json');
    for (let i = 0; i < bytes.length; i++) {
      const b = Buffer.from(bytes);
      b[i] = b[i] ^ 0x01;
      fs.writeFileSync(variant, b);
      if (i >= sigStart) inBundle++;
      try {
        await loadSavedPlan(ctx, variant);
        accepted.push(i);
      } catch (err) {
        expect((err as {exit?: number}).exit).toBe(5);
      }
    }
    expect(inBundle).toBeGreaterThan(300);
    expect(bytes.length - inBundle).toBeGreaterThan(300);
    expect(accepted).toEqual([]);
  }, 120_000);
});
