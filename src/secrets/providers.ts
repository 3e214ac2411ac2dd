// The two local providers. Each returns the value or the reason it cannot, as a phrase that
// follows the reference in a message ("env://X is not set ..."); no reason ever holds a value.
import {constants, type Stats} from 'node:fs';
import {access, lstat, open, readlink, realpath, stat, type FileHandle} from 'node:fs/promises';
import path from 'node:path';
import {fileRefTextError, openedFileError} from '../config/secret-location.js';

export type ProviderResult = {ok: true; value: string} | {ok: false; reason: string};

// a secret file larger than this is a wrong path (a log, an archive), not a credential
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

export function readEnvSecret(name: string, env: NodeJS.ProcessEnv): ProviderResult {
  const value = env[name];
  if (value === undefined) {
    return {
      ok: false,
      reason: `is not set in the environment (export ${name} before running orx, or put it in the workspace's .envrc for direnv)`,
    };
  }
  return {ok: true, value};
}

/** What a file:// read must also refuse: files orx keeps its own secrets in beyond .orx/ (a signing.key given as a path). */
export interface FileSecretOptions {
  /** absolute paths; the opened file is compared by identity (device and inode), so another name for it is refused too */
  protect?: ReadonlyArray<{path: string; what: string}>;
}

/**
 * file://PATH: relative to the workspace `dir` (and refused if it leads outside, through ..
 * or a symbolic link), or absolute; never into .orx/, /proc, /sys or /dev (file-location.ts).
 * The file must be a regular file with one name that only its owner may read or write.
 *
 * The path is resolved and checked, then opened without following a final symbolic link, and
 * the descriptor itself is checked again: its real path (from /proc/self/fd) under the same
 * rules, its type, mode and link count from fstat. So a directory swapped for a symbolic link
 * between the check and the open cannot redirect the read. At most the size limit plus one
 * byte is read, whatever size the file claims (files in /proc claim 0).
 */
export async function readFileSecret(target: string, dir: string, opts: FileSecretOptions = {}): Promise<ProviderResult> {
  const located = await locateFileSecret(target, dir);
  if (!located.ok) return located;
  const {real, lexical, where} = located;
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO swapped in cannot hang the open (it is then refused as not a regular file);
    // the flags are absent on Windows, which has neither FIFOs nor symbolic-link races of this kind
    handle = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  } catch (err) {
    return fail(fsReason(err, lexical));
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return fail(`is not a regular file (${lexical})`);
    const opened = await openedPath(handle, real, st);
    if (opened === null) return fail(`was replaced while it was being read (${lexical}); check who else can write to its directories`);
    const after = openedFileError(opened, where);
    if (after) return fail(after);
    const unsafe = await unsafeFileError(st, lexical, opts);
    if (unsafe) return fail(unsafe);
    const bytes = await readAtMost(handle, MAX_SECRET_FILE_BYTES + 1);
    if (bytes.length > MAX_SECRET_FILE_BYTES)
      return fail(`holds more than a secret file may (${MAX_SECRET_FILE_BYTES} bytes); check the path (${lexical})`);
    return {ok: true, value: stripOneNewline(bytes.toString('utf8'))};
  } catch (err) {
    return fail(fsReason(err, lexical));
  } finally {
    await handle.close();
  }
}

/**
 * The checks readFileSecret makes before it reads, without opening the file: where it is, that
 * it exists and is a regular file with one name that only its owner may read or write, and that
 * orx may read it. For `orx validate` and `orx plan`, which must not read secrets. The read at
 * apply checks the opened descriptor again, so a file swapped in afterwards gains nothing.
 */
export async function checkFileSecret(
  target: string,
  dir: string,
  opts: FileSecretOptions = {},
): Promise<{ok: true} | {ok: false; reason: string}> {
  const located = await locateFileSecret(target, dir);
  if (!located.ok) return located;
  const {real, lexical} = located;
  try {
    // realpath left no symbolic link to follow: this is the file the read would open
    const st = await stat(real);
    if (!st.isFile()) return fail(`is not a regular file (${lexical})`);
    const unsafe = await unsafeFileError(st, lexical, opts);
    if (unsafe) return fail(unsafe);
    await access(real, constants.R_OK);
    return {ok: true};
  } catch (err) {
    return fail(fsReason(err, lexical));
  }
}

