// `orx dr verify` reads every archive entry as the helper's unpack would: the first one a
// restore could not put back faithfully is named, with why.
import {createRequire} from 'node:module';
import {describe, expect, it} from 'vitest';
import {RestoreCheck} from '../../src/dr/restorable.js';
import {TarDigest} from '../../src/dr/tar-digest.js';

interface TarHeader {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device';
  mode?: number;
  linkname?: string;
}
interface TarPack extends NodeJS.ReadableStream {
  entry(header: TarHeader, content?: Buffer | string): void;
  finalize(): void;
}
const tarStream = createRequire(import.meta.url)('tar-stream') as {pack(): TarPack};

async function check(entries: Array<TarHeader & {content?: string}>): Promise<{path: string; reason: string} | null> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (b: Buffer) => chunks.push(b));
  const ended = new Promise((resolve) => pack.on('end', resolve));
  for (const {content, ...h} of entries) pack.entry({mode: 0o644, ...h}, content);
  pack.finalize();
  await ended;
  const c = new RestoreCheck();
  const d = new TarDigest(2, c.onEntry);
  d.push(Buffer.concat(chunks));
  d.end();
  return c.finish();
}

const root = {name: './', type: 'directory' as const, mode: 0o755};

describe('restorability of an archive', () => {
  it('accepts what the helper writes: links with any target, hard links to earlier files, empty dirs, odd names', async () => {
    expect(
      await check([
        root,
        {name: './up', type: 'symlink', linkname: '../../../../'},
        {name: './abs', type: 'symlink', linkname: '/etc/passwd'},
        {name: './d/', type: 'directory'},
        {name: './d/a', content: 'x'},
        {name: './d/b', type: 'link', linkname: './d/a'},
        {name: './empty/', type: 'directory'},
        {name: './new\nline', content: 'y'},
      ]),
    ).toBeNull();
  });

  it('names the first entry that would leave the volume, pass through a link, or cannot be made', async () => {
    const cases: Array<[Array<TarHeader & {content?: string}>, string, RegExp]> = [
      [[root, {name: '../escape', content: 'x'}], '../escape', /leaves the volume/],
      [[root, {name: '/etc/cron.d/x', content: 'x'}], '/etc/cron.d/x', /absolute path/],
      [[root, {name: './a/../../x', content: 'x'}], './a/../../x', /"\.\." component/],
      [
        [root, {name: './l', type: 'symlink', linkname: '/etc'}, {name: './l/passwd', content: 'x'}],
        './l/passwd',
        /passes through a symlink/,
      ],
      [[root, {name: './f', content: 'x'}, {name: './f/g', content: 'x'}], './f/g', /passes through a symlink or a file/],
      [[root, {name: './missing/x', content: 'x'}], './missing/x', /not in the archive before it/],
      [[root, {name: './pipe', type: 'fifo'}], './pipe', /a FIFO cannot be restored faithfully/],
      [[root, {name: './tty', type: 'character-device'}], './tty', /character device/],
      [[root, {name: './h', type: 'link', linkname: './nothing'}], './h', /hard link target is not a file earlier/],
      [
        [root, {name: './s', type: 'symlink', linkname: 'x'}, {name: './h', type: 'link', linkname: './s'}],
        './h',
        /hard link target is not a file/,
      ],
      [[root, {name: './h', type: 'link', linkname: '../outside'}], './h', /hard link target: it leaves the volume/],
      [[root, {name: './twice', content: 'x'}, {name: './twice', content: 'y'}], './twice', /appears twice/],
      [[root, {name: './odd\tname', type: 'fifo'}], './odd%09name', /FIFO/],
      [[{name: './a', content: 'x'}], '.', /no entry for the volume root/],
    ];
    for (const [entries, path, reason] of cases) {
      const p = await check(entries);
      expect(p, path).not.toBeNull();
      expect(p!.path).toBe(path);
      expect(p!.reason).toMatch(reason);
    }
  });
});
