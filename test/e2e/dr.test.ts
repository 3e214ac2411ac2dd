// Disaster recovery end to end through the built CLI against the real engine: backup (with
// its agents paused), a restore drill, a restore after the volume was damaged, tampering,
// a restore whose health check fails (rolled back), and a backup killed half-way.
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {volumeContentDigest} from '../../src/dr/archive.js';
import {noStack, orx, startOrx, until} from '../helpers/cli.js';
import {sh} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace, keeperYaml} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('dr');
});
afterEach(async () => {
  await ws.cleanup();
});

const YAML = keeperYaml({health: '{shell: "test ! -e /data/broken", interval: 1s, timeout: 1s, retries: 1}'});

async function keeper(): Promise<{Id: string; State: string}> {
  const [c] = await docker.listContainers({
    all: true,
    filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.keeper']},
  });
  return c;
}

const cli = async (args: string[], code = 0) => {
  const r = await orx(args, {cwd: ws.dir});
  expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  expect(noStack(r.stderr)).toBe(true);
  return r;
};

/** A restore is DESTROY-category: the baseline asks a human, so it goes through a saved, approved plan. */
async function restore(id: string, code = 0) {
  await cli(['dr', 'restore', id, '-out', 'plans/restore.json']);
  await cli(['approve', 'plans/restore.json', '--all', '--reason', 'restore drill in a test']);
  return cli(['apply', 'plans/restore.json', '--json'], code);
}