type Located = {ok: true; real: string; lexical: string; where: Parameters<typeof openedFileError>[1]} | {ok: false; reason: string};

/** The reference's text, then its real path (no symbolic links left), under the location rules; nothing is opened. */
async function locateFileSecret(target: string, dir: string): Promise<Located> {
  const textError = fileRefTextError(target);
  if (textError) return fail(textError);
  const relative = !path.isAbsolute(target);
  const lexical = path.resolve(dir, target);
  let real: string;
  let realWorkspace = dir;
  try {
    real = await realpath(lexical);
    if (relative) realWorkspace = await realpath(dir);
  } catch (err) {
    return fail(fsReason(err, lexical));
  }
  const where = {relative, realWorkspace, workspace: dir};
  // checked before the open as well: opening some device files has effects of its own
  const before = openedFileError(real, where);
  if (before) return fail(before);
  return {ok: true, real, lexical, where};
}

/** Mode, names and identity of a regular file, from its stat: why it may not be a secret, or null. */
async function unsafeFileError(st: Stats, lexical: string, opts: FileSecretOptions): Promise<string | null> {
  // Windows has no owner/group/other modes to check (Node reports 0o666 for every file)
  if (process.platform !== 'win32' && (st.mode & 0o066) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    return `is readable or writable by group or others (mode ${mode}); orx only takes secrets from files that only their owner can read and write: chmod 600 ${lexical}`;
  }
  // another name of a file is another way to reach it: .orx/keys/signing.key hard-linked elsewhere
  if (process.platform !== 'win32' && st.nlink > 1) {
    return `has ${st.nlink} names (hard links); orx only takes secrets from files with exactly one, so that no other name can lead to a file it protects: copy it instead (${lexical})`;
  }
  for (const p of opts.protect ?? []) {
    const other = await stat(p.path).catch(() => null);
    if (other && other.dev === st.dev && other.ino === st.ino) return `is ${p.what}, which orx never hands out`;
  }
  return null;
}

/**
 * The real path of what `handle` refers to, from the kernel (/proc/self/fd/N). Where there is
 * no /proc, the file at the checked path must be the opened one (same device and inode), else
 * null: something was swapped in between.
 */
async function openedPath(handle: FileHandle, checked: string, st: Stats): Promise<string | null> {
  try {
    return (await readlink(`/proc/self/fd/${handle.fd}`)).replace(/ \(deleted\)$/, '');
  } catch {
    const now = await lstat(checked).catch(() => null);
    return now && now.isFile() && now.dev === st.dev && now.ino === st.ino ? checked : null;
  }
}

/** Reads until end of file or `limit` bytes, whichever comes first. */
async function readAtMost(handle: FileHandle, limit: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(limit);
  let got = 0;
  while (got < limit) {
    const {bytesRead} = await handle.read(buf, got, limit - got, null);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * Files written with `echo` or most editors end in one newline that is not part of the secret;
 * exactly one is removed (\n or \r\n), so a value that really ends in newlines keeps the rest.
 */
export function stripOneNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function fail(reason: string): {ok: false; reason: string} {
  return {ok: false, reason};
}

function fsReason(err: unknown, file: string): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  switch (code) {
    case 'ENOENT':
      return `names a file that does not exist (${file})`;
    case 'ENOTDIR':
      return `names a path through something that is not a directory (${file})`;
    case 'EACCES':
    case 'EPERM':
      return `cannot be read: permission denied (${file})`;
    case 'ELOOP':
      return `names a symbolic link loop or a link swapped in while reading (${file})`;
    case 'EISDIR':
      return `is not a regular file (${file})`;
    default:
      return `cannot be read (${file}): ${code ?? (err instanceof Error ? err.message : String(err))}`;
  }
}
