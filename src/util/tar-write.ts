// The few ustar entries orx writes itself (the small images it loads or imports): plain
// names under 100 bytes, numeric owners, no links.
const BLOCK = 512;

/** Two zero blocks: the end of an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

export interface TarEntry {
  mode: number;
  uid?: number;
  gid?: number;
  size: number;
  /** '0' a regular file, '5' a directory */
  type: '0' | '5';
}

export function tarHeader(name: string, o: TarEntry): Buffer {
  const b = Buffer.alloc(BLOCK);
  const put = (s: string, off: number, len: number) => b.write(s, off, len, 'latin1');
  const octal = (n: number, off: number, len: number) => put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
  put(name, 0, 100);
  octal(o.mode, 100, 8);
  octal(o.uid ?? 0, 108, 8);
  octal(o.gid ?? 0, 116, 8);
  octal(o.size, 124, 12);
  octal(0, 136, 12);
  put(o.type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  // the checksum is computed with its own field as spaces
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  octal(sum, 148, 7);
  return b;
}

/** A regular file entry, root's: header, data, padding. */
export function tarFile(name: string, data: Buffer, mode = 0o644): Buffer[] {
  return [tarHeader(name, {mode, size: data.length, type: '0'}), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)];
}