const volumeName = async () => {
  const vols =
    (await docker.listVolumes({filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=volume.memory']}})).Volumes ??
    [];
  expect(vols).toHaveLength(1);
  return vols[0].Name;
};

describe('orx dr', () => {
  // each helper run (scan, pack, unpack) is a container's life: on a loaded machine they add up
  it(
    'backs up with the agent paused, drills, restores damaged data with a health check, refuses tampered backups',
    {timeout: 120_000},
    async () => {
      ws.write(YAML);
      await cli(['apply', '--auto-approve']);
      let c = await keeper();
      await sh(
        c.Id,
        'mkdir -p /data/docs /data/private && for i in $(seq 1 300); do echo "note $i" > /data/docs/n$i.txt; done; head -c 3000000 /dev/urandom > /data/big.bin; ln -s docs/n1.txt /data/link; chmod 600 /data/docs/n2.txt; chmod 700 /data/private; echo secret > /data/private/p',
      );
      const before = await volumeContentDigest(docker, {volume: await volumeName(), labels: {'io.orchestrix.workspace': ws.name}});

      const backup = JSON.parse((await cli(['dr', 'backup', '--auto-approve', '--json'])).stdout);
      expect(backup.status).toBe('succeeded');
      expect((await keeper()).State).toBe('running');
      const listed = JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups;
      expect(listed).toHaveLength(1);
      expect(listed[0].verified_at).toBeNull();
      const id: string = listed[0].id;
      const dir: string = listed[0].dir;
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      expect(manifest.archives).toHaveLength(1);
      expect(manifest.archives[0]).toMatchObject({
        volume: 'memory',
        content_digest: before.content_digest,
        files: before.files,
        quiesce: {how: 'pause', agents: ['agent.keeper']},
      });
      expect(manifest.archives[0].quiesce.ms).toBeGreaterThan(0);
      expect(manifest.ledger.chain_head.seq).toBeGreaterThan(0);
      for (const f of fs.readdirSync(dir)) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);

      // a drill restores into scratch volumes and compares content: only then is it verified
      const drill = JSON.parse((await cli(['dr', 'verify', id, '--drill', '--json'])).stdout);
      expect(drill).toMatchObject({ok: true, drill: [{volume: 'memory', ok: true}]});
      expect(drill.verified_at).toBeTruthy();
      expect(JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups[0].verified_at).toBe(drill.verified_at);
      expect(
        (await docker.listVolumes({filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.dr-drill=1']}})).Volumes ?? [],
      ).toHaveLength(0);

      // damage the data, then restore: fresh volume, agent recreated on it and healthy, old volume gone
      await sh(c.Id, 'rm -rf /data/docs && echo junk > /data/big.bin');
      const oldVolume = await volumeName();
      const restored = JSON.parse((await restore(id)).stdout);
      expect(restored.status).toBe('succeeded');
      expect(restored.rto_ms).toBeGreaterThan(0);
      const newVolume = await volumeName();
      expect(newVolume).not.toBe(oldVolume);
      expect((await docker.listVolumes({filters: {name: [oldVolume]}})).Volumes?.filter((v) => v.Name === oldVolume) ?? []).toHaveLength(0);
      c = await keeper();
      expect(c.State).toBe('running');
      expect((await docker.getContainer(c.Id).inspect()).State.Health?.Status).toBe('healthy');
      expect((await volumeContentDigest(docker, {volume: newVolume, labels: {'io.orchestrix.workspace': ws.name}})).content_digest).toBe(
        before.content_digest,
      );
      expect(await sh(c.Id, 'cat /data/docs/n7.txt')).toBe('note 7\n');
      // the ledger follows the swap: nothing left to converge
      await cli(['plan', '--detailed-exitcode']);
      await cli(['audit', 'verify']);

      // tampering: one byte of the archive, then one byte of the manifest
      const archive = path.join(dir, manifest.archives[0].file);
      const bytes = fs.readFileSync(archive);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      fs.writeFileSync(archive, bytes);
      const bad = await cli(['dr', 'verify', id], 1);
      expect(bad.stdout).toMatch(/memory\.tar\.gz: sha256 .* does not match/);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      fs.writeFileSync(archive, bytes);
      await cli(['dr', 'verify', id]);
      const mf = path.join(dir, 'manifest.json');
      const text = fs.readFileSync(mf);
      text[20] ^= 0x01;
      fs.writeFileSync(mf, text);
      const unsigned = await cli(['dr', 'verify', id], 5);
      expect(unsigned.stdout).toMatch(/signature does not verify/);
      const refused = await orx(['dr', 'restore', id], {cwd: ws.dir});
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/does not check out/);
    },
  );

  it('a restore whose health check fails rolls back, and the old data is intact', {timeout: 120_000}, async () => {
    ws.write(YAML);
    await cli(['apply', '--auto-approve']);
    let c = await keeper();
    // a backup of data the health check rejects
    await sh(c.Id, 'echo v1 > /data/state && touch /data/broken');
    await cli(['dr', 'backup', '--auto-approve']);
    const id = JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups[0].id;
    await sh(c.Id, 'rm /data/broken && echo v2 > /data/state');
    const oldVolume = await volumeName();

    const failed = JSON.parse((await restore(id, 6)).stdout);
    expect(failed.status).toBe('failed');
    expect(JSON.stringify(failed.steps)).toMatch(/rolled back: the agents run on the old volume/);
    expect(await volumeName()).toBe(oldVolume);
    c = await keeper();
    expect(c.State).toBe('running');
    expect(await sh(c.Id, 'cat /data/state')).toBe('v2\n');
    const leftovers = await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});
    // the agent and nothing else: no container set aside, no helper
    expect(leftovers.map((x) => x.Labels['io.orchestrix.address'])).toEqual(['agent.keeper']);
  });

  it(
    'a backup killed while its agent is paused leaves no half backup, and the next command resumes the agent',
    {timeout: 120_000},
    async () => {
      ws.write(YAML);
      await cli(['apply', '--auto-approve']);
      const c = await keeper();
      await sh(c.Id, 'head -c 150000000 /dev/urandom > /data/big.bin');
      const {child, done} = startOrx(['dr', 'backup', '--auto-approve'], {cwd: ws.dir});
      await until('the agent paused by the backup', async () => ((await keeper()).State === 'paused' ? true : undefined), 30_000);
      child.kill('SIGKILL');
      await done;
      expect((await keeper()).State).toBe('paused');
      const list = JSON.parse((await cli(['dr', 'list', '--json'])).stdout);
      expect(list.backups).toHaveLength(0);
      const next = await cli(['plan']);
      expect(next.stderr).toMatch(/an interrupted backup had left agent\.keeper paused: resumed them/);
      expect((await keeper()).State).toBe('running');
      // the killed apply's lock is stale (its pid is gone): orx says so, and force-unlock lifts it
      const locked = await orx(['dr', 'backup', '--auto-approve'], {cwd: ws.dir});
      expect(locked.code).toBe(4);
      const lockId = /lock (lock-[0-9a-z]+) is STALE/.exec(locked.stderr)?.[1];
      expect(lockId).toBeTruthy();
      await cli(['force-unlock', lockId!, '--reason', 'the backup was killed in a test']);
      // the next backup clears the partial directory away and completes
      await cli(['dr', 'backup', '--auto-approve']);
      const root = path.join(ws.dir, '.orx/backups');
      expect(fs.readdirSync(root).filter((n) => n.startsWith('.partial-'))).toEqual([]);
      expect(JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups).toHaveLength(1);
      // and the killed backup's helper container with it
      expect(
        await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.dr-helper=1']}}),
      ).toHaveLength(0);
    },
  );

  it(
    'prune keeps the newest and the last verified backup; --ledger restores the recorded state as new events',
    {timeout: 120_000},
    async () => {
      ws.write(YAML);
      await cli(['apply', '--auto-approve']);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        await cli(['dr', 'backup', '--auto-approve']);
        ids.unshift(JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups[0].id);
      }
      const [newest, middle, oldest] = ids as [string, string, string];
      await cli(['dr', 'verify', oldest, '--drill']);
      await cli(['dr', 'prune', '--keep', '1', '-out', 'plans/prune.json']);
      await cli(['approve', 'plans/prune.json', '--all', '--reason', 'retention in a test']);
      await cli(['apply', 'plans/prune.json']);
      expect(JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups.map((b: {id: string}) => b.id)).toEqual([newest, oldest]);
      expect(fs.existsSync(path.join(ws.dir, '.orx/backups', middle))).toBe(false);

      // state moves on (a network is added), then the ledger is restored to the backup's
      ws.write(YAML.replace('volumes:\n  memory:', 'networks:\n  extra: {}\nvolumes:\n  memory:'));
      await cli(['apply', '--auto-approve']);
      expect((await cli(['state', 'list'])).stdout).toMatch(/network\.extra/);
      const head = JSON.parse((await cli(['audit', 'head', '--json'])).stdout);
      await cli(['dr', 'restore', newest, '--ledger', '-out', 'plans/ledger.json']);
      await cli(['approve', 'plans/ledger.json', '--all', '--reason', 'ledger restore in a test']);
      await cli(['apply', 'plans/ledger.json']);
      expect((await cli(['state', 'list'])).stdout).not.toMatch(/network\.extra/);
      // history is not rewritten: the chain goes on from where it was, and says what happened
      const after = JSON.parse((await cli(['audit', 'verify', '--json'])).stdout);
      expect(after.ok).toBe(true);
      expect(after.head.seq).toBeGreaterThan(head.head.seq);
      expect((await cli(['events'])).stdout).toMatch(new RegExp(`ledger state restored from backup ${newest}`));
    },
  );
});
