import {createHash} from 'node:crypto';
import fs from 'node:fs';
import type {FileHandle} from 'node:fs/promises';
import net from 'node:net';
import {Worker} from 'node:worker_threads';
import {promisify} from 'node:util';
import zlib from 'node:zlib';
import type Dockerode from 'dockerode';
import {engineMessage, isNotFound} from '../drivers/docker.js';
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import {TarDigest, type ContentDigest} from './tar-digest.js';

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
// gzip as a series of members, compressed on the libuv threadpool and hashed and written
// on a worker thread
//
// One zlib stream runs on one core, and deflate crawls through incompressible data
// (~60 MB/s at any level on random bytes, against ~1 GB/s for sha256). So the tar stream
// is cut into SLOT-sized pieces, each becomes its own gzip member (RFC 1952 allows a file
// of several members; gunzip, Go's gzip reader and the engine's PUT archive read them as
// one stream), several are compressed at once, and a piece too dense to shrink is written
// as stored deflate blocks, which costs a crc32. Pieces are cut at fixed offsets, so the
// same tar stream gives the same archive bytes.
//
// The main thread already hashes every file's content for the content digest; the crc32,
// the archive's sha256 and the write are a second thread's. Pieces live in shared memory,
// so nothing is copied between the two.
// ---------------------------------------------------------------------------------------

const SLOT = 1 << 20;
/** pieces in the pipeline (being filled, compressed, written); more only when a read overshoots */
const SLOTS = 6;
/** level 1: on text it keeps ~90% of level 6's saving at ~3x the speed */
const LEVEL = 1;
const SAMPLE = 4096;
/** bits a byte above which a piece is stored: deflate would save less than ~10% */
const MAX_ENTROPY = 7.2;
// one output buffer per call: zlib's default 16 KiB costs a main-thread callback per 16 KiB
const OUT_CHUNK = SLOT + 64 * 1024;

const gzip = promisify(zlib.gzip) as (b: Buffer, o: zlib.ZlibOptions) => Promise<Buffer>;
// zlib.crc32 arrived in Node 20.15; before it, stored members are built by zlib itself
const hasCrc32 = typeof (zlib as {crc32?: unknown}).crc32 === 'function';

// mtime 0 and OS 3 (Unix), as zlib writes them
const GZIP_HEADER = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
const MAX_STORED = 0xffff;

/** A gzip member of stored (uncompressed) deflate blocks; the data itself is not copied. Runs in the worker. */
function storedMember(data: Buffer, crc: number, header: Buffer): Buffer[] {
  const parts: Buffer[] = [header];
  let off = 0;
  do {
    const n = Math.min(MAX_STORED, data.length - off);
    const head = Buffer.allocUnsafe(5);
    head[0] = off + n >= data.length ? 1 : 0;
    head.writeUInt16LE(n, 1);
    head.writeUInt16LE(~n & 0xffff, 3);
    parts.push(head, data.subarray(off, off + n));
    off += n;
  } while (off < data.length);
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  parts.push(trailer);
  return parts;
}

// CommonJS evaluated in the worker: no file to locate, the same in dist/ and under tests.
// Messages: {slot, buffer} adds a piece buffer; {slot, len} writes the piece as a stored
// member; {slot, data} writes a compressed member; {end} answers {end, size, sha256}.
// Each piece written is answered with {slot} so the main thread can refill it.
const WORKER_SOURCE = `
const {parentPort, workerData} = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const zlib = require('node:zlib');
const MAX_STORED = ${MAX_STORED};
const storedMember = ${storedMember.toString()};
const header = Buffer.from(${JSON.stringify(GZIP_HEADER)});
const slots = [];
const sha = crypto.createHash('sha256');
let size = 0;
function writeAll(parts) {
  let rest = parts;
  while (rest.length > 0) {
    let n = fs.writevSync(workerData.fd, rest);
    let i = 0;
    while (i < rest.length && n >= rest[i].length) n -= rest[i++].length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0].subarray(n);
  }
}
parentPort.on('message', (m) => {
  try {
    if (m.buffer) {
      slots[m.slot] = Buffer.from(m.buffer);
      return;
    }
    if (m.end) {
      parentPort.postMessage({end: true, size, sha256: sha.digest('hex')});
      return;
    }
    let parts;
    if (m.data) parts = [Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)];
    else {
      const piece = slots[m.slot].subarray(0, m.len);
      parts = storedMember(piece, zlib.crc32(piece), header);
    }
    for (const p of parts) {
      sha.update(p);
      size += p.length;
    }
    writeAll(parts);
    parentPort.postMessage({slot: m.slot});
  } catch (err) {
    parentPort.postMessage({error: String((err && err.message) || err), code: err && err.code});
  }
});
`;

