// orx's volume helper against the real engine: its unpack refuses any archive entry that
// could write outside the volume or that it cannot restore faithfully (naming it, as
// `orx dr verify` does from the file alone), archives made before it (the engine's own tar)
// still restore, and its scan finds what no restore could put back.
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {backupVolume, inspectArchive, restoreVolume, scanVolume, TarDigest, volumeContentDigest} from '../../src/dr/archive.js';
import {helperImage} from '../../src/dr/helper.js';
import {docker, makeWorkspace, removeWorkspaceObjects, type TestWorkspace} from '../helpers/workspace.js';
import {caughtAsync} from '../helpers/errors.js';

interface TarHeader {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo';
  mode?: number;
  linkname?: string;
}
interface TarPack extends NodeJS.ReadableStream {
  entry(header: TarHeader, content?: Buffer | string): void;
  finalize(): void;
}
const tarStream = createRequire(import.meta.url)('tar-stream') as {pack(): TarPack};

let ws: TestWorkspace;
let image: string;
const labels = () => ({'io.orchestrix.workspace': ws.name});
const volumes: string[] = [];

async function newVolume(name: string): Promise<string> {
  const v = `orx-test-${ws.name}-${name}`;
  await docker.createVolume({Name: v, Labels: labels()});
  volumes.push(v);
  return v;
}

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
    expect(((await c.wait()) as {StatusCode: number}).StatusCode).toBe(0);
  } finally {
    await c.remove({force: true});
  }
}

async function archiveOf(entries: Array<TarHeader & {content?: string}>, name: string): Promise<string> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (b: Buffer) => chunks.push(b));
  const ended = new Promise((resolve) => pack.on('end', resolve));
  for (const {content, ...h} of entries) pack.entry({mode: 0o644, ...h}, content);
  pack.finalize();
  await ended;
  const file = path.join(ws.dir, `${name}.tar.gz`);
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(chunks)));
  return file;
}

