import {createHash} from 'node:crypto';
import fs from 'node:fs';
import type {FileHandle} from 'node:fs/promises';
import {pipeline} from 'node:stream/promises';
import zlib from 'node:zlib';
import type Dockerode from 'dockerode';
import {OrxError} from '../errors.js';
import {FileReadError, openRegularFile} from '../util/bounded-file.js';
import {TarDigest, type ContentDigest, type DigestFormat} from './tar-digest.js';
import {interrupted, runHelper, type StreamControl} from './helper.js';
import {ArchiveWriter, PieceGzip, SLOT} from './gzip-pieces.js';
import {RestoreCheck} from './restorable.js';

export {CONTENT_DIGEST_FORMAT, TarDigest, type ContentDigest, type DigestFormat} from './tar-digest.js';

export interface VolumeArchive {
  /** bytes of the compressed archive file written */
  size: number;
  /** sha256 hex of the archive file's bytes, computed while streaming */
  sha256: string;
  /** content digest of what was archived (see tar-digest.ts) */
  content_digest: string;
  /** regular files */
  files: number;
  /** total size of regular files */
  bytes: number;
}

/** What the helper's scan found, before anyone is paused. */
export interface VolumeScan {
  /** regular files' sizes, each hard-linked file once */
  apparent: number;
  /** bytes of disk in use */
  allocated: number;
  entries: number;
  /** FIFOs, sockets and devices (the first 100, paths %XX-escaped) */
  specials: Array<{kind: string; path: string}>;
  special_count: number;
}

// ---------------------------------------------------------------------------------------
// the API
// ---------------------------------------------------------------------------------------

const PROGRESS_MS = 100;

/**
 * What the volume holds, read by the helper's scan (lstat only, nothing followed): sizes
 * for dr.max_volume_bytes and the entries no restore could put back (FIFOs, sockets,
 * devices). Runs before any agent is paused.
 */
export async function scanVolume(
  docker: Dockerode,
  o: {volume: string; labels?: Record<string, string>; signal?: AbortSignal},
): Promise<VolumeScan> {
  const out: Buffer[] = [];
  await runHelper(docker, {
    mode: 'scan',
    volume: o.volume,
    labels: o.labels,
    signal: o.signal,
    what: `scan of volume ${o.volume}`,
    onStdout: (b) => (out.push(Buffer.from(b)), true),
  });
  const scan: VolumeScan = {apparent: 0, allocated: 0, entries: 0, specials: [], special_count: 0};
  for (const line of Buffer.concat(out).toString('latin1').split('\n')) {
    const [key, a, b] = line.split(' ');
    if (key === 'special' && a && b) scan.specials.push({kind: a, path: b});
    else if (key === 'apparent' || key === 'allocated' || key === 'entries') scan[key] = Number(a);
    else if (key === 'specials') scan.special_count = Number(a);
  }
  return scan;
}

/**
 * Streams the volume's contents (the helper's pack: a pax tar, sparse files as sparse
 * entries, links never followed) into `dest` as gzip, in one pass: the content digest
 * from the tar entries, the sha256 and size of the bytes written. `dest` is created
 * ('wx', 0600) and removed again if the backup fails; it is not fsynced (the caller does,
 * before its rename). `onProgress` gets the tar bytes read so far, at most every 100 ms
 * and once at the end; when it returns a promise, reading waits for it. With
 * `skipSpecial`, FIFOs, sockets and devices are left out; without it they fail the backup.
 * `hold` wraps the reading of the volume alone (see HelperRun): where agents are paused.
 */
export async function backupVolume(
  docker: Dockerode,
  o: {
    volume: string;
    dest: string;
    skipSpecial?: boolean;
    labels?: Record<string, string>;
    onProgress?: (bytes: number) => void | Promise<void>;
    signal?: AbortSignal;
    hold?: (read: () => Promise<void>) => Promise<void>;
  },
): Promise<VolumeArchive> {
  const what = `backup of volume ${o.volume}`;
  if (o.signal?.aborted) throw interrupted(what);
  let fh: FileHandle;
  try {
    fh = await fs.promises.open(o.dest, 'wx', 0o600);
  } catch (err) {
    throw new OrxError({code: 'file_error', kind: 'external', message: `Cannot create ${o.dest}: ${(err as Error).message}`, cause: err});
  }
  // the writer thread starts while the helper container is created
  const writer = new ArchiveWriter(fh.fd, o.dest);
  let done = false;
  try {
    const digest = new TarDigest();
    let control: StreamControl | undefined;
    let waiting = false;
    const fail = (err: unknown) => control?.destroy(err instanceof Error ? err : new Error(String(err)));
    const gz = new PieceGzip(writer, fail);
    writer.onFree = () => (waiting ? undefined : control?.resume());
    writer.onError = fail;
    let read = 0;
    let reported = 0;
    await runHelper(docker, {
      mode: 'pack',
      volume: o.volume,
      args: o.skipSpecial ? ['--skip-special'] : [],
      labels: o.labels,
      signal: o.signal,
      what,
      hold: o.hold,
      onControl: (c) => (control = c),
      onStdout: (chunk) => {
        digest.push(chunk);
        read += chunk.length;
        let go = gz.push(chunk);
        const now = performance.now();
        if (o.onProgress && now - reported >= PROGRESS_MS) {
          reported = now;
          const r = o.onProgress(read);
          if (r instanceof Promise) {
            waiting = true;
            go = false;
            r.then(() => {
              waiting = false;
              if (gz.hasRoom()) control?.resume();
            }, fail);
          }
        }
        return go;
      },
    });
    await gz.finish();
    const d = digest.end();
    const {size, sha256} = await writer.finish();
    await o.onProgress?.(read);
    done = true;
    return {size, sha256, ...d};
  } finally {
    // the thread writes to the descriptor: it is gone before the descriptor is closed
    await writer.close();
    await fh.close();
    if (!done) await fs.promises.rm(o.dest, {force: true});
  }
}

