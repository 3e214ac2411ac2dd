// The archive file of a volume backup: gzip as a series of members, compressed on the libuv
// threadpool and hashed and written on a worker thread (see below for why).
import {Worker} from 'node:worker_threads';
import {promisify} from 'node:util';
import zlib from 'node:zlib';
import {OrxError} from '../errors.js';

// ---------------------------------------------------------------------------------------
// Why: one zlib stream runs on one core, and deflate crawls through incompressible data
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

export const SLOT = 1 << 20;
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
export class ArchiveWriter {
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
        reject(err instanceof Error ? err : new Error(String(err)));
        this.onError(err);
      };
      this.worker.on('message', (m: WorkerReply) => {
        if (m.error !== undefined)
          failed(new OrxError({code: 'file_error', kind: 'external', message: `Cannot write ${dest}: ${m.error}`}));
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
    const owned =
      member.byteOffset === 0 && member.byteLength === member.buffer.byteLength && member.buffer instanceof ArrayBuffer
        ? member
        : new Uint8Array(member);
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
export class PieceGzip {
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
