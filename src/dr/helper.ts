// orx's own volume helper (templates/dr-helper/orx-volume-helper.c, built into dist/ by
// scripts/build.mjs): a static program in an image of nothing else, run in a hardened
// container (no network, read-only root, no capabilities but the mode's, no new
// privileges) that scans, packs or unpacks a volume without ever following a link the
// agent left in it. The image is made from the binary itself (`docker import`) and tagged
// by its sha256, so every orx version finds its own and nothing is pulled.
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {fileURLToPath} from 'node:url';
import type Dockerode from 'dockerode';
import {engineMessage, isNotFound} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {pidAlive} from '../ledger/locks.js';
import {excerpt} from '../util/redact.js';
import {TAR_END, tarFile, tarHeader} from '../util/tar-write.js';
import {retryTransient} from '../drivers/engine-retry.js';

/** Every helper container carries this label, so a crashed run's leftovers can be found. */
export const HELPER_LABELS: Readonly<Record<string, string>> = {'io.orchestrix.dr-helper': '1'};
/** ...and says whose it is: a helper whose orx is gone (killed mid-backup) is removed by the next one */
const OWNER_PID = 'io.orchestrix.dr-helper-pid';
const OWNER_HOST = 'io.orchestrix.dr-helper-host';
/** Where the helper mounts the volume (the C program's MOUNT). */
const MOUNT = '/orx-volume';
const BIN_NAME = 'orx-volume-helper';
// The helper itself is one single-threaded process, but runc's own init (Go, with its
// runtime threads and nsexec's children) runs inside the container's pids cgroup before it
// execs the helper: with a limit of 4 it aborts with "pthread_create failed" on a loaded
// host. 64 still stops a runaway fork.
const HELPER_PIDS_LIMIT = 64;
const REPO = 'orx-dr-helper';

export type HelperMode = 'scan' | 'pack' | 'unpack';

const CAPS: Record<HelperMode, string[]> = {
  // reading what the agent made unreadable (a 0000 file or directory) without owning it
  scan: ['DAC_READ_SEARCH'],
  pack: ['DAC_READ_SEARCH'],
  // writing as root, then giving each entry its owner, mode (set-id bits kept) and time
  unpack: ['CHOWN', 'FOWNER', 'DAC_OVERRIDE', 'FSETID'],
};

function engineError(what: string, err: unknown): OrxError {
  return new OrxError({code: 'engine_error', kind: 'external', message: `${what}: ${engineMessage(err)}`, cause: err});
}

export function interrupted(what: string): OrxError {
  return new OrxError({code: 'interrupted', exit: EXIT.INTERRUPTED, message: `${what} interrupted`});
}

/** dist/dr-helper/orx-volume-helper of the package this module belongs to (from src/ or dist/src/). */
function binaryPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.join(dir, 'dist', 'dr-helper', BIN_NAME);
}

/** A tar of the binary and the mount point, for `docker import`. */
function imageTar(binary: Buffer): Buffer {
  return Buffer.concat([tarHeader(`${MOUNT.slice(1)}/`, {mode: 0o755, size: 0, type: '5'}), ...tarFile(BIN_NAME, binary, 0o755), TAR_END]);
}

const images = new WeakMap<Dockerode, Promise<string>>();

/** The helper image of this orx's binary, imported when the engine does not have it yet. */
export function helperImage(docker: Dockerode): Promise<string> {
  let p = images.get(docker);
  if (!p) {
    p = ensureImage(docker);
    images.set(docker, p);
    p.catch(() => images.delete(docker));
  }
  return p;
}

async function ensureImage(docker: Dockerode): Promise<string> {
  const file = binaryPath();
  let binary: Buffer;
  try {
    binary = fs.readFileSync(file);
  } catch (err) {
    throw new OrxError({
      code: 'dr_helper_missing',
      kind: 'bug',
      message: `orx's volume helper ${file} is missing: ${(err as Error).message}`,
      actions: ['Build orx (`npm run build`): it compiles templates/dr-helper/orx-volume-helper.c with a C compiler.'],
      cause: err,
    });
  }
  const sha = createHash('sha256').update(binary).digest('hex');
  const ref = `${REPO}:${sha.slice(0, 32)}`;
  try {
    await docker.getImage(ref).inspect();
    return ref;
  } catch (err) {
    if (!isNotFound(err)) throw engineError(`cannot inspect the helper image ${ref}`, err);
  }
  try {
    const stream = await docker.importImage(Readable.from([imageTar(binary)]), {
      repo: REPO,
      tag: sha.slice(0, 32),
      changes: [`LABEL io.orchestrix.dr-helper-image=${sha}`],
    } as object);
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, out: Array<{error?: string}>) => {
        const failed = err ?? out.find((o) => o.error);
        if (failed) reject(failed instanceof Error ? failed : new Error(failed.error));
        else resolve();
      }),
    );
  } catch (err) {
    throw engineError(`cannot create the helper image ${ref}`, err);
  }
  return ref;
}

