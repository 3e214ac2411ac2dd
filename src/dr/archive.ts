import {createHash} from 'node:crypto';
import fs from 'node:fs';
import type {FileHandle} from 'node:fs/promises';
import type Dockerode from 'dockerode';
import {engineMessage, isNotFound} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import {FileReadError, openRegularFile} from '../util/bounded-file.js';
import {EXIT} from '../exit-codes.js';
import {TarDigest, type ContentDigest} from './tar-digest.js';
import {archiveSource, type ByteSource} from './engine-stream.js';
import {ArchiveWriter, PieceGzip, SLOT} from './gzip-pieces.js';

export {CONTENT_DIGEST_FORMAT, TarDigest, type ContentDigest} from './tar-digest.js';

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

/** Every helper container carries this label, so a crashed run's leftovers can be found. */
export const HELPER_LABELS: Readonly<Record<string, string>> = {'io.orchestrix.dr-helper': '1'};
/** Where the helper mounts the volume. Archives hold "./" and paths below it, so they do not depend on it. */
const MOUNT = '/orx-volume';

// ---------------------------------------------------------------------------------------
// helper containers
// ---------------------------------------------------------------------------------------

interface HelperOptions {
  volume: string;
  image: string;
  readOnly: boolean;
  labels?: Record<string, string>;
}

function engineError(what: string, err: unknown): OrxError {
  return new OrxError({code: 'engine_error', kind: 'external', message: `${what}: ${engineMessage(err)}`, cause: err});
}

function interrupted(what: string): OrxError {
  return new OrxError({code: 'interrupted', exit: EXIT.INTERRUPTED, message: `${what} interrupted`});
}

/**
 * Runs fn with a created, never started container that mounts the volume at MOUNT. The
 * engine serves the archive endpoints of a created container from its mounts, so no
 * process runs, nothing is pulled and the image only has to exist.
 */
async function withHelper<T>(docker: Dockerode, o: HelperOptions, fn: (c: Dockerode.Container) => Promise<T>): Promise<T> {
  // a volume mount of a missing volume would silently create an empty one
  try {
    await docker.getVolume(o.volume).inspect();
  } catch (err) {
    if (isNotFound(err)) throw new OrxError({code: 'not_found', message: `Volume ${o.volume} does not exist`});
    throw engineError(`cannot inspect volume ${o.volume}`, err);
  }
  let container: Dockerode.Container;
  try {
    container = await docker.createContainer({
      Image: o.image,
      // never run; given because the engine refuses to create a container of an image without a CMD
      Cmd: ['/orx-dr-helper-never-started'],
      Labels: {...o.labels, ...HELPER_LABELS},
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        Mounts: [
          {
            Type: 'volume',
            Source: o.volume,
            Target: MOUNT,
            ReadOnly: o.readOnly,
            // an empty volume must not be filled from the image's directory at MOUNT
            VolumeOptions: {NoCopy: true} as Dockerode.MountSettings['VolumeOptions'],
          },
        ],
      },
    });
  } catch (err) {
    if (isNotFound(err)) {
      throw new OrxError({
        code: 'not_found',
        message: `The helper image ${o.image} is not present: ${engineMessage(err)}`,
        actions: ['Build or load the image first: orx never pulls an image for a backup or restore helper.'],
        cause: err,
      });
    }
    throw engineError(`cannot create a helper container for volume ${o.volume}`, err);
  }
  let failed = true;
  try {
    const out = await fn(container);
    failed = false;
    return out;
  } finally {
    try {
      await container.remove({force: true});
    } catch (err) {
      // an earlier failure is the one worth reporting
      if (!failed && !isNotFound(err)) throw engineError(`cannot remove helper container ${container.id.slice(0, 12)}`, err);
    }
  }
}

/**
 * Streams the volume's tar through `onData`, which also gets the source to resume or fail
 * it later; a failure (the engine's, the parser's, an abort) comes out as one OrxError.
 */
