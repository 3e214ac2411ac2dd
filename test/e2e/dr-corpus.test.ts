// Every backup restores: a volume whose agent wrote everything a filesystem can hold (a
// symlink past the root, an absolute one, a hard-link pair, an empty directory, a 2 GiB
// sparse file, names with a newline and a non-UTF-8 byte, files and a directory it made
// unreadable) goes through backup, verify, drill and restore with equal content digests;
// the sparse file stays sparse and the agent is held briefly. A FIFO fails the backup
// before anyone is paused, unless dr.skip_special.
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {scanVolume, volumeContentDigest} from '../../src/dr/archive.js';
import {noStack, orx} from '../helpers/cli.js';
import {sh} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace, keeperYaml} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('drc');
});
afterEach(async () => {
  await ws.cleanup();
});

const YAML = keeperYaml({health: '{shell: "test -d /data", interval: 1s, timeout: 1s, retries: 1}'});

// written by the agent itself (uid 1000), as an agent would
const CORPUS = `set -e
cd /data
ln -s ../../../../ up
ln -s /etc/passwd abs
mkdir -p tree/deep empty
echo shared > tree/a && ln tree/a tree/deep/b
dd if=/dev/zero of=sparse bs=1 count=0 seek=2147483648 2>/dev/null
echo middle | dd of=sparse bs=1 seek=1000000 conv=notrunc 2>/dev/null
echo end | dd of=sparse bs=1 seek=2147483000 conv=notrunc 2>/dev/null
echo nl > "$(printf 'new\\nline')"
echo bytes > "$(printf 'non-utf8-\\377\\376')"
echo hidden > locked && chmod 0000 locked
mkdir closed && echo inside > closed/x && chmod 0000 closed
`;

const cli = async (args: string[], code = 0) => {
  const r = await orx(args, {cwd: ws.dir});
  expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  expect(noStack(r.stderr)).toBe(true);
  return r;
};

async function keeperId(): Promise<string> {
  const [c] = await docker.listContainers({
    all: true,
    filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.keeper']},
  });
  return c.Id;
}

