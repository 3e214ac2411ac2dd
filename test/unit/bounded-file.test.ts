// The one bounded reader: special files are refused without blocking, reads stop at the
// limit whatever size a file reports, and a growing file is caught.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {FileReadError, readBoundedFile, streamRegularFile} from '../../src/util/bounded-file.js';
import {listContextFiles} from '../../src/config/build-context.js';
import {cpuMs} from '../helpers/cpu-time.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-bounded-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

function refusal(fn: () => unknown): FileReadError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FileReadError) return err;
    throw err;
  }
  throw new Error('expected a FileReadError');
}

function mkfifo(p: string): boolean {
  return spawnSync('mkfifo', [p]).status === 0;
}

describe('readBoundedFile', () => {
  it('reads a regular file whole when it fits, and refuses one byte more', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'ok'), 'x'.repeat(100));
    expect(readBoundedFile(path.join(d, 'ok'), 100).length).toBe(100);
    const e = refusal(() => readBoundedFile(path.join(d, 'ok'), 99));
    expect(e.reason).toBe('too_large');
    expect(e.size).toBe(100);
  });

  it('refuses /dev/zero at once without reading it', () => {
    const {value: e, ms} = cpuMs(() => refusal(() => readBoundedFile('/dev/zero', 64 * 1024 * 1024)));
    expect(ms).toBeLessThan(1000);
    expect(e.reason).toBe('special');
    expect(e.message).toBe('/dev/zero is a character device, not a regular file; orx reads only regular files');
  });

  it('refuses a FIFO without blocking on it (no writer ever comes)', () => {
    const d = tmp();
    const fifo = path.join(d, 'pipe');
    if (!mkfifo(fifo)) return; // no mkfifo here
    const {value: e, ms} = cpuMs(() => refusal(() => readBoundedFile(fifo, 1024, {label: 'plan file pipe'})));
    expect(ms).toBeLessThan(1000);
    expect(e.message).toBe('plan file pipe is a FIFO (named pipe), not a regular file; orx reads only regular files');
    expect(refusal(() => streamRegularFile(fifo, () => undefined)).reason).toBe('special');
  });

  it('refuses a socket and a directory, and names a missing file', async () => {
    const d = tmp();
    const sock = path.join(d, 's.sock');
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    try {
      expect(refusal(() => readBoundedFile(sock, 10)).message).toMatch(/s\.sock is a socket, not a regular file/);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    expect(refusal(() => readBoundedFile(d, 10)).reason).toBe('directory');
    const missing = refusal(() => readBoundedFile(path.join(d, 'nope'), 10));
    expect(missing.reason).toBe('missing');
    expect(missing.errno).toBe('ENOENT');
  });

  it('a 10 GB sparse file is refused by its size in milliseconds', () => {
    const d = tmp();
    const big = path.join(d, 'big');
    const fd = fs.openSync(big, 'w');
    fs.ftruncateSync(fd, 10 * 1024 ** 3);
    fs.closeSync(fd);
    const {value: e, ms} = cpuMs(() => refusal(() => readBoundedFile(big, 64 * 1024 * 1024)));
    expect(ms).toBeLessThan(1000);
    expect(e.reason).toBe('too_large');
  });

  it('a file that reports size 0 but has content (like /proc) is still bounded', () => {
    if (!fs.existsSync('/proc/self/status')) return;
    expect(fs.statSync('/proc/self/status').size).toBe(0);
    expect(readBoundedFile('/proc/self/status', 64 * 1024).toString()).toMatch(/^Name:/);
    expect(refusal(() => readBoundedFile('/proc/self/status', 16)).reason).toBe('too_large');
  });

  it('follows a symlink to a regular file, refuses one to a FIFO', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'real'), 'hello');
    fs.symlinkSync('real', path.join(d, 'link'));
    expect(readBoundedFile(path.join(d, 'link'), 10).toString()).toBe('hello');
    if (!mkfifo(path.join(d, 'pipe'))) return;
    fs.symlinkSync('pipe', path.join(d, 'to-pipe'));
    expect(refusal(() => readBoundedFile(path.join(d, 'to-pipe'), 10)).reason).toBe('special');
  });
});

describe('listContextFiles', () => {
  it('lists what Docker receives, after .dockerignore', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'Dockerfile'), 'FROM scratch\n');
    fs.writeFileSync(path.join(d, '.dockerignore'), 'skip\n');
    fs.mkdirSync(path.join(d, 'skip'));
    fs.writeFileSync(path.join(d, 'skip', 'x'), 'x');
    fs.mkdirSync(path.join(d, 'sub'));
    fs.writeFileSync(path.join(d, 'sub', 'a'), 'a');
    expect(listContextFiles(d)).toEqual({ok: true, files: ['.dockerignore', 'Dockerfile', 'sub/a']});
  });

  it('refuses a FIFO anywhere in the context by its path, at once', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'Dockerfile'), 'FROM scratch\n');
    fs.mkdirSync(path.join(d, 'deep', 'er'), {recursive: true});
    if (!mkfifo(path.join(d, 'deep', 'er', 'pipe'))) return;
    const {value: r, ms} = cpuMs(() => listContextFiles(d, 'images/app'));
    expect(ms).toBeLessThan(1000);
    expect(r).toEqual({ok: false, error: expect.stringContaining('"images/app/deep/er/pipe" is a FIFO (named pipe)')});
  });

  it('refuses a .dockerignore that is a FIFO instead of waiting for a writer', () => {
    const d = tmp();
    if (!mkfifo(path.join(d, '.dockerignore'))) return;
    expect(listContextFiles(d, 'ctx')).toEqual({ok: false, error: expect.stringContaining('"ctx/.dockerignore" is a FIFO')});
  });
});