interface WorkerReply {
  slot?: number;
  end?: boolean;
  size?: number;
  sha256?: string;
  error?: string;
}

/** The main thread's side of the worker: piece buffers, their order, and the result. */
class ArchiveWriter {
  private readonly worker: Worker;
  private readonly slots: Buffer[] = [];
  private readonly free: number[] = [];
  private readonly result: Promise<{size: number; sha256: string}>;
  onFree: () => void = () => undefined;
  onError: (err: unknown) => void = () => undefined;

  constructor(fd: number, dest: string) {
    this.worker = new Worker(WORKER_SOURCE, {eval: true, workerData: {fd}});
    this.result = new Promise((resolve, reject) => {
      let settled = false;
      const failed = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err);
        this.onError(err);
      };
      this.worker.on('message', (m: WorkerReply) => {
        if (m.error !== undefined) failed(new OrxError({code: 'file_error', kind: 'external', message: `Cannot write ${dest}: ${m.error}`}));
        else if (m.end) {
          settled = true;
          resolve({size: m.size ?? 0, sha256: m.sha256 ?? ''});
        } else if (m.slot !== undefined) {
          this.free.push(m.slot);
          this.onFree();
        }
      });
      this.worker.on('error', failed);
      this.worker.on('exit', (code) => failed(new Error(`the archive writer thread exited (${code})`)));
    });
    this.result.catch(() => undefined);
    for (let i = 0; i < SLOTS; i++) this.free.push(this.addSlot());
  }

  hasFree(): boolean {
    return this.free.length > 0;
  }

  acquire(): number {
    return this.free.pop() ?? this.addSlot();
  }

  buffer(slot: number): Buffer {
    return this.slots[slot];
  }

  write(slot: number, len: number, member: Buffer | undefined): void {
    if (!member) return this.worker.postMessage({slot, len});
    // moved, not cloned: a clone would copy the whole buffer zlib's output is a view of
    const owned = member.byteOffset === 0 && member.byteLength === member.buffer.byteLength && member.buffer instanceof ArrayBuffer ? member : new Uint8Array(member);
    this.worker.postMessage({slot, data: owned}, [owned.buffer as ArrayBuffer]);
  }

  /** Size and sha256 of everything written, once the worker has written it. */
  finish(): Promise<{size: number; sha256: string}> {
    this.worker.postMessage({end: true});
    return this.result;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private addSlot(): number {
    const buffer = new SharedArrayBuffer(SLOT);
    this.slots.push(Buffer.from(buffer));
    this.worker.postMessage({slot: this.slots.length - 1, buffer});
    return this.slots.length - 1;
  }
}

const histogram = new Uint32Array(256);

/**
 * Whether deflate is worth running on the piece, from the byte entropy of four samples
 * spread over it (a piece often holds the end of one file and the start of another).
 * Deflate's window is 32 KiB, so on data this dense it finds few matches and gains no
 * more than its Huffman codes do, about entropy/8: random, encrypted and already
 * compressed data sit at ~7.99 bits a byte, text at 4-5.5, binaries at ~6.5, fp32
 * weights at ~7.3. 16 KiB of counting costs ~40 us against ~0.3 ms for deflating them.
 */