async function volumeName(): Promise<string> {
  const vols =
    (await docker.listVolumes({filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=volume.memory']}})).Volumes ??
    [];
  expect(vols).toHaveLength(1);
  return vols[0].Name;
}

const labels = () => ({'io.orchestrix.workspace': ws.name});

async function lastBackup(): Promise<{
  id: string;
  manifest: {archives: Array<Record<string, unknown> & {file: string; content_digest: string; size: number; quiesce: {ms: number}}>};
}> {
  const [b] = JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups as Array<{id: string; dir: string}>;
  return {id: b.id, manifest: JSON.parse(fs.readFileSync(path.join(b.dir, 'manifest.json'), 'utf8'))};
}

/** Engine pause events of a container between two times (seconds). */
async function pausesOf(id: string, since: number, until: number): Promise<number> {
  const stream = await docker.getEvents({since, until, filters: {type: ['container'], event: ['pause'], container: [id]}});
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString();
  return text.split('\n').filter((l) => l.trim()).length;
}

describe('orx dr: every backup restores', () => {
  it(
    'round-trips the corpus (backup, verify, drill, restore) with equal content digests, sparse kept sparse',
    {timeout: 120_000},
    async () => {
      ws.write(YAML);
      await cli(['apply', '--auto-approve']);
      await sh(await keeperId(), CORPUS);
      const before = await volumeContentDigest(docker, {volume: await volumeName(), labels: labels()});
      expect(before.files).toBe(6);

      const backup = JSON.parse((await cli(['dr', 'backup', '--auto-approve', '--json'])).stdout);
      expect(backup.status).toBe('succeeded');
      const {id, manifest} = await lastBackup();
      const [archive] = manifest.archives;
      expect(archive).toMatchObject({content_digest: before.content_digest, content_digest_format: 2, files: 6});
      // 2 GiB of holes are neither read nor stored, and the agent is held for well under 3 s
      expect(archive.size).toBeLessThan(64 * 1024);
      expect(archive.quiesce.ms).toBeGreaterThan(0);
      expect(archive.quiesce.ms).toBeLessThan(3000);

      // every entry restorable, the archive's content digest the manifest's
      expect(JSON.parse((await cli(['dr', 'verify', id, '--json'])).stdout)).toMatchObject({ok: true, problems: []});
      const drill = JSON.parse((await cli(['dr', 'verify', id, '--drill', '--json'])).stdout);
      expect(drill).toMatchObject({
        ok: true,
        drill: [{volume: 'memory', ok: true, expected: before.content_digest, actual: before.content_digest}],
      });

      await cli(['dr', 'restore', id, '-out', 'plans/restore.json']);
      await cli(['approve', 'plans/restore.json', '--all', '--reason', 'corpus restore in a test']);
      expect(JSON.parse((await cli(['apply', 'plans/restore.json', '--json'])).stdout).status).toBe('succeeded');
      const restored = await volumeName();
      expect((await volumeContentDigest(docker, {volume: restored, labels: labels()})).content_digest).toBe(before.content_digest);
      const scan = await scanVolume(docker, {volume: restored, labels: labels()});
      expect(scan.apparent).toBeGreaterThan(2 ** 31);
      expect(scan.allocated).toBeLessThan(1024 * 1024);
      // the agent sees what it wrote: links verbatim, the hard link shared, its own modes
      const c = await keeperId();
      expect(await sh(c, 'readlink /data/up; readlink /data/abs')).toBe('../../../../\n/etc/passwd\n');
      expect(await sh(c, 'echo changed > /data/tree/a; cat /data/tree/deep/b')).toBe('changed\n');
      expect(await sh(c, 'stat -c "%a %u" /data/locked /data/closed /data/empty')).toBe('0 1000\n0 1000\n755 1000\n');
      expect(await sh(c, 'dd if=/data/sparse bs=1 skip=1000000 count=6 2>/dev/null')).toBe('middle');
    },
  );

  it('a FIFO fails the backup before any agent is paused, naming it; with dr.skip_special it is left out and listed', async () => {
    ws.write(YAML);
    await cli(['apply', '--auto-approve']);
    const c = await keeperId();
    await sh(c, 'echo keep > /data/file && mkfifo "/data/a pipe"');
    const since = Math.floor(Date.now() / 1000) - 1;
    const failed = await orx(['dr', 'backup', '--auto-approve'], {cwd: ws.dir});
    expect(failed.code).not.toBe(0);
    expect(noStack(failed.stderr)).toBe(true);
    const said = failed.stdout + failed.stderr;
    expect(said).toMatch(/\.\/a%20pipe \(fifo\)/);
    expect(said).toMatch(/dr\.skip_special/);
    expect(await pausesOf(c, since, Math.floor(Date.now() / 1000) + 1)).toBe(0);
    expect(JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups).toHaveLength(0);

    ws.write(YAML.replace('dr:\n', 'dr:\n  skip_special: true\n'));
    await cli(['dr', 'backup', '--auto-approve']);
    // the failed backup's partial directory (the ledger copy made beside it) is gone with the next one
    expect(fs.readdirSync(path.join(ws.dir, '.orx/backups')).filter((n) => n.startsWith('.partial-'))).toEqual([]);
    const {id, manifest} = await lastBackup();
    expect(manifest.archives[0]).toMatchObject({files: 1, skipped: [{kind: 'fifo', path: './a%20pipe'}]});
    expect(JSON.parse((await cli(['dr', 'verify', id, '--drill', '--json'])).stdout)).toMatchObject({ok: true});
  });

  it('a volume over dr.max_volume_bytes (apparent size) is not backed up, and nobody is paused', async () => {
    ws.write(YAML.replace('dr:\n', 'dr:\n  max_volume_bytes: 1GiB\n'));
    await cli(['apply', '--auto-approve']);
    const c = await keeperId();
    await sh(c, 'dd if=/dev/zero of=/data/sparse bs=1 count=0 seek=2147483648 2>/dev/null');
    const since = Math.floor(Date.now() / 1000) - 1;
    const failed = await orx(['dr', 'backup', '--auto-approve'], {cwd: ws.dir});
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/holds 2147483648 bytes .*more than dr\.max_volume_bytes \(1073741824 bytes\)/);
    expect(await pausesOf(c, since, Math.floor(Date.now() / 1000) + 1)).toBe(0);
  });
});
