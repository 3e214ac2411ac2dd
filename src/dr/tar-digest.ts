import {createHash} from 'node:crypto';
import {OrxError} from '../errors.js';

/**
 * The content digest of a volume, computed from the tar stream the engine's archive
 * endpoint sends, so a backup and a restored volume can be compared without trusting
 * timestamps or the tar's own byte layout.
 *
 * Definition (format 1): sha256 over one line per entry, each line ending in "\n",
 * sorted by <path> in UTF-16 code-unit order (the encoded paths are ASCII, so this is
 * byte order):
 *
 *   <type> <path> <mode> <uid>:<gid> <size> <detail>
 *
 * - type: f regular file, d directory, l symlink, h hard link, o anything else
 *   (devices, fifos, GNU sparse files, ...)
 * - path: relative to the volume root: the first path component (the mount directory,
 *   or "." when the engine is asked for "<mount>/.") is removed and so are trailing
 *   slashes; the root itself has no line. When a path occurs twice the later entry wins,
 *   as it does on extraction.
 * - mode: permission bits plus setuid/setgid/sticky (mode & 0o7777), octal, at least
 *   4 digits ("0644")
 * - uid:gid: decimal numeric ids (names are ignored: they depend on the image)
 * - size: decimal byte count for f, "-" for the rest
 * - detail: sha256 hex of the content for f; the link target for l; the target's path
 *   (relative to the root, as above) for h; "-" for d and o
 *
 * Paths and link targets are taken as the raw bytes of the tar header (one code unit per
 * byte), and every byte outside 0x21..0x7e, and "%" itself, is written as %XX (upper-case
 * hex), so a name with a space or newline cannot forge another line. mtimes, atimes,
 * user/group names, xattrs and device numbers are not part of the digest: extraction
 * may change the first ones, and the rest do not survive every engine.
 *
 * Format 2 (orx's own helper writes and reads the archives, see helper.ts): as format 1,
 * with two changes, so that a sparse file costs its data, not its size:
 *
 *   <type> <path> <mode> <uid>:<gid> <size> <mtime> <detail>
 *
 * - mtime: seconds "." nanoseconds (9 digits) for f, d and l ("-" for h and o): the
 *   helper restores them, so a restore that loses one is caught
 * - detail of f: sha256 over the file's data blocks only. The file is cut into 4096-byte
 *   blocks at offsets 0, 4096, ... (the last may be shorter); a block of nothing but
 *   zeros counts as a hole, whether it was stored as one or written. For every maximal
 *   run of other blocks: its offset (8 bytes big-endian), its bytes, its length (8 bytes
 *   big-endian). So a file with holes and the same file with its zeros written digest
 *   alike, and only data is hashed. A GNU sparse 1.0 entry (pax GNU.sparse.*) is read as
 *   the file it stands for (its size is GNU.sparse.realsize).
 *
 * Manifests record the format of their digests (content_digest_format; absent: 1).
 */
export const CONTENT_DIGEST_FORMAT = 2;
export type DigestFormat = 1 | 2;

export interface ContentDigest {
  content_digest: string;
  /** regular files */
  files: number;
  /** total size of regular files */
  bytes: number;
}

interface Entry {
  line: string;
  type: string;
  size: number;
}

interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: string;
  'GNU.sparse.major'?: number;
  'GNU.sparse.minor'?: number;
  'GNU.sparse.realsize'?: number;
  'GNU.sparse.name'?: string;
}

/** One archive entry as extraction sees it (for the restorability check). */
export interface TarEntry {
  /** the tar type flag ('0' for a regular file) */
  flag: string;
  /** raw bytes, one code unit per byte */
  path: string;
  linkpath: string;
  sparse: boolean;
}

const BLOCK = 512;
// metadata entries (PAX records, GNU long names) are read into memory; a larger one is
// not something a real archive has
const MAX_META = 1 << 20;

function corrupt(message: string): OrxError {
  return new OrxError({
    code: 'dr_archive_corrupt',
    kind: 'external',
    message: `The volume archive stream is not a valid tar: ${message}`,
    actions: ['Check the archive file against its recorded sha256; the engine or the file may have truncated it.'],
  });
}