async function checkSha256(archive: string, sha256: string): Promise<void> {
  const actual = await fileSha256(archive);
  if (actual !== sha256.toLowerCase()) {
    throw new OrxError({
      code: 'dr_archive_mismatch',
      message: `Archive ${archive} does not match its recorded sha256 (expected ${sha256}, found ${actual}); nothing was restored`,
      actions: ['Use another copy of the backup: this file was changed or damaged after it was written.'],
      diagnostics: [{file: archive, message: 'sha256 mismatch'}],
      data: {file: archive, expected: sha256, actual},
    });
  }
}

/**
 * Extracts an archive written by backupVolume (or by an orx before the helper: the
 * engine's tar) into `volume`, created empty by the caller, through the helper's unpack:
 * owners, modes, times, links and holes as recorded; any entry it cannot restore
 * faithfully stops it, named. With `sha256`, the file is checked before anything is written.
 */
export async function restoreVolume(
  docker: Dockerode,
  o: {volume: string; archive: string; sha256?: string; labels?: Record<string, string>; signal?: AbortSignal},
): Promise<void> {
  const what = `restore of volume ${o.volume}`;
  if (o.signal?.aborted) throw interrupted(what);
  if (o.sha256 !== undefined) await checkSha256(o.archive, o.sha256);
  if (o.signal?.aborted) throw interrupted(what);
  const tar = fs.createReadStream(o.archive, {highWaterMark: SLOT}).pipe(zlib.createGunzip({chunkSize: 256 * 1024}));
  await runHelper(docker, {mode: 'unpack', volume: o.volume, labels: o.labels, signal: o.signal, what, stdin: tar, onStdout: () => true});
}

/** The content digest of a volume as it is now (for restore drills), in the format asked for. */
export async function volumeContentDigest(
  docker: Dockerode,
  o: {volume: string; format?: DigestFormat; labels?: Record<string, string>; signal?: AbortSignal},
): Promise<ContentDigest> {
  const digest = new TarDigest(o.format);
  await runHelper(docker, {
    mode: 'pack',
    volume: o.volume,
    labels: o.labels,
    signal: o.signal,
    what: `reading volume ${o.volume}`,
    onStdout: (chunk) => (digest.push(chunk), true),
  });
  return digest.end();
}

/**
 * Reads an archive file as a restore would, without a volume: its content digest and the
 * first entry a restore could not put back faithfully (named), if any.
 */
export async function inspectArchive(
  archive: string,
  format: DigestFormat,
): Promise<ContentDigest & {unrestorable: {path: string; reason: string} | null}> {
  const check = new RestoreCheck();
  const digest = new TarDigest(format, check.onEntry);
  try {
    await pipeline(
      fs.createReadStream(archive, {highWaterMark: SLOT}),
      zlib.createGunzip({chunkSize: 256 * 1024}),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) digest.push(chunk);
      },
    );
  } catch (err) {
    if (err instanceof OrxError) throw err;
    throw new OrxError({
      code: 'dr_archive_corrupt',
      kind: 'external',
      message: `Cannot read ${archive}: ${(err as Error).message}`,
      cause: err,
    });
  }
  const d = digest.end();
  return {...d, unrestorable: check.finish()};
}

/** sha256 hex of a regular file, streamed (a FIFO or device in its place is refused, not waited on). */
export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  let fd: number;
  try {
    fd = openRegularFile(file).fd;
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    throw new OrxError({
      code: err.reason === 'missing' ? 'not_found' : 'file_error',
      message: err.reason === 'missing' ? `Cannot read ${file}: it does not exist` : err.message,
      cause: err,
    });
  }
  try {
    for await (const chunk of fs.createReadStream('', {fd, highWaterMark: SLOT})) h.update(chunk as Buffer);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new OrxError({
      code: missing ? 'not_found' : 'file_error',
      kind: missing ? 'user' : 'external',
      message: `Cannot read ${file}: ${(err as Error).message}`,
      cause: err,
    });
  }
  return h.digest('hex');
}
