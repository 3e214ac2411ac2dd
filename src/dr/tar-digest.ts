import {createHash, type Hash} from 'node:crypto';
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
 */
export const CONTENT_DIGEST_FORMAT = 1;

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
function encodePath(s: string): string {
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
    if (key === 'path') into.path = value;
    else if (key === 'linkpath') into.linkpath = value;
    else if (key === 'size' || key === 'uid' || key === 'gid') {
      if (!/^\d+$/.test(value)) throw corrupt(`bad PAX ${key} "${value}"`);
      into[key] = Number(value);
    }
  }
}

const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

type Meta = 'pax' | 'global' | 'longname' | 'longlink';

/**
 * A push parser for tar (ustar, POSIX pax, GNU long names and base-256 numbers) that
 * hashes regular files' content as it streams past: one pass, no copy of the data.
 */
export class TarDigest {
  private readonly entries = new Map<string, Entry>();
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** bytes of entry data still to come, then padding to skip */
  private remaining = 0;
  private padding = 0;
  private hash: Hash | undefined;
  /** the regular file whose content is being hashed */
  private pending: {path: string | undefined; head: string; size: number} | undefined;
  private meta: {kind: Meta; parts: Buffer[]} | undefined;
  private next: PaxOverrides = {};
  private global: PaxOverrides = {};
  private ended = false;
  private zeroBlocks = 0;

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.ended) return;
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - pos);
        const part = chunk.subarray(pos, pos + n);
        if (this.hash) this.hash.update(part);
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
    if (this.remaining > 0 || this.padding > 0 || this.headerFill > 0 || this.meta || this.pending) throw corrupt('the stream ends inside an entry');
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
    const meta: Meta | undefined = flag === 'x' ? 'pax' : flag === 'g' ? 'global' : flag === 'L' ? 'longname' : flag === 'K' ? 'longlink' : undefined;
    if (meta) {
      if (size > MAX_META) throw corrupt(`a ${meta} entry of ${size} bytes`);
      this.meta = {kind: meta, parts: []};
      this.startData(size);
      return;
    }
    const o = {...this.global, ...this.next};
    this.next = {};
    // GNU tar puts atime/ctime where ustar has the name prefix
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? text(h, 345, 155) : '';
    const raw = o.path ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const link = o.linkpath ?? text(h, 157, 100);
    if (o.size !== undefined) size = o.size;
    const mode = num(h, 100, 8) & 0o7777;
    const uid = o.uid ?? num(h, 108, 8);
    const gid = o.gid ?? num(h, 116, 8);
    let type = 'o';
    if (flag === '0' || flag === '7') type = raw.endsWith('/') && flag === '0' ? 'd' : 'f';
    else if (flag === '5') type = 'd';
    else if (flag === '2') type = 'l';
    else if (flag === '1') type = 'h';
    const rel = relative(raw);
    // the root has no line, but its data (if it claims any) must still be skipped
    const path = rel === '' ? undefined : encodePath(rel);
    const head = `${type} ${path} ${mode.toString(8).padStart(4, '0')} ${uid}:${gid}`;
    if (type === 'f') {
      this.pending = {path, head, size};
      this.hash = createHash('sha256');
      this.startData(size);
      return;
    }
    const detail = type === 'l' ? encodePath(link) : type === 'h' ? encodePath(relative(link)) : '-';
    if (path !== undefined) this.entries.set(path, {line: `${head} - ${detail}\n`, type, size: 0});
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
    if (this.pending && this.hash) {
      const {path, head, size} = this.pending;
      if (path !== undefined) this.entries.set(path, {line: `${head} ${size} ${this.hash.digest('hex')}\n`, type: 'f', size});
      this.pending = undefined;
      this.hash = undefined;
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
