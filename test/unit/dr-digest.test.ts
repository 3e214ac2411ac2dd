import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {TarDigest, type DigestFormat} from '../../src/dr/tar-digest.js';
import {OrxError} from '../../src/errors.js';

// tar-stream (a dependency of dockerode's tar-fs) writes the archives: an implementation
// independent of the parser under test. It ships no types; this is the part used here.
interface TarHeader {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  size?: number;
}
interface TarPack extends NodeJS.ReadableStream {
  entry(header: TarHeader, content?: Buffer | string, cb?: (err?: Error) => void): void;
  finalize(): void;
}
const tarStream = createRequire(import.meta.url)('tar-stream') as {pack(): TarPack};

interface Entry extends TarHeader {
  content?: string | Buffer;
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (b: Buffer) => chunks.push(b));
  const ended = new Promise((resolve) => pack.on('end', resolve));
  for (const {content, ...h} of entries) {
    pack.entry({mtime: new Date(1_700_000_000_000), uid: 0, gid: 0, ...h}, content ?? undefined);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** Feeds the tar in pieces of the given sizes (cycled), as a socket would. */
function digestOf(tar: Buffer, pieces: number[] = [65536], format: DigestFormat = 1) {
  const d = new TarDigest(format);
  for (let off = 0, i = 0; off < tar.length; i++) {
    const n = pieces[i % pieces.length];
    d.push(tar.subarray(off, off + n));
    off += n;
  }
  return d.end();
}

async function digest(entries: Entry[], pieces?: number[]) {
  return digestOf(await tarOf(entries), pieces);
}

// what the engine's GET archive of "<mount>/." looks like: "./" first, then its contents
const base = (): Entry[] => [
  {name: './', type: 'directory', mode: 0o755},
  {name: './a.txt', content: 'alpha\n', mode: 0o644},
  {name: './secret', content: 'key', mode: 0o600, uid: 1000, gid: 1000},
  {name: './sub/', type: 'directory', mode: 0o700},
  {name: './sub/run.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755},
  {name: './sub/empty', content: '', mode: 0o644},
  {name: './link', type: 'symlink', linkname: 'a.txt', mode: 0o777},
  {name: './hard', type: 'link', linkname: './a.txt', mode: 0o644},
];

function change(i: number, patch: Partial<Entry>): Entry[] {
  const e = base();
  e[i] = {...e[i], ...patch};
  return e;
}

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
/** The digest by its definition: lines sorted by their path, each ending in a newline. */
const ofLines = (lines: string[]) =>
  sha(
    [...lines]
      .sort((a, b) => (a.split(' ')[1] < b.split(' ')[1] ? -1 : 1))
      .map((l) => `${l}\n`)
      .join(''),
  );

describe("content digest of a tar stream, format 1 (backups made with the engine's archive stream)", () => {
  it('is exactly the documented line format', async () => {
    const lines = [
      `f a.txt 0644 0:0 6 ${sha('alpha\n')}`,
      'h hard 0644 0:0 - a.txt',
      'l link 0777 0:0 - a.txt',
      `f secret 0600 1000:1000 3 ${sha('key')}`,
      'd sub 0700 0:0 - -',
      `f sub/empty 0644 0:0 0 ${sha('')}`,
      `f sub/run.sh 0755 0:0 18 ${sha('#!/bin/sh\necho hi\n')}`,
    ];
    expect(await digest(base())).toEqual({content_digest: ofLines(lines), files: 4, bytes: 27});
  });

  it('is stable, whatever the chunking of the stream and the order of the entries', async () => {
    const tar = await tarOf(base());
    const d = digestOf(tar).content_digest;
    expect(digestOf(tar, [1]).content_digest).toBe(d);
    expect(digestOf(tar, [7, 511, 513, 1024, 3]).content_digest).toBe(d);
    const [root, ...rest] = base();
    expect((await digest([root, ...rest.reverse()])).content_digest).toBe(d);
    expect((await digest([rest[3], root, rest[1], rest[6], rest[0], rest[5], rest[2], rest[4]])).content_digest).toBe(d);
  });

  it('does not depend on mtimes or on the name of the root directory', async () => {
    const d = (await digest(base())).content_digest;
    expect((await digest(base().map((e) => ({...e, mtime: new Date(1_600_000_000_000)})))).content_digest).toBe(d);
    const renamed = base().map((e) => ({
      ...e,
      name: e.name.replace(/^\.\//, 'orx-volume/'),
      linkname: e.type === 'link' ? 'orx-volume/a.txt' : e.linkname,
    }));
    expect((await digest(renamed)).content_digest).toBe(d);
  });

  it('changes with any one of content, mode, size, symlink target, uid, gid, an added or a removed file', async () => {
    const variants: Record<string, Entry[]> = {
      base: base(),
      content: change(1, {content: 'alphA\n'}),
      mode: change(1, {mode: 0o640}),
      setuid: change(4, {mode: 0o4755}),
      size: change(1, {content: 'alpha\n\n'}),
      'symlink target': change(6, {linkname: 'secret'}),
      'hard link target': change(7, {linkname: './secret'}),
      uid: change(2, {uid: 1001}),
      gid: change(2, {gid: 0}),
      'dir mode': change(3, {mode: 0o755}),
      added: [...base(), {name: './sub/new', content: ''}],
      removed: base().filter((e) => e.name !== './sub/empty'),
      renamed: change(5, {name: './sub/empty2'}),
      'file to dir': change(5, {type: 'directory', mode: 0o644}),
    };
    const seen = new Map<string, string>();
    for (const [name, entries] of Object.entries(variants)) {
      const d = (await digest(entries)).content_digest;
      expect(seen.get(d), `${name} has the same digest as ${seen.get(d)}`).toBeUndefined();
      seen.set(d, name);
    }
  });

  it('reads long names from ustar prefixes and PAX headers, and counts files and bytes', async () => {
    const deep = `./${'d'.repeat(60)}/${'e'.repeat(60)}/file`; // fits with a ustar prefix
    const long = `./${'x'.repeat(150)}`; // one component over 100 bytes: a PAX path
    const big = Buffer.alloc(300_000, 7);
    const r = await digest([
      {name: './', type: 'directory'},
      {name: deep, content: 'deep'},
      {name: long, content: big},
      {name: './l', type: 'symlink', linkname: 'y'.repeat(120), mode: 0o777},
    ]);
    const lines = [
      `f ${deep.slice(2)} 0644 0:0 4 ${sha('deep')}`,
      `l l 0777 0:0 - ${'y'.repeat(120)}`,
      `f ${long.slice(2)} 0644 0:0 300000 ${sha(big)}`,
    ];
    expect(r).toEqual({content_digest: ofLines(lines), files: 2, bytes: 300_004});
  });

  it('escapes whitespace and control bytes in names, so a name cannot forge a line', async () => {
    const tricky = await digest([{name: './a b', content: 'x'}]);
    const plain = await digest([{name: './a%20b', content: 'x'}]);
    expect(tricky.content_digest).toBe(sha(`f a%20b 0644 0:0 1 ${sha('x')}\n`));
    // "%" itself is escaped, so the two differ
    expect(plain.content_digest).toBe(sha(`f a%2520b 0644 0:0 1 ${sha('x')}\n`));
    const forged = await digest([{name: `./a 0644 0:0 1 ${sha('x')}\nf b`, content: 'x'}]);
    const two = await digest([
      {name: './a', content: 'x'},
      {name: './b', content: 'x'},
    ]);
    expect(forged.content_digest).not.toBe(two.content_digest);
  });

  const gnuTar = /GNU tar/.test(spawnSync('tar', ['--version'], {encoding: 'utf8'}).stdout ?? '');
  it.skipIf(!gnuTar)('gives GNU tar and POSIX tar of the same directory the same digest', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-digest-'));
    try {
      fs.mkdirSync(path.join(dir, 'n'.repeat(120)));
      fs.writeFileSync(path.join(dir, 'n'.repeat(120), 'f'.repeat(110)), 'long');
      fs.symlinkSync('t'.repeat(130), path.join(dir, 'sym'));
      fs.writeFileSync(path.join(dir, 'plain'), 'p');
      fs.linkSync(path.join(dir, 'plain'), path.join(dir, 'plain-link'));
      const run = (format: string) => spawnSync('tar', [`--format=${format}`, '-cf', '-', '-C', dir, '.'], {maxBuffer: 1 << 24});
      const gnu = run('gnu');
      const posix = run('posix');
      expect(gnu.status).toBe(0);
      expect(posix.status).toBe(0);
      expect(gnu.stdout.equals(posix.stdout)).toBe(false);
      const d = digestOf(gnu.stdout, [100, 1000]);
      expect(d).toEqual(digestOf(posix.stdout));
      expect(d.files).toBe(2);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  it('rejects a truncated stream and a damaged header', async () => {
    const tar = await tarOf(base());
    const corrupt = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(OrxError);
        return (err as OrxError).code;
      }
      return 'no error';
    };
    expect(corrupt(() => digestOf(tar.subarray(0, 1024 + 100)))).toBe('dr_archive_corrupt');
    const damaged = Buffer.from(tar);
    damaged[512 + 10] ^= 1; // in the second header's name
    expect(corrupt(() => digestOf(damaged))).toBe('dr_archive_corrupt');
  });

  it('of nothing but the root is the digest of no lines', async () => {
    expect(await digest([{name: './', type: 'directory'}])).toEqual({content_digest: sha(''), files: 0, bytes: 0});
  });
});

const be64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
/** format 2's file detail by its definition: runs of non-zero 4096-byte blocks as offset, bytes, length */
function dataBlocks(content: Buffer): string {
  const h = createHash('sha256');
  let run: {at: number; parts: Buffer[]} | null = null;
  const close = () => {
    if (!run) return;
    const bytes = Buffer.concat(run.parts);
    h.update(Buffer.concat([be64(run.at), bytes, be64(bytes.length)]));
    run = null;
  };
  for (let at = 0; at < content.length; at += 4096) {
    const block = content.subarray(at, at + 4096);
    if (block.every((b) => b === 0)) close();
    else (run ??= {at, parts: []}).parts.push(block);
  }
  close();
  return h.digest('hex');
}

const gnuTar2 = /GNU tar/.test(spawnSync('tar', ['--version'], {encoding: 'utf8'}).stdout ?? '');

describe("content digest, format 2 (orx's helper)", () => {
  const d2 = (tar: Buffer, pieces?: number[]) => digestOf(tar, pieces, 2);

  it('is exactly the documented line format: mtimes of files, directories and links, data blocks of files', async () => {
    const t = '1700000000.000000000';
    const lines = [
      `f a.txt 0644 0:0 6 ${t} ${dataBlocks(Buffer.from('alpha\n'))}`,
      'h hard 0644 0:0 - - a.txt',
      `l link 0777 0:0 - ${t} a.txt`,
      `f secret 0600 1000:1000 3 ${t} ${dataBlocks(Buffer.from('key'))}`,
      `d sub 0700 0:0 - ${t} -`,
      `f sub/empty 0644 0:0 0 ${t} ${sha('')}`,
      `f sub/run.sh 0755 0:0 18 ${t} ${dataBlocks(Buffer.from('#!/bin/sh\necho hi\n'))}`,
    ];
    expect(d2(await tarOf(base()))).toEqual({content_digest: ofLines(lines), files: 4, bytes: 27});
    // an mtime is part of it now: the helper restores them
    expect(d2(await tarOf(base().map((e) => ({...e, mtime: new Date(1_600_000_000_000)})))).content_digest).not.toBe(ofLines(lines));
  });

  it('counts zero blocks as holes wherever they are, and the offset of every run of data', async () => {
    const file = (bytes: Array<[number, string]>, size: number) => {
      const b = Buffer.alloc(size);
      for (const [at, s] of bytes) b.write(s, at);
      return b;
    };
    const d2Tar = (content: Buffer) =>
      tarOf([
        {name: './', type: 'directory'},
        {name: './f', content},
      ]).then((t) => d2(t, [4096 + 100, 7, 1]).content_digest);
    const a = file(
      [
        [5, 'x'],
        [3 * 4096 + 9, 'y'],
      ],
      10 * 4096 + 17,
    );
    const line = (content: Buffer) => ofLines([`f f 0644 0:0 ${content.length} 1700000000.000000000 ${dataBlocks(content)}`]);
    expect(await d2Tar(a)).toBe(line(a));
    // the same bytes one block later is another file
    expect(
      await d2Tar(
        file(
          [
            [5, 'x'],
            [4 * 4096 + 9, 'y'],
          ],
          10 * 4096 + 17,
        ),
      ),
    ).not.toBe(line(a));
    // a file of nothing but zeros hashes no data, but its size still counts
    expect(dataBlocks(Buffer.alloc(9000))).toBe(sha(''));
    expect(await d2Tar(Buffer.alloc(9000))).not.toBe(await d2Tar(Buffer.alloc(9001)));
  });

  it.skipIf(!gnuTar2)(
    'gives a sparse file (GNU sparse 1.0) and the same file with its zeros written the same digest, however it is chunked',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-digest-'));
      try {
        const f = path.join(dir, 'sparse');
        const fd = fs.openSync(f, 'w');
        fs.writeSync(fd, 'middle', 3_000_000);
        fs.writeSync(fd, 'end', 40_000_000 - 3);
        fs.ftruncateSync(fd, 40_000_000);
        fs.closeSync(fd);
        fs.writeFileSync(path.join(dir, 'small'), 'x');
        const run = (...args: string[]) =>
          spawnSync('tar', ['--format=posix', '--numeric-owner', ...args, '-cf', '-', '-C', dir, '.'], {maxBuffer: 1 << 27});
        const sparse = run('--sparse', '--sparse-version=1.0');
        const dense = run();
        expect(sparse.status).toBe(0);
        expect(sparse.stdout.length).toBeLessThan(1_000_000);
        expect(dense.stdout.length).toBeGreaterThan(40_000_000);
        expect(sparse.stdout.includes('GNU.sparse.major=1')).toBe(true);
        const d = d2(dense.stdout);
        expect(d2(sparse.stdout)).toEqual(d);
        expect(d2(sparse.stdout, [1])).toEqual(d);
        expect(d2(sparse.stdout, [7, 511, 513, 4095])).toEqual(d);
        expect(d.bytes).toBe(40_000_001);
        // format 1 reads the sparse entry as the whole file too
        expect(digestOf(sparse.stdout, [65536], 1)).toEqual(digestOf(dense.stdout, [65536], 1));
      } finally {
        fs.rmSync(dir, {recursive: true, force: true});
      }
    },
  );
});