export interface HelperRun {
  mode: HelperMode;
  volume: string;
  args?: string[];
  labels?: Record<string, string>;
  /** unpack: the tar written to the helper's stdin */
  stdin?: Readable;
  /** the helper's stdout; false pauses it until `control.resume()` */
  onStdout: (chunk: Buffer) => boolean;
  /** what to call to resume or fail the stream later, given before any output */
  onControl?: (control: StreamControl) => void;
  signal?: AbortSignal;
  what: string;
  /**
   * Wraps the helper's run (start to exit): a backup pauses its agents here, so the
   * container is created before and removed after they are held
   */
  hold?: (run: () => Promise<void>) => Promise<void>;
}

export interface StreamControl {
  resume(): void;
  destroy(err: Error): void;
}

/** stderr kept to report a failure: the helper writes one line */
const MAX_STDERR = 16 * 1024;
const PIPE_TARGET = '/orx-pipe';
/** the FIFO's directory (PIPE_DIR<pid>-XXXXXX), named by the orx process that made it */
const PIPE_DIR = 'orx-dr-pipe-';
const PIPE_DIR_NAME = /^orx-dr-pipe-(\d+)-[A-Za-z0-9]{6}$/;

// The data path. The engine's attach stream copies a container's output through the shim
// and the daemon (~60 MB/s here, a third of reading the files); when the engine is on this
// machine, a FIFO made here and bind-mounted into the helper carries the tar at pipe speed
// instead, and attach carries only the helper's stderr. A remote engine (TCP, ssh) cannot
// see a local FIFO: there the data goes through attach.
interface HostPipe {
  dir: string;
  path: string;
}

/** A directory of ours holds the FIFO and nothing else: anything else there is left alone. */
function removePipeDir(dir: string): void {
  try {
    const names = fs.readdirSync(dir);
    if (names.some((n) => n !== 'pipe') || (names.length === 1 && !fs.lstatSync(path.join(dir, 'pipe')).isFIFO())) return;
    for (const n of names) fs.unlinkSync(path.join(dir, n));
    fs.rmdirSync(dir);
  } catch {
    // gone already, or not ours to remove
  }
}