function compressible(data: Buffer): boolean {
  if (data.length === 0) return false;
  const ranges =
    data.length <= 4 * SAMPLE
      ? [[0, data.length]]
      : [0, 1, 2, 3].map((k) => {
          const at = Math.floor(((data.length - SAMPLE) * k) / 3);
          return [at, at + SAMPLE];
        });
  histogram.fill(0);
  let n = 0;
  for (const [from, to] of ranges) {
    for (let i = from; i < to; i++) histogram[data[i]]++;
    n += to - from;
  }
  let bits = 0;
  for (const c of histogram) if (c > 0) bits -= (c / n) * Math.log2(c / n);
  return bits < MAX_ENTROPY;
}

/** A compressed gzip member for the piece, or undefined: the writer stores it. */
async function memberOf(data: Buffer): Promise<Buffer | undefined> {
  if (compressible(data)) {
    const z = await gzip(data, {level: LEVEL, chunkSize: OUT_CHUNK});
    if (z.length < data.length) return z;
  }
  return hasCrc32 ? undefined : gzip(data, {level: 0, chunkSize: OUT_CHUNK});
}

/**
 * Copies what is pushed into pieces, compresses several at once and hands them to the
 * writer in order. push() says false when no piece buffer is free: the caller pauses its
 * source until the writer's onFree.
 */
class PieceGzip {
  private slot = -1;
  private fill = 0;
  private submitted = 0;
  private tail: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly writer: ArchiveWriter,
    private readonly onError: (err: unknown) => void,
  ) {}

  push(chunk: Buffer): boolean {
    let off = 0;
    while (off < chunk.length) {
      if (this.slot < 0) {
        this.slot = this.writer.acquire();
        this.fill = 0;
      }
      const n = Math.min(SLOT - this.fill, chunk.length - off);
      chunk.copy(this.writer.buffer(this.slot), this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === SLOT) this.submit();
    }
    return this.hasRoom();
  }

  hasRoom(): boolean {
    return this.slot >= 0 || this.writer.hasFree();
  }

  /** Submits the last piece (an empty input still makes a valid gzip file) and waits for the writer to have them all. */
  async finish(): Promise<void> {
    if (this.fill > 0 || this.submitted === 0) {
      if (this.slot < 0) this.slot = this.writer.acquire();
      this.submit();
    }
    await this.tail;
  }

  private submit(): void {
    const slot = this.slot;
    const len = this.fill;
    this.slot = -1;
    this.fill = 0;
    this.submitted++;
    const job = memberOf(this.writer.buffer(slot).subarray(0, len));
    // its rejection is seen when its turn in the chain comes
    job.catch(() => undefined);
    this.tail = this.tail.then(async () => this.writer.write(slot, len, await job));
    this.tail.catch((err: unknown) => {
      if (this.failed) return;
      this.failed = true;
      this.onError(err);
    });
  }
}

// ---------------------------------------------------------------------------------------
// the archive stream
//
// Through dockerode, the engine's stream costs ~1 ms of main-thread CPU per MB (the
// http client's buffers, readable-stream copies and the GC behind them): as much as
// hashing it. On a local socket, a plain HTTP/1.1 GET read into one reused buffer
// (net's `onread`) costs a tenth of that. Other transports (tcp, TLS, ssh) go through
// dockerode.
// ---------------------------------------------------------------------------------------

/** Bytes pushed to `onData`, which returns false to pause until resume(). Slices are only valid during the call. */
interface ByteSource {
  run(onData: (chunk: Buffer) => boolean): Promise<void>;
  resume(): void;
  destroy(err: Error): void;
}

interface ModemInternals {
  socketPath?: unknown;
  version?: string;
  getSocketPath?: () => Promise<string> | undefined;
}

const READ_BUFFER = 256 * 1024;

/** The engine's error shape, so engineMessage() and statusCode() read it like dockerode's. */
class EngineHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: {message?: string} | undefined,
  ) {
    super(json?.message ?? `HTTP ${statusCode}`);
  }
}

