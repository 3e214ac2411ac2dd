import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Dockerode from 'dockerode';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {backupVolume, fileSha256, restoreVolume, volumeContentDigest} from '../../src/dr/archive.js';
import {docker, makeWorkspace, removeWorkspaceObjects, type TestWorkspace} from '../helpers/workspace.js';
import {caughtAsync} from '../helpers/errors.js';

// One volume filled once (by a container of the test image, as root): 500 small files, a
// 20 MB file of random bytes, a hard link to it, a symlink, files of mode 0600, 0755 and
// 4755, a 0700 directory, a sticky 1777 directory, files owned by 1000 and by root.
const FILL = `set -e
cd /v
mkdir many
i=0
while [ $i -lt 500 ]; do echo "small file $i" > many/f$i.txt; i=$((i+1)); done
head -c 20000000 /dev/urandom > big.bin
ln big.bin big-hardlink
echo secret > secret.txt && chmod 600 secret.txt
printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod 755 run.sh
cp run.sh suid.sh && chmod 4755 suid.sh
mkdir private && chmod 700 private && echo inside > private/inside.txt
mkdir shared && chmod 1777 shared
ln -s secret.txt link-to-secret
echo mine > owned-by-1000 && chown 1000:1000 owned-by-1000 many
echo root > owned-by-root
`;

const HELPER = 'io.orchestrix.dr-helper=1';
let ws: TestWorkspace;
let image: string;
let source: string;
const labels = () => ({'io.orchestrix.workspace': ws.name});

async function runAsRoot(volume: string, script: string): Promise<void> {
  const c = await docker.createContainer({
    Image: image,
    User: '0:0',
    Cmd: ['/bin/sh', '-c', script],
    Labels: labels(),
    HostConfig: {NetworkMode: 'none', Mounts: [{Type: 'volume', Source: volume, Target: '/v'}]},
  });
  try {
    await c.start();
    const {StatusCode} = (await c.wait()) as {StatusCode: number};
    expect(StatusCode).toBe(0);
  } finally {
    await c.remove({force: true});
  }
}

async function newVolume(name: string): Promise<string> {
  const v = `orx-test-${ws.name}-${name}`;
  await docker.createVolume({Name: v, Labels: labels()});
  return v;
}

async function helpers(): Promise<number> {
  return (await docker.listContainers({all: true, filters: {label: [HELPER, `io.orchestrix.workspace=${ws.name}`]}})).length;
}

beforeAll(async () => {
  ws = makeWorkspace('dr');
  image = `orx-test-${ws.name}:1`;
  const ctx = path.join(ws.dir, 'images/agent-base');
  const stream = await docker.buildImage({context: ctx, src: fs.readdirSync(ctx)}, {t: image, labels: labels()});
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(undefined))),
  );
  source = await newVolume('source');
  await runAsRoot(source, FILL);
});

// every test's own volumes are removed after it; the image and the source volume after all
const perTest: string[] = [];
afterEach(async () => {
  for (const v of perTest.splice(0))
    await docker
      .getVolume(v)
      .remove({force: true})
      .catch(() => undefined);
  const left = await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});
  await Promise.all(
    left.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({force: true})
        .catch(() => undefined),
    ),
  );
  for (const f of fs.readdirSync(ws.dir)) if (f.endsWith('.tar.gz')) fs.rmSync(path.join(ws.dir, f), {force: true});
});
afterAll(async () => {
  if (!ws) return;
  await removeWorkspaceObjects(ws.name);
  await docker
    .getImage(image)
    .remove({force: true})
    .catch(() => undefined);
  await ws.cleanup();
});