async function streamVolume(
  docker: Dockerode,
  c: Dockerode.Container,
  what: string,
  signal: AbortSignal | undefined,
  onData: (chunk: Buffer, source: ByteSource) => boolean,
): Promise<void> {
  const source = await archiveSource(docker, c, `${MOUNT}/.`);
  const abort = () => source.destroy(interrupted(what));
  signal?.addEventListener('abort', abort, {once: true});
  try {
    if (signal?.aborted) throw interrupted(what);
    await source.run((chunk) => onData(chunk, source));
  } catch (err) {
    if (signal?.aborted) throw interrupted(what);
    if (err instanceof OrxError) throw err;
    throw engineError(`${what} failed`, err);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

// ---------------------------------------------------------------------------------------
// the API
// ---------------------------------------------------------------------------------------

const PROGRESS_MS = 100;

/**
 * Streams the volume's contents (GET archive of a created, never started helper that
 * mounts it read-only) into `dest` as gzip, in one pass: the content digest from the tar
 * entries, the sha256 and size of the bytes written. `dest` is created ('wx', 0600) and
 * removed again if the backup fails; it is not fsynced (the caller does, before its
 * rename). `onProgress` gets the tar bytes read so far, at most every 100 ms and once at
 * the end; when it returns a promise, reading waits for it.
 */
export async function backupVolume(
  docker: Dockerode,
  o: {
    volume: string;
    image: string;
    dest: string;
    labels?: Record<string, string>;
    onProgress?: (bytes: number) => void | Promise<void>;
    signal?: AbortSignal;
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
    const out = await withHelper(docker, {volume: o.volume, image: o.image, readOnly: true, labels: o.labels}, async (c) => {
      const digest = new TarDigest();
      let source: ByteSource | undefined;
      let waiting = false;
      const fail = (err: unknown) => source?.destroy(err instanceof Error ? err : new Error(String(err)));
      const gz = new PieceGzip(writer, fail);
      writer.onFree = () => (waiting ? undefined : source?.resume());
      writer.onError = fail;
      let read = 0;
      let reported = 0;
      await streamVolume(docker, c, what, o.signal, (chunk, src) => {
        source = src;
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
              if (gz.hasRoom()) src.resume();
            }, fail);
          }
        }
        return go;
      });
      await gz.finish();
      const d = digest.end();
      const {size, sha256} = await writer.finish();
      await o.onProgress?.(read);
      return {size, sha256, ...d};
    });
    done = true;
    return out;
  } finally {
    // the thread writes to the descriptor: it is gone before the descriptor is closed
    await writer.close();
    await fh.close();
    if (!done) await fs.promises.rm(o.dest, {force: true});
  }
}

/**
 * Extracts an archive written by backupVolume into `volume` (created empty by the caller)
 * through PUT archive of a created, never started helper; the engine decompresses it and
 * keeps modes, ownership and links. With `sha256`, the file is checked before anything
 * is written.
 */
export async function restoreVolume(
  docker: Dockerode,
  o: {volume: string; image: string; archive: string; sha256?: string; labels?: Record<string, string>; signal?: AbortSignal},
): Promise<void> {
  const what = `restore of volume ${o.volume}`;
  if (o.signal?.aborted) throw interrupted(what);
  if (o.sha256 !== undefined) {
    const actual = await fileSha256(o.archive);
    if (actual !== o.sha256.toLowerCase()) {
      throw new OrxError({
        code: 'dr_archive_mismatch',
        message: `Archive ${o.archive} does not match its recorded sha256 (expected ${o.sha256}, found ${actual}); nothing was restored`,
        actions: ['Use another copy of the backup: this file was changed or damaged after it was written.'],
        diagnostics: [{file: o.archive, message: 'sha256 mismatch'}],
        data: {file: o.archive, expected: o.sha256, actual},
      });
    }
  }
  if (o.signal?.aborted) throw interrupted(what);
  await withHelper(docker, {volume: o.volume, image: o.image, readOnly: false, labels: o.labels}, async (c) => {
    try {
      await c.putArchive(fs.createReadStream(o.archive, {highWaterMark: SLOT}), {path: MOUNT, abortSignal: o.signal});
    } catch (err) {
      if (o.signal?.aborted) throw interrupted(what);
      throw engineError(`${what} failed`, err);
    }
  });
}

/** The content digest of a volume as it is now (for restore drills). */
export async function volumeContentDigest(
  docker: Dockerode,
  o: {volume: string; image: string; labels?: Record<string, string>; signal?: AbortSignal},
): Promise<ContentDigest> {
  return withHelper(docker, {volume: o.volume, image: o.image, readOnly: true, labels: o.labels}, async (c) => {
    const digest = new TarDigest();
    await streamVolume(docker, c, `reading volume ${o.volume}`, o.signal, (chunk) => {
      digest.push(chunk);
      return true;
    });
    return digest.end();
  });
}

/** sha256 hex of a regular file, streamed (a FIFO or device in its place is refused, not waited on). */
export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  let fd: number;
  try {
    fd = openRegularFile(file).fd;
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    throw new OrxError({code: err.reason === 'missing' ? 'not_found' : 'file_error', message: err.reason === 'missing' ? `Cannot read ${file}: it does not exist` : err.message, cause: err});
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
