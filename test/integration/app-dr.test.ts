// The DR use-cases end to end in-process: a backup planned and applied through the terminal
// flow (src/cli/dr-plan-session.ts), listed, verified with and without a drill, restored and
// pruned, against the real engine and ledger; with their renderings (src/ui/dr-view.ts).
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {listBackupsOnDisk, type BackupRow} from '../../src/app/dr-list.js';
import {planBackup, planPrune, planRestore} from '../../src/app/dr-plans.js';
import {verifyBackupById} from '../../src/app/dr-verify.js';
import {drPlanFlow, type DrFlowOptions} from '../../src/cli/dr-plan-session.js';
import {EXIT} from '../../src/exit-codes.js';
import {setColor} from '../../src/ui/color.js';
import {renderBackupList, renderBackupVerification} from '../../src/ui/dr-view.js';
import {context, withLedger} from '../helpers/engine.js';
import {makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {NET_VOL_YAML, recordingIO} from '../helpers/app-io.js';
import {applyReviewed} from '../../src/app/apply.js';
import {loadPlan, planForApply} from '../../src/app/plan.js';
import {approvePlan} from '../../src/app/approve.js';
import type {DrPlanBuilder} from '../../src/app/dr-plan.js';
import {runApplyFlow} from '../../src/cli/apply-session.js';
import type {OrxError} from '../../src/errors.js';
import type {DrPlanResult} from '../../src/app/results.js';

/** A DR command's result is the saved plan (-out) or the apply's outcome. */
const savedTo = (r: DrPlanResult) => ('saved_to' in r ? r.saved_to : undefined);
const statusOf = (r: DrPlanResult) => ('status' in r ? r.status : undefined);

setColor(false);

let ws: TestWorkspace;
let backupId: string;

const flow = (over: Partial<DrFlowOptions> = {}): DrFlowOptions => ({
  ctx: context(ws.dir),
  autoApprove: true,
  parallelism: 2,
  logFormat: 'json',
  terminal: {json: true, stdinIsTTY: false, stderrIsTTY: false},
  ...over,
});

/** As `orx dr restore -out F`, `orx approve F --all`, then `orx apply F`. */
async function approvedAndApplied(build: DrPlanBuilder, file: string) {
  const saved = await drPlanFlow(flow({out: file}), build);
  expect(savedTo(saved.data)).toBe(path.join(ws.dir, file));
  const ctx = context(ws.dir);
  await approvePlan(ctx, {file, steps: null, reason: 'drill', reject: false, trustedKeys: []});
  return runApplyFlow({
    ctx,
    doc: await loadPlan(ctx, file, []),
    fromFile: true,
    autoApprove: false,
    parallelism: 2,
    json: true,
    stdinIsTTY: false,
    stderrIsTTY: false,
    logFormat: 'json',
  });
}

beforeAll(async () => {
  ws = makeWorkspace('app-dr');
  ws.write(NET_VOL_YAML);
  const ctx = context(ws.dir);
  const doc = await planForApply(ctx, {mode: 'apply', refresh: true, targets: [], replace: []});
  const out = await applyReviewed(ctx, {doc, fromFile: false, autoApprove: true, parallelism: 4, autonomy: 3}, recordingIO());
  expect(out.result.status).toBe('succeeded');
}, 120_000);
afterAll(async () => {
  await ws?.cleanup();
});

describe('dr backup, list, verify, restore, prune', () => {
  it('lists no backups before the first one', async () => {
    const {destination, backups} = await listBackupsOnDisk(context(ws.dir));
    expect(backups).toEqual([]);
    expect(renderBackupList(destination, backups)).toBe(`No backups in ${destination}. Make one with \`orx dr backup\`.`);
  });

  it('saves a backup plan for later when -out asks, and applies one otherwise', async () => {
    const saved = await drPlanFlow(flow({out: 'plans/backup.json'}), (l, loaded) => planBackup(context(ws.dir), l, loaded, {volumes: []}));
    expect(savedTo(saved.data)).toBe(path.join(ws.dir, 'plans/backup.json'));
    expect(saved.human).toContain('Saved the plan to plans/backup.json. Apply exactly it with: orx apply plans/backup.json');
    expect(saved.human).toMatch(/Plan: backup, \d steps?\./);
    expect(fs.existsSync(path.join(ws.dir, 'plans/backup.json'))).toBe(true);

    const applied = await drPlanFlow(flow(), (l, loaded) => planBackup(context(ws.dir), l, loaded, {volumes: []}));
    expect(applied.exit).toBeUndefined();
    expect(statusOf(applied.data)).toBe('succeeded');
    expect(applied.human).toMatch(/^Backup complete: \d+ step\(s\)\. \(run \S+\)$/);
    const {backups} = await listBackupsOnDisk(context(ws.dir));
    expect(backups).toHaveLength(1);
    backupId = backups[0].id;
    expect(backups[0]).toMatchObject({recorded: true, verified_at: null});
    expect(backups[0].size).toBeGreaterThan(0);
  }, 120_000);

  it('verifies the signature and archives, and marks the backup verified only after a drill', async () => {
    const ctx = context(ws.dir);
    const plain = await verifyBackupById(ctx, {backup: backupId, drill: false, trustedKeys: []});
    expect(plain.exit).toBe(EXIT.OK);
    expect(plain.verification.ok).toBe(true);
    expect(plain.verified_at).toBeNull();
    const text = renderBackupVerification(plain.backup, plain.verification, null);
    expect(text).toMatch(
      new RegExp(`^Backup OK: ${backupId}, signed by sha256:\\S+; 1 archive\\(s\\) and the ledger copy match their digests\\.`),
    );
    expect(text).toContain('Not marked verified: only a restore drill (--drill) does that.');

    const drilled = await verifyBackupById(ctx, {backup: backupId, drill: true, trustedKeys: []});
    expect(drilled.exit).toBe(EXIT.OK);
    expect(drilled.verified_at).toMatch(/^\d{4}-/);
    expect(drilled.verification.drill?.map((d) => [d.volume, d.ok])).toEqual([['memory', true]]);
    const drillText = renderBackupVerification(drilled.backup, drilled.verification, drilled.verified_at);
    expect(drillText).toMatch(/drill memory: restored content matches \(\d+\.\d s\)/);
    expect(drillText).toContain(`Marked verified at ${drilled.verified_at}.`);
    const {backups} = await listBackupsOnDisk(ctx);
    expect(backups[0].verified_at).toBe(drilled.verified_at);
  }, 120_000);

  it('reports a tampered archive as a failed backup (exit 1)', async () => {
    const ctx = context(ws.dir);
    const {backups} = await listBackupsOnDisk(ctx);
    const copy = path.join(path.dirname(backups[0].dir), `${backupId}-copy`);
    fs.cpSync(backups[0].dir, copy, {recursive: true});
    try {
      const archive = fs.readdirSync(copy).find((f) => f.endsWith('.tar.gz'))!;
      fs.appendFileSync(path.join(copy, archive), 'tampered');
      const v = await verifyBackupById(ctx, {backup: copy, drill: false, trustedKeys: []});
      expect(v.exit).toBe(EXIT.ERROR);
      expect(v.verification.ok).toBe(false);
      const text = renderBackupVerification(v.backup, v.verification, null);
      expect(text.split('\n')[0]).toBe(`Backup FAILED: ${v.backup}`);
      expect(text).toContain(archive);
    } finally {
      fs.rmSync(copy, {recursive: true, force: true});
    }
  });

  it('restores the backup once a human approved the saved plan, and reports the RTO', async () => {
    const build: DrPlanBuilder = (l, loaded) => planRestore(context(ws.dir), l, loaded, {backup: backupId, volumes: [], ledger: false});
    // overwriting a volume is a DESTROY: never without a human, whatever the autonomy
    const refused = await drPlanFlow(flow(), build).then(
      () => null,
      (e: unknown) => e as OrxError,
    );
    expect(refused?.code).toBe('approval_required');
    expect(refused?.message).toContain('restore.memory');

    const out = await approvedAndApplied(build, 'plans/restore.json');
    expect(statusOf(out.data)).toBe('succeeded');
    expect(out.data.kind).toBe('restore');
    expect(out.human).toMatch(/^Restore complete: \d+ step\(s\), RTO \d+\.\d s \(apply start to healthy\)\. \(run \S+\)$/);
  }, 120_000);

  it('prunes down to what is kept, keeping the verified one', async () => {
    const second = await drPlanFlow(flow(), (l, loaded) => planBackup(context(ws.dir), l, loaded, {volumes: ['memory']}));
    expect(statusOf(second.data)).toBe('succeeded');
    const before = (await listBackupsOnDisk(context(ws.dir))).backups;
    expect(before).toHaveLength(2);
    const pruned = await approvedAndApplied(
      (l, loaded) => planPrune(context(ws.dir), l, loaded, {keep: 0, keepVerified: 1}),
      'plans/prune.json',
    );
    const after = (await listBackupsOnDisk(context(ws.dir))).backups;
    expect(after.map((b) => b.id)).toEqual([backupId]);
    expect(pruned.human).toBe(`Prune complete: 1 backup(s) deleted. (run ${String(pruned.data.run_id)})`);
    expect(withLedger(ws.dir, (l) => l.getRun(String(pruned.data.run_id))!.kind)).toBe('prune');
  }, 120_000);
});

describe('dr list rendering', () => {
  it('shows sizes, ages and what is verified or only on disk', () => {
    const row = (over: Partial<BackupRow>): BackupRow => ({
      id: 'b1',
      dir: '/x',
      created_at: null,
      age_s: null,
      size: 0,
      verified_at: null,
      recorded: true,
      ...over,
    });
    const text = renderBackupList('/backups', [
      row({id: 'a', size: 512, age_s: 30, verified_at: '2030-01-01T00:00:00Z'}),
      row({id: 'b', size: 2_500, age_s: 600}),
      row({id: 'c', size: 3_000_000, age_s: 10_000, recorded: false}),
      row({id: 'd', size: 4_000_000_000, age_s: 500_000}),
      row({id: 'e'}),
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Backups in /backups:');
    expect(lines[1]).toMatch(/^a\s+512 B\s+30s ago {2}verified 2030-01-01T00:00:00Z$/);
    expect(lines[2]).toMatch(/^b\s+2\.5 kB\s+10m ago {2}not verified \(orx dr verify --drill\)$/);
    expect(lines[3]).toMatch(/^c\s+3\.0 MB\s+3h ago .* {2}\(not in this ledger\)$/);
    expect(lines[4]).toMatch(/^d\s+4\.0 GB\s+6d ago/);
    expect(lines[5]).toMatch(/^e\s+0 B\s+\? ago/);
  });
});