function hostPipe(docker: Dockerode, mode: HelperMode): HostPipe | null {
  if (process.platform !== 'linux' || !(docker.modem as unknown as {socketPath?: unknown}).socketPath) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PIPE_DIR}${process.pid}-`));
  const p = path.join(dir, 'pipe');
  try {
    // the helper is root without DAC_OVERRIDE when it packs, and orx may not be root: "other"
    // gets the one right the helper needs; nobody else can reach the FIFO through the 0700 directory
    execFileSync('mkfifo', ['-m', mode === 'unpack' ? '604' : '602', p], {stdio: 'ignore'});
    return {dir, path: p};
  } catch {
    removePipeDir(dir);
    return null;
  }
}

/**
 * Runs the helper in `mode` on `volume` (read-only but for unpack) and streams its output;
 * resolves when it exited 0, else throws an OrxError with what it said on stderr. The
 * container is removed in every case.
 */
export async function runHelper(docker: Dockerode, o: HelperRun): Promise<void> {
  if (o.signal?.aborted) throw interrupted(o.what);
  // a volume mount of a missing volume would silently create an empty one
  try {
    await docker.getVolume(o.volume).inspect();
  } catch (err) {
    if (isNotFound(err)) throw new OrxError({code: 'not_found', message: `Volume ${o.volume} does not exist`});
    throw engineError(`cannot inspect volume ${o.volume}`, err);
  }
  const image = await helperImage(docker);
  await removeDeadHelpers(docker);
  let pipe = o.mode === 'scan' ? null : hostPipe(docker, o.mode);
  try {
    let container: Dockerode.Container;
    try {
      container = await createHelper(docker, image, o, pipe);
    } catch (err) {
      // a daemon that does not see this machine's temp directory: the attach stream it is
      if (!pipe) throw err;
      removePipeDir(pipe.dir);
      pipe = null;
      container = await createHelper(docker, image, o, null);
    }
    try {
      const run = () => stream(container, o, pipe);
      await (o.hold ? o.hold(run) : run());
    } finally {
      await container.remove({force: true}).catch(() => undefined);
    }
  } finally {
    if (pipe) removePipeDir(pipe.dir);
  }
}

async function createHelper(docker: Dockerode, image: string, o: HelperRun, pipe: HostPipe | null): Promise<Dockerode.Container> {
  const attachStdin = o.stdin !== undefined && !pipe;
  try {
    return await docker.createContainer({
      Image: image,
      Cmd: [`/${BIN_NAME}`, o.mode, ...(o.args ?? []), ...(pipe ? ['--pipe', PIPE_TARGET] : [])],
      User: '0:0',
      Labels: {...o.labels, ...HELPER_LABELS, [OWNER_PID]: String(process.pid), [OWNER_HOST]: os.hostname()},
      NetworkDisabled: true,
      AttachStdin: attachStdin,
      OpenStdin: attachStdin,
      StdinOnce: attachStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        CapAdd: CAPS[o.mode],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: HELPER_PIDS_LIMIT,
        // the archive may go through the attach stream: a log driver would store a copy of it
        LogConfig: {Type: 'none', Config: {}},
        Mounts: [
          {
            Type: 'volume',
            Source: o.volume,
            Target: MOUNT,
            ReadOnly: o.mode !== 'unpack',
            // an empty volume must not be filled from the image's directory at MOUNT
            VolumeOptions: {NoCopy: true} as Dockerode.MountSettings['VolumeOptions'],
          },
          // a FIFO is written and read through a read-only mount: only files are refused
          ...(pipe ? [{Type: 'bind' as const, Source: pipe.path, Target: PIPE_TARGET, ReadOnly: true}] : []),
        ],
      },
    });
  } catch (err) {
    throw engineError(`cannot create a helper container for volume ${o.volume}`, err);
  }
}

const swept = new WeakSet<Dockerode>();

/** Helpers (and their FIFOs) left by an orx of this host that is gone (once a process: later ones are its own). */
async function removeDeadHelpers(docker: Dockerode): Promise<void> {
  if (swept.has(docker)) return;
  swept.add(docker);
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = Number(PIPE_DIR_NAME.exec(name)?.[1]);
    if (pid > 0 && pid !== process.pid && !pidAlive(pid)) removePipeDir(path.join(os.tmpdir(), name));
  }
  const left = await docker.listContainers({all: true, filters: {label: [`${OWNER_HOST}=${os.hostname()}`]}}).catch(() => []);
  for (const c of left) {
    const pid = Number(c.Labels[OWNER_PID]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid))
      await docker
        .getContainer(c.Id)
        .remove({force: true})
        .catch(() => undefined);
  }
}

type Attached = NodeJS.ReadWriteStream & {destroy(err?: Error): void; pause(): void; resume(): void; end(): void};

async function stream(container: Dockerode.Container, o: HelperRun, pipe: HostPipe | null): Promise<void> {
  const attachStdin = o.stdin !== undefined && !pipe;
  let sock: Attached;
  try {
    sock = (await container.attach({stream: true, hijack: true, stdin: attachStdin, stdout: true, stderr: true})) as Attached;
  } catch (err) {
    throw engineError(`cannot attach to the helper for ${o.what}`, err);
  }
  let failure: Error | undefined;
  let data: net.Socket | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    sock.destroy();
    data?.destroy();
    o.stdin?.destroy();
    container.kill().catch(() => undefined);
  };
  o.onControl?.({resume: () => (pipe ? data : sock)?.resume(), destroy: fail});
  const abort = () => fail(interrupted(o.what));
  o.signal?.addEventListener('abort', abort, {once: true});
  const stderr: Buffer[] = [];
  let stderrBytes = 0;
  const deliver = (chunk: Buffer): boolean => {
    try {
      return o.onStdout(chunk);
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  };
  try {
    const ended = new Promise<void>((resolve, reject) => {
      // the attach stream is multiplexed: 8-byte frame headers (stream, 0, 0, 0, size BE)
      let head = Buffer.alloc(0);
      let kind = 0;
      let left = 0;
      sock.on('data', (chunk: Buffer) => {
        let pos = 0;
        let go = true;
        while (pos < chunk.length) {
          if (left === 0) {
            const n = Math.min(8 - head.length, chunk.length - pos);
            head = Buffer.concat([head, chunk.subarray(pos, pos + n)]);
            pos += n;
            if (head.length < 8) break;
            kind = head[0]!;
            left = head.readUInt32BE(4);
            head = Buffer.alloc(0);
            continue;
          }
          const n = Math.min(left, chunk.length - pos);
          const part = chunk.subarray(pos, pos + n);
          if (kind === 1) {
            if (!pipe && !deliver(part)) go = false;
          } else if (stderrBytes < MAX_STDERR) {
            stderr.push(Buffer.from(part));
            stderrBytes += part.length;
          }
          left -= n;
          pos += n;
        }
        if (!go) sock.pause();
      });
      sock.on('end', resolve);
      sock.on('close', () => (failure ? reject(failure) : resolve()));
      sock.on('error', (err: Error) => reject(failure ?? err));
    });
    // output (and a failure) may come before start() answers: awaited below
    ended.catch(() => undefined);
    try {
      await retryTransient(() => container.start());
    } catch (err) {
      throw engineError(`cannot start the helper for ${o.what}`, err);
    }
    let moved: Promise<void> = Promise.resolve();
    /** our open() of the FIFO is through (or the pump is over) */
    let through = false;
    if (pipe) {
      moved = pumpPipe(
        pipe.path,
        o,
        deliver,
        () => (through = true),
        (s) => (data = s),
        () => failure,
      );
      moved.then(
        () => (through = true),
        () => (through = true),
      );
    } else if (o.stdin) {
      o.stdin.on('error', (err: Error) => fail(err));
      o.stdin.pipe(sock);
    }
    let exit: number;
    try {
      exit = ((await container.wait()) as {StatusCode: number}).StatusCode;
    } finally {
      // a helper that never opened its end leaves ours waiting in open(): release it (the
      // open may not have reached the threadpool yet, so until it is through)
      if (pipe) await releasePipe(pipe.path, o.stdin !== undefined, () => through);
    }
    const moveError = await moved.then(
      () => undefined,
      (err: unknown) => err,
    );
    await ended;
    if (failure) throw failure;
    if (exit !== 0) {
      const said = Buffer.concat(stderr).toString('utf8').trim();
      throw new OrxError({
        code: 'dr_helper_failed',
        kind: 'external',
        message: `${o.what} failed: ${said ? excerpt(said, {max: 600}) : `the volume helper exited ${exit}`}`,
        data: {exit, stderr: said},
      });
    }
    if (moveError) throw moveError as Error;
  } catch (err) {
    if (o.signal?.aborted) throw interrupted(o.what);
    if (err instanceof OrxError) throw err;
    throw engineError(`${o.what} failed`, err);
  } finally {
    o.signal?.removeEventListener('abort', abort);
  }
}

const openFd = (p: string, flags: number): Promise<number> =>
  new Promise((resolve, reject) => fs.open(p, flags, (err, fd) => (err ? reject(err) : resolve(fd))));

/** Our end of the FIFO: the tar read from it into `deliver` (pack), or written to it from stdin (unpack). */
async function pumpPipe(
  p: string,
  o: HelperRun,
  deliver: (chunk: Buffer) => boolean,
  isOpen: () => void,
  opened: (s: net.Socket) => void,
  failure: () => Error | undefined,
): Promise<void> {
  if (o.stdin) {
    // blocking writes on the threadpool: a FIFO opened for writing cannot be a net.Socket (no shutdown)
    const fd = await openFd(p, fs.constants.O_WRONLY);
    isOpen();
    await pipeline(o.stdin, fs.createWriteStream('', {fd, highWaterMark: 1 << 20}));
    return;
  }
  const fd = await openFd(p, fs.constants.O_RDONLY);
  isOpen();
  const s = new net.Socket({fd, readable: true, writable: false});
  opened(s);
  await new Promise<void>((resolve, reject) => {
    s.on('data', (chunk: Buffer) => {
      if (!deliver(chunk)) s.pause();
    });
    s.on('end', resolve);
    s.on('error', reject);
    s.on('close', () => {
      const f = failure();
      if (f) reject(f);
      else resolve();
    });
  });
}

/** Opens and closes the FIFO's other end until our own open() is through (at most ~5 s). */
async function releasePipe(p: string, weWrite: boolean, through: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !through(); i++) {
    try {
      fs.closeSync(fs.openSync(p, (weWrite ? fs.constants.O_RDONLY : fs.constants.O_WRONLY) | fs.constants.O_NONBLOCK));
    } catch {
      // ENXIO: our open() is not waiting yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