beforeAll(async () => {
  ws = makeWorkspace('drh');
  image = `orx-test-${ws.name}:1`;
  const ctx = path.join(ws.dir, 'images/agent-base');
  const stream = await docker.buildImage({context: ctx, src: fs.readdirSync(ctx)}, {t: image, labels: labels()});
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(undefined))),
  );
});
afterEach(async () => {
  for (const v of volumes.splice(0))
    await docker
      .getVolume(v)
      .remove({force: true})
      .catch(() => undefined);
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

const root = {name: './', type: 'directory' as const, mode: 0o755};

describe('the volume helper', () => {
  it('refuses entries that leave the volume, pass through a link, or cannot be restored, naming them as verify does', async () => {
    const cases: Array<[string, Array<TarHeader & {content?: string}>, string, RegExp]> = [
      ['dotdot', [root, {name: '../escape', content: 'x'}], '../escape', /leaves the volume/],
      ['absolute', [root, {name: '/etc/x', content: 'x'}], '/etc/x', /absolute path/],
      ['inner-dotdot', [root, {name: './a/', type: 'directory'}, {name: './a/../../x', content: 'x'}], './a/../../x', /"\.\." component/],
      [
        'through-link',
        [root, {name: './l', type: 'symlink', linkname: '/'}, {name: './l/planted', content: 'x'}],
        './l/planted',
        /passes through a symlink/,
      ],
      ['fifo', [root, {name: './pipe', type: 'fifo'}], './pipe', /not a file, directory or link|FIFO/],
      ['hardlink-out', [root, {name: './h', type: 'link', linkname: '../../etc/passwd'}], './h', /leaves the volume/],
      ['twice', [root, {name: './t', content: 'x'}, {name: './t', content: 'y'}], './t', /appears twice/],
    ];
    for (const [name, entries, where, why] of cases) {
      const file = await archiveOf(entries, name);
      const seen = await inspectArchive(file, 2);
      expect(seen.unrestorable, name).toMatchObject({path: where});
      expect(seen.unrestorable!.reason, name).toMatch(why);
      const target = await newVolume(name);
      const err = await caughtAsync(restoreVolume(docker, {volume: target, archive: file, labels: labels()}));
      expect(err.code, name).toBe('dr_helper_failed');
      expect(err.message, name).toContain(where);
      expect(err.message, name).toMatch(why);
    }
    // nothing reached the helper's own filesystem (read-only) or another volume: the planted file is nowhere
    expect(await helperLeftovers()).toBe(0);
  });

  it("restores an archive made before the helper (the engine's tar, content digest format 1)", async () => {
    const source = await newVolume('old');
    await runAsRoot(
      source,
      'set -e; cd /v; mkdir d; echo a > d/a; ln d/a d/b; ln -s ../x up; chmod 600 d/a; chown 1000:1000 d; head -c 100000 /dev/urandom > r',
    );
    const c = await docker.createContainer({
      Image: await helperImage(docker),
      Cmd: ['/never'],
      Labels: labels(),
      HostConfig: {Mounts: [{Type: 'volume', Source: source, Target: '/orx-volume', ReadOnly: true}]},
    });
    let tar: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of (await c.getArchive({path: '/orx-volume/.'})) as AsyncIterable<Buffer>) chunks.push(chunk);
      tar = Buffer.concat(chunks);
    } finally {
      await c.remove({force: true});
    }
    const old = new TarDigest(1);
    old.push(tar);
    const recorded = old.end();
    const file = path.join(ws.dir, 'old.tar.gz');
    fs.writeFileSync(file, zlib.gzipSync(tar));
    expect(await inspectArchive(file, 1)).toMatchObject({content_digest: recorded.content_digest, unrestorable: null});
    const target = await newVolume('old-restored');
    await restoreVolume(docker, {volume: target, archive: file, labels: labels()});
    expect(await volumeContentDigest(docker, {volume: target, format: 1, labels: labels()})).toEqual(recorded);
  });

  it('scans without following links and names FIFOs and devices; pack fails on them, or leaves them out with skip', async () => {
    const v = await newVolume('special');
    await runAsRoot(
      v,
      'set -e; cd /v; echo x > f; mkfifo p; mknod null c 1 3; ln -s / root-link; dd if=/dev/zero of=s bs=1 count=0 seek=1073741824 2>/dev/null',
    );
    const scan = await scanVolume(docker, {volume: v, labels: labels()});
    expect(scan).toMatchObject({
      apparent: 2 + 1024 ** 3,
      entries: 5,
      special_count: 2,
      specials: [
        {kind: 'char-device', path: './null'},
        {kind: 'fifo', path: './p'},
      ],
    });
    expect(scan.allocated).toBeLessThan(64 * 1024);
    const refused = await caughtAsync(backupVolume(docker, {volume: v, dest: path.join(ws.dir, 'special.tar.gz'), labels: labels()}));
    expect(refused.message).toMatch(/\.\/null: a char-device cannot be restored faithfully/);
    expect(fs.existsSync(path.join(ws.dir, 'special.tar.gz'))).toBe(false);
    const skipped = await backupVolume(docker, {volume: v, dest: path.join(ws.dir, 'skipped.tar.gz'), skipSpecial: true, labels: labels()});
    expect(skipped).toMatchObject({files: 2, bytes: 2 + 1024 ** 3});
    expect(skipped.size).toBeLessThan(4096);
    expect((await inspectArchive(path.join(ws.dir, 'skipped.tar.gz'), 2)).unrestorable).toBeNull();
    expect(await helperLeftovers()).toBe(0);
  });
});

async function helperLeftovers(): Promise<number> {
  return (await docker.listContainers({all: true, filters: {label: ['io.orchestrix.dr-helper=1', `io.orchestrix.workspace=${ws.name}`]}}))
    .length;
}