/** Decodes Transfer-Encoding: chunked, calling emit with slices of the input. */
class ChunkedDecoder {
  private state: 'size' | 'ext' | 'data' | 'data-end' | 'trailer' | 'trailer-line' | 'done' = 'size';
  private size = 0;
  private digits = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  feed(b: Buffer, start: number, end: number, emit: (slice: Buffer) => boolean): boolean {
    let go = true;
    let i = start;
    while (i < end) {
      if (this.state === 'data') {
        const n = Math.min(this.size, end - i);
        if (!emit(b.subarray(i, i + n))) go = false;
        this.size -= n;
        i += n;
        if (this.size === 0) this.state = 'data-end';
        continue;
      }
      const c = b[i++];
      if (this.state === 'size') {
        const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
        if (v >= 0) {
          if (++this.digits > 12) throw new Error('chunk size too large');
          this.size = this.size * 16 + v;
        } else if (c === 0x0a) this.endSizeLine();
        else if (c === 0x0d || c === 0x3b || c === 0x20 || c === 0x09) this.state = 'ext';
        else throw new Error('bad chunk size');
      } else if (this.state === 'ext') {
        if (c === 0x0a) this.endSizeLine();
      } else if (this.state === 'data-end') {
        if (c === 0x0a) this.state = 'size';
        else if (c !== 0x0d) throw new Error('bad chunk end');
      } else if (this.state === 'trailer') {
        if (c === 0x0a) this.state = 'done';
        else if (c !== 0x0d) this.state = 'trailer-line';
      } else if (this.state === 'trailer-line') {
        if (c === 0x0a) this.state = 'trailer';
      } else return go;
    }
    return go;
  }

  private endSizeLine(): void {
    if (this.digits === 0) throw new Error('bad chunk size');
    this.state = this.size === 0 ? 'trailer' : 'data';
    this.digits = 0;
  }
}

interface ResponseHead {
  status: number;
  framing: 'chunked' | 'length' | 'close';
  length: number;
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? NaN);
  if (!Number.isInteger(status)) throw new Error(`bad status line "${lines[0].slice(0, 80)}"`);
  const head: ResponseHead = {status, framing: 'close', length: 0};
  for (const line of lines.slice(1)) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    const key = m?.[1].toLowerCase();
    if (key === 'transfer-encoding' && /chunked/i.test(m![2])) head.framing = 'chunked';
    else if (key === 'content-length' && head.framing !== 'chunked') {
      head.framing = 'length';
      head.length = Number(m![2]);
    }
  }
  return head;
}

/** GET over the engine's local socket, the body read into one reused buffer. */
class SocketGet implements ByteSource {
  private sock: net.Socket | undefined;
  private failure: Error | undefined;
  private headBytes: Buffer | undefined = Buffer.alloc(0);
  private head: ResponseHead = {status: 0, framing: 'close', length: 0};
  private readonly chunked = new ChunkedDecoder();
  private readonly errorBody: Buffer[] = [];
  private onData: (chunk: Buffer) => boolean = () => true;

  constructor(
    private readonly socketPath: string,
    private readonly path: string,
  ) {}

