// The one way orx reads a file someone else may have put in its way (plans, bundles, keys,
// manifests, kind configs, build contexts). A FIFO would block the open or the read forever,
// /dev/zero or /proc files report size 0 and never end, and a regular file may grow after
// it was measured: so the path is refused unless it is a regular file, opened without
// blocking, checked again on the descriptor, and read to at most `max` + 1 bytes whatever
// its reported size says.
import fs from 'node:fs';

export type FileRefusal = 'missing' | 'directory' | 'special' | 'too_large' | 'unreadable';

/** Why a file was not read; `message` names the path as the caller showed it. */
export class FileReadError extends Error {
  constructor(
    readonly reason: FileRefusal,
    readonly path: string,
    message: string,
    /** the errno code, when the system refused */
    readonly errno?: string,
    /** too_large: the size the file reported, when that was already too much */
    readonly size?: number,
  ) {
    super(message);
    this.name = 'FileReadError';
  }
}

export interface ReadOptions {
  /** how messages name the file (default: the path as given) */
  label?: string;
}

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (fs.constants.O_NOCTTY ?? 0);
const CHUNK = 64 * 1024;

/** What a non-regular file is, in words: "a FIFO", "a socket", ... */
export function fileTypeName(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function refuseType(st: fs.Stats, file: string, label: string): FileReadError {
  return st.isDirectory()
    ? new FileReadError('directory', file, `${label} is a directory, not a regular file`)
    : new FileReadError('special', file, `${label} is ${fileTypeName(st)}, not a regular file; orx reads only regular files`);
}

function systemError(err: unknown, file: string, label: string): FileReadError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FileReadError('missing', file, `${label} does not exist`, code);
  if (code === 'EISDIR') return new FileReadError('directory', file, `${label} is a directory, not a regular file`, code);
  // opening a socket fails with ENXIO; a device may refuse with its own code
  if (code === 'ENXIO' || code === 'ENODEV' || code === 'EOPNOTSUPP')
    return new FileReadError('special', file, `${label} is not a regular file; orx reads only regular files`, code);
  return new FileReadError('unreadable', file, `cannot read ${label}: ${code ?? (err as Error).message}`, code);
}

function tooLarge(file: string, label: string, max: number, size?: number): FileReadError {
  return new FileReadError(
    'too_large',
    file,
    `${label} is too large (${size !== undefined ? `${size} bytes; ` : 'more than '}at most ${max} bytes)`,
    undefined,
    size,
  );
}

/**
 * Opens `file` for reading only if it is a regular file; the caller must close the descriptor.
 * The path is stat'ed first so that a FIFO or device is never opened at all, then opened
 * non-blocking and checked again on the descriptor, so that a swap in between is caught.
 */
export function openRegularFile(file: string, opts: ReadOptions = {}): {fd: number; stat: fs.Stats} {
  const label = opts.label ?? file;
  let before: fs.Stats;
  try {
    before = fs.statSync(file);
  } catch (err) {
    throw systemError(err, file, label);
  }
  if (!before.isFile()) throw refuseType(before, file, label);
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw systemError(err, file, label);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw refuseType(st, file, label);
    return {fd, stat: st};
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** The file's bytes: at most `max`, else a FileReadError('too_large'). Never blocks on special files. */
export function readBoundedFile(file: string, max: number, opts: ReadOptions = {}): Buffer {
  const label = opts.label ?? file;
  const {fd, stat} = openRegularFile(file, opts);
  try {
    if (stat.size > max) throw tooLarge(file, label, max, stat.size);
    // sized by what the file claims, grown only while it keeps giving bytes, never past max + 1
    let buf = Buffer.allocUnsafe(Math.min(max + 1, Math.max(stat.size + 1, CHUNK)));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > max) break;
        const bigger = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > max) throw tooLarge(file, label, max);
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    throw systemError(err, file, label);
  } finally {
    fs.closeSync(fd);
  }
}

/** Like readBoundedFile, as UTF-8 text. */
export function readBoundedText(file: string, max: number, opts: ReadOptions = {}): string {
  return readBoundedFile(file, max, opts).toString('utf8');
}

/**
 * Feeds a regular file to `update` in chunks (for digests of build-context files, which may
 * be large): never holds it whole, never blocks on a special file swapped in.
 */
export function streamRegularFile(file: string, update: (chunk: Buffer) => void, opts: ReadOptions = {}): number {
  const label = opts.label ?? file;
  const {fd} = openRegularFile(file, opts);
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  try {
    for (;;) {
      const r = fs.readSync(fd, buf, 0, buf.length, null);
      if (r === 0) return total;
      update(buf.subarray(0, r));
      total += r;
    }
  } catch (err) {
    throw systemError(err, file, label);
  } finally {
    fs.closeSync(fd);
  }
}