describe('volume backup and restore through the helper', () => {
  it('backs up a volume: the file matches the size and sha256 returned, the content digest the volume', async () => {
    const dest = path.join(ws.dir, 'a.tar.gz');
    let calls = 0;
    const t0 = Date.now();
    const a = await backupVolume(docker, {volume: source, dest, labels: labels(), onProgress: () => void calls++});
    const ms = Date.now() - t0;

    const st = fs.statSync(dest);
    expect(a.size).toBe(st.size);
    expect(st.mode & 0o777).toBe(0o600);
    expect(a.sha256).toBe(await fileSha256(dest));
    expect(a.files).toBe(500 + 7);
    expect(a.bytes).toBeGreaterThan(20_000_000);
    // random bytes are stored (a few bytes per 64 KiB block), the rest compresses
    expect(a.size).toBeGreaterThan(20_000_000);
    expect(a.size).toBeLessThan(a.bytes + 64 * 1024);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(Math.ceil(ms / 100) + 1);

    const now = await volumeContentDigest(docker, {volume: source, labels: labels()});
    expect(now).toEqual({content_digest: a.content_digest, files: a.files, bytes: a.bytes});
    expect(await helpers()).toBe(0);

    // a standard tar.gz (several gzip members) that GNU tar lists with what was in the volume
    const list = spawnSync('tar', ['-tzvf', dest, '--numeric-owner'], {encoding: 'utf8', maxBuffer: 1 << 24});
    expect(list.status).toBe(0);
    const line = (name: string) => list.stdout.split('\n').find((l) => l.endsWith(` ./${name}`) || l.includes(` ./${name} `)) ?? '';
    expect(line('secret.txt')).toMatch(/^-rw------- 0\/0 /);
    expect(line('run.sh')).toMatch(/^-rwxr-xr-x 0\/0 /);
    expect(line('suid.sh')).toMatch(/^-rwsr-xr-x 0\/0 /);
    expect(line('private/')).toMatch(/^drwx------ 0\/0 /);
    expect(line('shared/')).toMatch(/^drwxrwxrwt 0\/0 /);
    expect(line('owned-by-1000')).toMatch(/^-rw-r--r-- 1000\/1000 /);
    expect(line('link-to-secret')).toMatch(/^lrwxrwxrwx 0\/0 .* -> secret.txt$/);
    // which of the two names is the link depends on the order the engine walks them in
    expect([line('big-hardlink'), line('big.bin')].filter((l) => /^h.* link to \.\/big(-hardlink|\.bin)$/.test(l))).toHaveLength(1);
    expect(list.stdout.split('\n').filter((l) => l.includes(' ./many/f')).length).toBe(500);

    // the same volume gives the same bytes
    const again = await backupVolume(docker, {volume: source, dest: path.join(ws.dir, 'b.tar.gz'), labels: labels()});
    expect(again.sha256).toBe(a.sha256);
  });

  it('restores into a fresh volume with the same content digest', async () => {
    const dest = path.join(ws.dir, 'r.tar.gz');
    const a = await backupVolume(docker, {volume: source, dest, labels: labels()});
    const target = await newVolume('restored');
    perTest.push(target);
    await restoreVolume(docker, {volume: target, archive: dest, sha256: a.sha256, labels: labels()});
    expect(await volumeContentDigest(docker, {volume: target, labels: labels()})).toEqual({
      content_digest: a.content_digest,
      files: a.files,
      bytes: a.bytes,
    });
    expect(await helpers()).toBe(0);
  });

  it('refuses an archive whose sha256 does not match, naming the file, before writing anything', async () => {
    const dest = path.join(ws.dir, 'c.tar.gz');
    const a = await backupVolume(docker, {volume: source, dest, labels: labels()});
    const fd = fs.openSync(dest, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, Math.floor(a.size / 2));
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, Math.floor(a.size / 2));
    fs.closeSync(fd);

    const target = await newVolume('untouched');
    perTest.push(target);
    const err = await caughtAsync(restoreVolume(docker, {volume: target, archive: dest, sha256: a.sha256, labels: labels()}));
    expect(err.code).toBe('dr_archive_mismatch');
    expect(err.message).toContain(dest);
    expect(await volumeContentDigest(docker, {volume: target, labels: labels()})).toMatchObject({files: 0, bytes: 0});
    expect(await helpers()).toBe(0);
  });

  it('runs the helper hardened: volume and root read-only, no network, one capability, no new privileges, labelled', async () => {
    const dest = path.join(ws.dir, 'd.tar.gz');
    let seen: Dockerode.ContainerInspectInfo | undefined;
    await backupVolume(docker, {
      volume: source,
      dest,
      labels: labels(),
      onProgress: async () => {
        if (seen) return;
        const [h] = await docker.listContainers({all: true, filters: {label: [HELPER, `io.orchestrix.workspace=${ws.name}`]}});
        if (h) seen = await docker.getContainer(h.Id).inspect();
      },
    });
    expect(seen).toBeDefined();
    const info = seen!;
    expect(info.Mounts.find((m) => m.Name === source)?.RW).toBe(false);
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      CapAdd: ['DAC_READ_SEARCH'],
      SecurityOpt: ['no-new-privileges'],
      // a literal, not the source's constant: runc's init needs room for its threads (4 aborted under load)
      PidsLimit: 64,
      LogConfig: {Type: 'none'},
    });
    expect(info.Config.Labels).toMatchObject({...labels(), 'io.orchestrix.dr-helper': '1'});
    expect(info.Config.Image).toMatch(/^orx-dr-helper:[0-9a-f]{32}$/);
    expect(await helpers()).toBe(0);
  });

  it('stops on abort: no archive left behind, no helper', async () => {
    const dest = path.join(ws.dir, 'e.tar.gz');
    const ac = new AbortController();
    const err = await caughtAsync(
      backupVolume(docker, {volume: source, dest, labels: labels(), signal: ac.signal, onProgress: () => ac.abort()}),
    );
    expect(err.code).toBe('interrupted');
    expect(fs.existsSync(dest)).toBe(false);
    expect(await helpers()).toBe(0);
  });

  it('fails clearly on a missing volume and an existing destination', async () => {
    const dest = path.join(ws.dir, 'f.tar.gz');
    const noVolume = await caughtAsync(backupVolume(docker, {volume: `orx-test-${ws.name}-nothing`, dest, labels: labels()}));
    expect(noVolume.code).toBe('not_found');
    expect(noVolume.message).toContain('nothing');
    // the mount did not create it
    expect((await docker.listVolumes()).Volumes.some((v) => v.Name === `orx-test-${ws.name}-nothing`)).toBe(false);
    expect(fs.existsSync(dest)).toBe(false);

    fs.writeFileSync(dest, 'keep');
    const exists = await caughtAsync(backupVolume(docker, {volume: source, dest, labels: labels()}));
    expect(exists.code).toBe('file_error');
    expect(fs.readFileSync(dest, 'utf8')).toBe('keep');
    expect(await helpers()).toBe(0);
  });

  it('gives the same archive, and restores it, when the engine is reached over TCP (no local pipe: the attach stream)', async () => {
    // a TCP endpoint on 127.0.0.1 in front of the engine's socket
    const socketPath = await (docker.modem as unknown as {getSocketPath(): Promise<string>}).getSocketPath();
    const proxy = net.createServer((client) => {
      const engine = net.connect(socketPath);
      client.pipe(engine).pipe(client);
      client.on('error', () => engine.destroy());
      engine.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const tcp = new Dockerode({host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port});
      const viaSocket = await backupVolume(docker, {volume: source, dest: path.join(ws.dir, 'g.tar.gz'), labels: labels()});
      const viaTcp = await backupVolume(tcp, {volume: source, dest: path.join(ws.dir, 'h.tar.gz'), labels: labels()});
      expect(viaTcp).toEqual(viaSocket);
      expect(await volumeContentDigest(tcp, {volume: source, labels: labels()})).toMatchObject({content_digest: viaSocket.content_digest});
      // and a restore feeds the helper through the attach stream's stdin
      const target = await newVolume('via-tcp');
      perTest.push(target);
      await restoreVolume(tcp, {volume: target, archive: path.join(ws.dir, 'h.tar.gz'), sha256: viaTcp.sha256, labels: labels()});
      expect(await volumeContentDigest(docker, {volume: target, labels: labels()})).toMatchObject({
        content_digest: viaSocket.content_digest,
      });
      expect(await helpers()).toBe(0);
    } finally {
      proxy.close();
    }
  });
});