  run(onData: (chunk: Buffer) => boolean): Promise<void> {
    this.onData = onData;
    return new Promise<void>((resolve, reject) => {
      const buffer = Buffer.allocUnsafe(READ_BUFFER);
      const sock = net.connect({path: this.socketPath, onread: {buffer, callback: (n) => this.onRead(n, buffer)}});
      this.sock = sock;
      sock.on('connect', () => sock.write(`GET ${this.path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: orchestrix\r\nConnection: close\r\n\r\n`));
      sock.on('error', (err) => reject(this.failure ?? err));
      sock.on('close', () => {
        const err = this.outcome();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  resume(): void {
    if (this.sock && !this.sock.destroyed) this.sock.resume();
  }

  destroy(err: Error): void {
    this.failure ??= err;
    this.sock?.destroy();
  }

  private get complete(): boolean {
    return this.head.framing === 'chunked' ? this.chunked.done : this.head.framing === 'length' ? this.head.length === 0 : false;
  }

  private onRead(n: number, buf: Buffer): boolean {
    try {
      let go: boolean;
      if (this.headBytes) {
        this.headBytes = Buffer.concat([this.headBytes, buf.subarray(0, n)]);
        const at = this.headBytes.indexOf('\r\n\r\n');
        if (at < 0) {
          if (this.headBytes.length > 64 * 1024) throw new Error('response header too large');
          return true;
        }
        this.head = parseHead(this.headBytes.toString('latin1', 0, at));
        const rest = this.headBytes.subarray(at + 4);
        this.headBytes = undefined;
        go = this.body(rest, 0, rest.length);
      } else go = this.body(buf, 0, n);
      // the engine may keep the connection open after the last chunk
      if (this.complete) this.sock?.destroy();
      return go;
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  private body(b: Buffer, start: number, end: number): boolean {
    // a non-200 answer's body is the engine's JSON error
    const deliver = (slice: Buffer) => (this.head.status === 200 ? this.onData(slice) : (this.errorBody.push(Buffer.from(slice)), true));
    if (this.head.framing === 'chunked') return this.chunked.feed(b, start, end, deliver);
    if (this.head.framing === 'length') {
      end = Math.min(end, start + this.head.length);
      this.head.length -= end - start;
    }
    return end > start ? deliver(b.subarray(start, end)) : true;
  }

  /** Why the stream failed, once the socket is closed; undefined if it did not. */
  private outcome(): Error | undefined {
    if (this.failure) return this.failure;
    if (this.headBytes) return new Error('the engine closed the connection before answering');
    if (this.head.status !== 200) {
      const text = Buffer.concat(this.errorBody).toString('utf8');
      let json: {message?: string};
      try {
        json = JSON.parse(text) as {message?: string};
      } catch {
        json = {message: text.trim() || undefined};
      }
      return new EngineHttpError(this.head.status, json);
    }
    if (this.head.framing !== 'close' && !this.complete) return new Error('the engine stream ended early');
    return undefined;
  }
}

class DockerodeGet implements ByteSource {
  private stream: NodeJS.ReadableStream | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly container: Dockerode.Container,
    private readonly path: string,
  ) {}

  async run(onData: (chunk: Buffer) => boolean): Promise<void> {
    const s = await this.container.getArchive({path: this.path});
    this.stream = s;
    if (this.failure) {
      this.destroy(this.failure);
      throw this.failure;
    }
    await new Promise<void>((resolve, reject) => {
      s.on('data', (chunk: Buffer) => {
        try {
          if (!onData(chunk)) s.pause();
        } catch (err) {
          this.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      });
      s.on('end', resolve);
      s.on('error', (err: Error) => reject(this.failure ?? err));
      s.on('close', () => (this.failure ? reject(this.failure) : undefined));
    });
  }

  resume(): void {
    this.stream?.resume();
  }

  destroy(err: Error): void {
    this.failure ??= err;
    (this.stream as {destroy?: () => void} | undefined)?.destroy?.();
  }
}

async function archiveSource(docker: Dockerode, c: Dockerode.Container, path: string): Promise<ByteSource> {
  const modem = docker.modem as unknown as ModemInternals;
  if (modem.socketPath && typeof modem.getSocketPath === 'function') {
    const socketPath = await modem.getSocketPath();
    if (socketPath) {
      const prefix = modem.version ? `/${modem.version}` : '';
      return new SocketGet(socketPath, `${prefix}/containers/${c.id}/archive?path=${encodeURIComponent(path)}`);
    }
  }
  return new DockerodeGet(c, path);
}

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

/** sha256 hex of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of fs.createReadStream(file, {highWaterMark: SLOT})) h.update(chunk as Buffer);
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
