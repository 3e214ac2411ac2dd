// An apply as the terminal sees it (src/cli/apply-session.ts, review-screen.ts): the plan on
// stdout, progress on stderr, the review screen on a terminal, the result rendered; against
// the real engine and ledger.
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {planForApply} from '../../src/app/plan.js';
import {runApplyFlow, type ApplyFlowOptions} from '../../src/cli/apply-session.js';
import type {PlanDocument} from '../../src/engine/planfile.js';
import {OrxError} from '../../src/errors.js';
import {EXIT} from '../../src/exit-codes.js';
import {setColor} from '../../src/ui/color.js';
import {context, withLedger} from '../helpers/engine.js';
import {makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {NET_VOL_YAML} from '../helpers/app-io.js';
import {captureOutput} from '../helpers/capture.js';
import {FakeTTYIn, FakeTTYOut} from '../helpers/fake-tty.js';

setColor(false);

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('cli-apply');
  ws.write(NET_VOL_YAML);
});
afterEach(async () => {
  await ws.cleanup();
});

const planNow = () => planForApply(context(ws.dir), {mode: 'apply', refresh: true, targets: [], replace: []});
const options = (doc: PlanDocument, over: Partial<ApplyFlowOptions> = {}): ApplyFlowOptions => ({
  ctx: context(ws.dir),
  doc,
  fromFile: false,
  autoApprove: true,
  parallelism: 2,
  json: false,
  stdinIsTTY: false,
  stderrIsTTY: false,
  logFormat: 'text',
  ...over,
});
/** The result, or what it threw (flags are checked before the promise is made). */
async function settled<T>(fn: () => Promise<T>): Promise<unknown> {
  try {
    return await fn();
  } catch (e) {
    return e;
  }
}
const recorded = () => withLedger(ws.dir, (l) => l.listResources().map((r) => r.address));

describe('runApplyFlow without a terminal', () => {
  it('prints the plan, one progress line per step, and the closing line', async () => {
    const doc = await planNow();
    const r = await captureOutput(() => runApplyFlow(options(doc)));
    expect(r.value.exit).toBeUndefined();
    expect(r.value.data).toMatchObject({plan_id: doc.plan_id, status: 'succeeded'});
    expect(r.value.human).toMatch(/^Apply complete! Resources: 2 added, 0 changed, 0 replaced, 0 destroyed\. \(run \S+, serial \d+\)$/);
    expect(r.stdout).toContain(`orx will perform the following actions (apply plan ${doc.plan_id}):`);
    expect(r.stdout).toContain('Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy.');
    expect(r.stderr).toMatch(/✓ network\.backplane: create succeeded \(\d+\.\ds\)\n/);
    expect(r.stderr).toMatch(/✓ volume\.memory: create succeeded \(\d+\.\ds\)\n/);
    expect(recorded()).toEqual(['network.backplane', 'volume.memory']);
  });

  it('prints nothing but progress logs under --json --log-format json, and checks --autonomy and --chaos', async () => {
    const doc = await planNow();
    const lowered = await captureOutput(() => settled(() => runApplyFlow(options(doc, {autonomy: 0, json: true}))));
    expect(lowered.value).toBeInstanceOf(OrxError);
    expect((lowered.value as OrxError).code).toBe('approval_required');
    const chaos = await captureOutput(() => settled(() => runApplyFlow(options(doc, {chaos: '', json: true}))));
    expect((chaos.value as OrxError).code).toBe('bad_flag');

    const again = await planNow();
    const r = await captureOutput(() => runApplyFlow(options(again, {json: true, logFormat: 'json'})));
    expect(r.stdout).toBe('');
    expect(r.value.data.status).toBe('succeeded');
    expect(r.value.human).toContain('Apply complete!');
  });

  it('a chaos rehearsal the workspace does not allow is refused before anything changes', async () => {
    const doc = await planNow();
    const r = await captureOutput(() => settled(() => runApplyFlow(options(doc, {chaos: '7,rate=1', json: true}))));
    expect((r.value as OrxError).code).toBe('chaos_refused');
    expect(recorded()).toEqual([]);
  });
});

/** A stand-in terminal: keys typed by the test, frames kept. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for the review screen');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('runApplyFlow on a terminal', () => {
  it('asks on the review screen, leaves out the rejected step and keeps CI as it was', async () => {
    const doc = await planNow();
    const stdin = new FakeTTYIn();
    const stderr = new FakeTTYOut(120);
    const real = {stdin: Object.getOwnPropertyDescriptor(process, 'stdin')!, stderr: Object.getOwnPropertyDescriptor(process, 'stderr')!};
    Object.defineProperty(process, 'stdin', {value: stdin, configurable: true});
    Object.defineProperty(process, 'stderr', {value: stderr, configurable: true});
    const ci = process.env.CI;
    process.env.CI = 'true';
    try {
      const running = captureOutput(() => runApplyFlow(options(doc, {autoApprove: false, stdinIsTTY: true, stderrIsTTY: true})), {
        stderr: false,
      });
      await until(() => stdin.listenerCount('readable') > 0 && stderr.out.includes('volume.memory'));
      expect(process.env.CI).toBe('true');
      // the first step rejected, the rest approved as they are, then submitted
      for (const key of ['r', '\r']) {
        stdin.write(key);
        await new Promise((res) => setTimeout(res, 50));
      }
      const r = await running;
      expect(r.value.data.status).toBe('succeeded');
      const dropped = r.value.data.dropped as string[];
      expect(dropped).toHaveLength(1);
      expect(stderr.out).toContain(`Rejected, not applied: ${dropped[0]}`);
      expect(recorded()).toEqual(['network.backplane', 'volume.memory'].filter((a) => a !== dropped[0]));
      expect(r.value.human).toContain('(1 rejected step(s) left out)');
    } finally {
      Object.defineProperty(process, 'stdin', real.stdin);
      Object.defineProperty(process, 'stderr', real.stderr);
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  }, 60_000);

  it('a cancelled review changes nothing (exit 3)', async () => {
    const doc = await planNow();
    const stdin = new FakeTTYIn();
    const stderr = new FakeTTYOut(120);
    const real = {stdin: Object.getOwnPropertyDescriptor(process, 'stdin')!, stderr: Object.getOwnPropertyDescriptor(process, 'stderr')!};
    Object.defineProperty(process, 'stdin', {value: stdin, configurable: true});
    Object.defineProperty(process, 'stderr', {value: stderr, configurable: true});
    try {
      const running = captureOutput(
        () => runApplyFlow(options(doc, {autoApprove: false, stdinIsTTY: true, stderrIsTTY: true})).catch((e: unknown) => e),
        {stderr: false},
      );
      await until(() => stdin.listenerCount('readable') > 0 && stderr.out.includes('volume.memory'));
      stdin.write('q');
      const r = await running;
      expect(r.value).toBeInstanceOf(OrxError);
      expect((r.value as OrxError).exit).toBe(EXIT.APPROVAL);
      expect(recorded()).toEqual([]);
    } finally {
      Object.defineProperty(process, 'stdin', real.stdin);
      Object.defineProperty(process, 'stderr', real.stderr);
    }
  }, 60_000);
});
