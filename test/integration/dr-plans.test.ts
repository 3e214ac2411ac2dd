// Backup, drill, restore and prune plans applied in-process through the engine (the same
// executor as `orx apply`), against the real engine and ledger.
import fs from 'node:fs';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {loadConfig} from '../../src/config/load.js';
import {volumeContentDigest} from '../../src/dr/archive.js';
import {verifyBackup} from '../../src/dr/drill.js';
import {backupRoot, backupsOnDisk} from '../../src/dr/layout.js';
import {planBackup, planPrune, planRestore} from '../../src/app/dr-plans.js';
import {applyWorkspace} from '../../src/engine/operations.js';
import {withLedger as openLedger} from '../../src/ledger/session.js';
import {listBackups, markVerified} from '../../src/ledger/backups.js';
import {signerKeys} from '../../src/trust/keys.js';
import {apply, approveAll, context, converge, withLedger} from '../helpers/engine.js';
import {sh} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace, keeperYaml} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('drp');
});
afterEach(async () => {
  await ws.cleanup();
});

const YAML = keeperYaml({health: '{shell: "test -d /data", interval: 1s, timeout: 1s, retries: 2}', cache: true, drHealthTimeout: null});

const labels = () => ({'io.orchestrix.workspace': ws.name});
const recorded = (address: string) => withLedger(ws.dir, (l) => l.getResource(address)!);

describe('DR plans through the engine', () => {
  it('backs up both volumes (one paused, one stopped), drills, restores one, prunes', async () => {
    ws.write(YAML);
    await converge(ws.dir);
    const ctx = context(ws.dir);
    const loaded = loadConfig(ws.dir);
    const agent = recorded('agent.keeper');
    await sh(agent.object_id!, 'mkdir -p /data/d && for i in 1 2 3 4 5; do echo $i > /data/d/$i; done');
    const memoryBefore = await volumeContentDigest(docker, {volume: String(recorded('volume.memory').attributes.name), labels: labels()});

    const backup = await openLedger(ws.dir, (l) => planBackup(ctx, l, loaded, {volumes: []}));
    expect(backup.steps.map((s) => s.address)).toEqual(['backup.cache', 'backup.memory', 'backup.ledger', 'backup.manifest']);
    approveAll(ws.dir, backup);
    const out = await applyWorkspace(ctx, backup, {parallelism: 4});
    expect(
      out.results.map((r) => `${r.step.address} ${r.status}${r.error ? ` ${r.error}` : ''}`).filter((x) => !x.endsWith('succeeded')),
    ).toEqual([]);
    expect((await docker.getContainer(agent.object_id!).inspect()).State.Running).toBe(true);
    // a backup changes no recorded state
    expect(withLedger(ws.dir, (l) => l.meta().serial)).toBe(backup.serial);

    const [b] = backupsOnDisk(backupRoot(ws.dir, loaded.config));
    const drilled = await verifyBackup(b.dir, signerKeys(ws.dir), {docker, workspace: ws.name});
    expect(drilled).toMatchObject({ok: true, problems: []});
    expect(drilled.drill!.map((d) => [d.volume, d.ok])).toEqual([
      ['cache', true],
      ['memory', true],
    ]);
    expect(drilled.manifest!.archives.map((a) => [a.volume, a.quiesce.how])).toEqual([
      ['cache', 'stop'],
      ['memory', 'pause'],
    ]);
    // what `orx dr verify --drill` records when a drill passed
    withLedger(ws.dir, (l) => markVerified(l, b.id, {drill: drilled.drill}));

    await sh(agent.object_id!, 'rm -rf /data/d');
    const restore = await openLedger(ws.dir, (l) => planRestore(ctx, l, loaded, {backup: b.id, volumes: ['memory'], ledger: false}));
    expect(restore.steps.map((s) => `${s.address} ${s.category}`)).toEqual(['restore.check READ', 'restore.memory DESTROY']);
    approveAll(ws.dir, restore);
    const restored = await applyWorkspace(ctx, restore, {parallelism: 4});
    expect(restored.failed).toBe(false);
    expect(restored.rto_ms).toBeGreaterThan(0);
    const vol = recorded('volume.memory');
    expect(String(vol.attributes.name)).toMatch(new RegExp(`^orx-${ws.name}-memory-r[0-9a-f]{6}$`));
    expect((await volumeContentDigest(docker, {volume: String(vol.attributes.name), labels: labels()})).content_digest).toBe(
      memoryBefore.content_digest,
    );
    const now = recorded('agent.keeper');
    expect(now.object_id).not.toBe(agent.object_id);
    expect(await sh(now.object_id!, 'cat /data/d/3')).toBe('3\n');

    // two more backups, then keep one: the newest stays, and the verified one is never deleted
    for (let i = 0; i < 2; i++) {
      const more = await apply(ws.dir, await openLedger(ws.dir, (l) => planBackup(ctx, l, loaded, {volumes: ['cache']})), 2);
      expect(more.results.filter((r) => r.status !== 'succeeded').map((r) => `${r.step.address} ${r.status} ${r.error ?? ''}`)).toEqual([]);
    }
    const prune = await openLedger(ws.dir, (l) => planPrune(ctx, l, loaded, {keep: 1, keepVerified: 0}));
    expect(prune.steps).toHaveLength(1);
    expect((await apply(ws.dir, prune, 2)).failed).toBe(false);
    const left = backupsOnDisk(backupRoot(ws.dir, loaded.config)).map((x) => x.id);
    expect(left).toHaveLength(2);
    expect(left).toContain(b.id);
    expect(withLedger(ws.dir, (l) => listBackups(l).map((x) => x.id)).sort()).toEqual([...left].sort());
    expect(fs.readdirSync(backupRoot(ws.dir, loaded.config)).filter((n) => n.startsWith('.partial-'))).toEqual([]);
  });
});