/** Reads a NUL-terminated field as raw bytes (latin1: one code unit per byte). */
function text(b: Buffer, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && b[end] !== 0) end++;
  return b.toString('latin1', start, end);
}

/** Octal ASCII, or GNU base-256 when the high bit of the first byte is set. */
function num(b: Buffer, start: number, len: number): number {
  if (b[start] & 0x80) {
    let v = b[start] & 0x3f;
    if (b[start] & 0x40) throw corrupt('negative base-256 number');
    for (let i = 1; i < len; i++) v = v * 256 + b[start + i];
    return v;
  }
  const s = text(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw corrupt(`bad octal field "${s}"`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += h[i];
  for (let i = 156; i < BLOCK; i++) sum += h[i];
  return sum === num(h, 148, 8);
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

const SAFE = /^[\x21\x22\x23\x24\x26-\x7e]*$/;
/** Bytes outside 0x21..0x7e and "%" as %XX (as the helper writes paths in its messages too). */
export function encodePath(s: string): string {
  if (SAFE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c <= 0x20 || c >= 0x7f || c === 0x25 ? `%${c.toString(16).toUpperCase().padStart(2, '0')}` : s[i];
  }
  return out;
}

/** Volume-relative path: first component and trailing slashes dropped; '' is the root. */
function relative(p: string): string {
  let end = p.length;
  while (end > 0 && p.charCodeAt(end - 1) === 0x2f) end--;
  const slash = p.indexOf('/');
  return slash < 0 || slash >= end ? '' : p.slice(slash + 1, end);
}

/** PAX records "<len> <key>=<value>\n"; values kept as raw bytes like header fields. */
function parsePax(b: Buffer, into: PaxOverrides): void {
  let pos = 0;
  while (pos < b.length) {
    const sp = b.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(b.toString('latin1', pos, sp), 10);
    if (!Number.isFinite(len) || len <= sp - pos || pos + len > b.length) throw corrupt('bad PAX record');
    const rec = b.toString('latin1', sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    pos += len;
    if (eq < 0) continue;
    const key = rec.slice(0, eq);
    const value = rec.slice(eq + 1);
    if (key === 'path' || key === 'linkpath' || key === 'GNU.sparse.name') into[key] = value;
    else if (key === 'mtime') {
      if (!/^-?\d+(\.\d*)?$/.test(value)) throw corrupt(`bad PAX mtime "${value}"`);
      into.mtime = value;
    } else if (
      key === 'size' ||
      key === 'uid' ||
      key === 'gid' ||
      key === 'GNU.sparse.major' ||
      key === 'GNU.sparse.minor' ||
      key === 'GNU.sparse.realsize'
    ) {
      if (!/^\d+$/.test(value)) throw corrupt(`bad PAX ${key} "${value}"`);
      into[key] = Number(value);
    }
  }
}

const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

type Meta = 'pax' | 'global' | 'longname' | 'longlink';

/** Where a regular file's data goes: written bytes, holes (zeros not stored) and the end. */
interface FileHash {
  write(b: Buffer): void;
  /** zeros up to logical offset `off` */
  skipTo(off: number): void;
  end(size: number): string;
}

const ZEROS = Buffer.alloc(1 << 20);

/** Format 1: sha256 of every byte, holes as zeros. */
class PlainHash implements FileHash {
  private readonly h = createHash('sha256');
  private pos = 0;
  write(b: Buffer): void {
    this.h.update(b);
    this.pos += b.length;
  }
  skipTo(off: number): void {
    while (this.pos < off) this.write(ZEROS.subarray(0, Math.min(ZEROS.length, off - this.pos)));
  }
  end(size: number): string {
    this.skipTo(size);
    return this.h.digest('hex');
  }
}

const BS = 4096;
const ZERO_BLOCK = Buffer.alloc(BS);
const be64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

/** Format 2: runs of non-zero 4096-byte blocks, each as offset, bytes, length. */
class DataBlocksHash implements FileHash {
  private readonly h = createHash('sha256');
  /** logical offset of the next byte */
  private pos = 0;
  /** a block not yet whole: its first `fill` bytes */
  private readonly block = Buffer.alloc(BS);
  private fill = 0;
  private runLength = -1;

  write(b: Buffer): void {
    let i = 0;
    if (this.fill > 0) {
      const n = Math.min(BS - this.fill, b.length);
      b.copy(this.block, this.fill, 0, n);
      this.fill += n;
      this.pos += n;
      i = n;
      if (this.fill < BS) return;
      this.fill = 0;
      this.flush(this.block, this.pos - BS);
    }
    // whole blocks straight from the chunk: contiguous data blocks in one update
    let span = -1;
    for (; i + BS <= b.length; i += BS) {
      if (b.subarray(i, i + BS).equals(ZERO_BLOCK)) {
        if (span >= 0) this.data(b.subarray(span, i), this.pos + (span - i));
        span = -1;
        this.hole();
      } else if (span < 0) span = i;
      this.pos += BS;
    }
    if (span >= 0) this.data(b.subarray(span, i), this.pos - (i - span));
    if (i < b.length) {
      b.copy(this.block, 0, i);
      this.fill = b.length - i;
      this.pos += this.fill;
    }
  }

  skipTo(off: number): void {
    if (off <= this.pos) return;
    if (this.fill > 0) {
      const n = Math.min(BS - this.fill, off - this.pos);
      this.block.fill(0, this.fill, this.fill + n);
      this.fill += n;
      this.pos += n;
      if (this.fill < BS) return;
      this.fill = 0;
      this.flush(this.block, this.pos - BS);
    }
    const whole = Math.floor((off - this.pos) / BS) * BS;
    if (whole > 0) {
      this.hole();
      this.pos += whole;
    }
    if (off > this.pos) {
      this.fill = off - this.pos;
      this.block.fill(0, 0, this.fill);
      this.pos = off;
    }
  }

  end(size: number): string {
    this.skipTo(size);
    if (this.fill > 0) this.flush(this.block.subarray(0, this.fill), this.pos - this.fill);
    this.fill = 0;
    this.hole();
    return this.h.digest('hex');
  }

  private flush(block: Buffer, at: number): void {
    if (block.equals(ZERO_BLOCK.subarray(0, block.length))) this.hole();
    else this.data(block, at);
  }

  private data(bytes: Buffer, at: number): void {
    if (this.runLength < 0) {
      this.h.update(be64(at));
      this.runLength = 0;
    }
    this.h.update(bytes);
    this.runLength += bytes.length;
  }

  private hole(): void {
    if (this.runLength < 0) return;
    this.h.update(be64(this.runLength));
    this.runLength = -1;
  }
}

// a sparse map is decimal numbers, one per line; more regions than this is not a file
const MAX_REGIONS = 16 * 1024 * 1024;

/** A GNU sparse 1.0 entry's data: the map, its padding, then the regions' bytes. */
class SparseData {
  private readonly numbers: number[] = [];
  private digits = '';
  private want = -1;
  private consumed = 0;
  private padding = -1;
  private region = 0;
  private regionLeft = 0;

  constructor(
    private readonly file: FileHash,
    private readonly realsize: number,
  ) {}

  write(b: Buffer): void {
    let i = 0;
    while (i < b.length) {
      if (this.padding < 0) {
        const c = b[i++];
        this.consumed++;
        if (c !== 0x0a) {
          if (c < 0x30 || c > 0x39 || this.digits.length >= 16) throw corrupt('bad sparse map');
          this.digits += String.fromCharCode(c);
          continue;
        }
        if (this.digits === '') throw corrupt('bad sparse map');
        this.numbers.push(Number(this.digits));
        this.digits = '';
        if (this.want < 0) {
          if (this.numbers[0] > MAX_REGIONS) throw corrupt('a sparse map of too many regions');
          this.want = 1 + 2 * this.numbers[0];
        }
        if (this.numbers.length === this.want) this.startData();
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, b.length - i);
        this.padding -= n;
        i += n;
        continue;
      }
      while (this.regionLeft === 0) this.nextRegion();
      const n = Math.min(this.regionLeft, b.length - i);
      this.file.write(b.subarray(i, i + n));
      this.regionLeft -= n;
      i += n;
    }
  }

  /** The file's digest, once the entry's data is all through; throws if map and data disagree. */
  end(): string {
    if (this.padding !== 0 || this.digits !== '' || this.numbers.length !== this.want) throw corrupt('a sparse entry ends inside its map');
    while (this.regionLeft === 0 && this.region < this.numbers[0]) this.nextRegion();
    if (this.regionLeft > 0 || this.region < this.numbers[0]) throw corrupt('a sparse entry ends before its data');
    return this.file.end(this.realsize);
  }

  private startData(): void {
    this.padding = (BLOCK - (this.consumed % BLOCK)) % BLOCK;
    let prev = 0;
    for (let r = 0; r < this.numbers[0]; r++) {
      const off = this.numbers[1 + 2 * r];
      const len = this.numbers[2 + 2 * r];
      if (off < prev || off + len > this.realsize) throw corrupt('a sparse map out of order or past the file');
      prev = off + len;
    }
  }

  private nextRegion(): void {
    if (this.region >= this.numbers[0]) throw corrupt('sparse data past its map');
    this.file.skipTo(this.numbers[1 + 2 * this.region]);
    this.regionLeft = this.numbers[2 + 2 * this.region]!;
    this.region++;
  }
}

/** seconds.nanoseconds, 9 digits */
function mtimeText(pax: string | undefined, header: number): string {
  if (pax === undefined) return `${header}.000000000`;
  const [sec, frac = ''] = pax.split('.');
  return `${sec}.${frac.padEnd(9, '0').slice(0, 9)}`;
}

/**
 * A push parser for tar (ustar, POSIX pax, GNU long names, GNU sparse 1.0 and base-256
 * numbers) that hashes regular files' content as it streams past: one pass, no copy of
 * the data. `onEntry` sees every entry (not the metadata ones) as extraction would.
 */
export class TarDigest {
  private readonly entries = new Map<string, Entry>();
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** bytes of entry data still to come, then padding to skip */
  private remaining = 0;
  private padding = 0;
  /** the regular file whose content is being hashed */
  private pending:
    {path: string | undefined; head: string; size: number; mtime: string; file: FileHash; sparse: SparseData | undefined} | undefined;
  private meta: {kind: Meta; parts: Buffer[]} | undefined;
  private next: PaxOverrides = {};
  private global: PaxOverrides = {};
  private ended = false;
  private zeroBlocks = 0;

  constructor(
    readonly format: DigestFormat = CONTENT_DIGEST_FORMAT,
    private readonly onEntry?: (e: TarEntry) => void,
  ) {}

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.ended) return;
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - pos);
        const part = chunk.subarray(pos, pos + n);
        if (this.pending) (this.pending.sparse ?? this.pending.file).write(part);
        else if (this.meta) this.meta.parts.push(Buffer.from(part));
        this.remaining -= n;
        pos += n;
        if (this.remaining === 0) this.finishData();
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - pos);
        this.padding -= n;
        pos += n;
        continue;
      }
      // a header: parse in place when it is whole in the chunk, else gather it
      if (this.headerFill === 0 && chunk.length - pos >= BLOCK) {
        this.onHeader(chunk.subarray(pos, pos + BLOCK));
        pos += BLOCK;
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - pos);
      chunk.copy(this.header, this.headerFill, pos, pos + n);
      this.headerFill += n;
      pos += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.onHeader(this.header);
      }
    }
  }

  /** The digest of everything pushed; throws if the stream stopped inside an entry. */
  end(): ContentDigest {
    if (this.remaining > 0 || this.padding > 0 || this.headerFill > 0 || this.meta || this.pending)
      throw corrupt('the stream ends inside an entry');
    // a stream cut between two entries looks whole but for the end-of-archive blocks
    if (!this.ended && this.zeroBlocks === 0) throw corrupt('the stream ends without the end-of-archive marker');
    const paths = [...this.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const h = createHash('sha256');
    let files = 0;
    let bytes = 0;
    for (const p of paths) {
      const e = this.entries.get(p)!;
      h.update(e.line);
      if (e.type === 'f') {
        files++;
        bytes += e.size;
      }
    }
    return {content_digest: h.digest('hex'), files, bytes};
  }

  private onHeader(h: Buffer): void {
    if (isZeroBlock(h)) {
      // two zero blocks end the archive; the engine may send more padding after them
      if (++this.zeroBlocks === 2) this.ended = true;
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(h)) throw corrupt('header checksum mismatch');
    const flag = h[156] === 0 ? '0' : String.fromCharCode(h[156]);
    let size = num(h, 124, 12);
    const meta: Meta | undefined =
      flag === 'x' ? 'pax' : flag === 'g' ? 'global' : flag === 'L' ? 'longname' : flag === 'K' ? 'longlink' : undefined;
    if (meta) {
      if (size > MAX_META) throw corrupt(`a ${meta} entry of ${size} bytes`);
      if (meta === 'global') this.onEntry?.({flag, path: '', linkpath: '', sparse: false});
      this.meta = {kind: meta, parts: []};
      this.startData(size);
      return;
    }
    const o = {...this.global, ...this.next};
    this.next = {};
    // GNU tar puts atime/ctime where ustar has the name prefix
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? text(h, 345, 155) : '';
    const raw = o['GNU.sparse.name'] ?? o.path ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const link = o.linkpath ?? text(h, 157, 100);
    if (o.size !== undefined) size = o.size;
    const mode = num(h, 100, 8) & 0o7777;
    const uid = o.uid ?? num(h, 108, 8);
    const gid = o.gid ?? num(h, 116, 8);
    const sparseKeys = o['GNU.sparse.major'] !== undefined || o['GNU.sparse.minor'] !== undefined || o['GNU.sparse.realsize'] !== undefined;
    let type = 'o';
    if (flag === '0' || flag === '7') type = raw.endsWith('/') && flag === '0' && !sparseKeys ? 'd' : 'f';
    else if (flag === '5') type = 'd';
    else if (flag === '2') type = 'l';
    else if (flag === '1') type = 'h';
    if (
      sparseKeys &&
      (type !== 'f' || o['GNU.sparse.major'] !== 1 || o['GNU.sparse.minor'] !== 0 || o['GNU.sparse.realsize'] === undefined)
    )
      throw corrupt(`unsupported sparse entry ${encodePath(raw)}`);
    this.onEntry?.({flag, path: raw, linkpath: link, sparse: sparseKeys});
    const rel = relative(raw);
    // the root has no line, but its data (if it claims any) must still be skipped
    const path = rel === '' ? undefined : encodePath(rel);
    const head = `${type} ${path} ${mode.toString(8).padStart(4, '0')} ${uid}:${gid}`;
    const mtime =
      this.format === 2 && type !== 'h' && type !== 'o' ? ` ${mtimeText(o.mtime, num(h, 136, 12))}` : this.format === 2 ? ' -' : '';
    if (type === 'f') {
      const file = this.format === 2 ? new DataBlocksHash() : new PlainHash();
      const realsize = sparseKeys ? o['GNU.sparse.realsize']! : size;
      this.pending = {path, head, size: realsize, mtime, file, sparse: sparseKeys ? new SparseData(file, realsize) : undefined};
      this.startData(size);
      return;
    }
    const detail = type === 'l' ? encodePath(link) : type === 'h' ? encodePath(relative(link)) : '-';
    if (path !== undefined) this.entries.set(path, {line: `${head} -${mtime} ${detail}\n`, type, size: 0});
    // as Go's archive/tar (the engine's) reads them: links, devices, fifos and
    // directories never carry data whatever their size field says; other types' data is skipped
    this.startData(HEADER_ONLY.has(flag) ? 0 : size);
  }

  private startData(size: number): void {
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.finishData();
  }

  private finishData(): void {
    const p = this.pending;
    if (p) {
      const digest = p.sparse ? p.sparse.end() : p.file.end(p.size);
      if (p.path !== undefined) this.entries.set(p.path, {line: `${p.head} ${p.size}${p.mtime} ${digest}\n`, type: 'f', size: p.size});
      this.pending = undefined;
      return;
    }
    const m = this.meta;
    if (!m) return;
    this.meta = undefined;
    const data = Buffer.concat(m.parts);
    if (m.kind === 'pax') parsePax(data, this.next);
    else if (m.kind === 'global') parsePax(data, this.global);
    else if (m.kind === 'longname') this.next.path = text(data, 0, data.length);
    else this.next.linkpath = text(data, 0, data.length);
  }
}
