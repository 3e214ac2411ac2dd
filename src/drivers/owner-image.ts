// A tiny image per uid:gid, holding one empty directory owned by them. A container created
// (never started) from it with an empty volume mounted on that directory makes the engine copy
// the directory's owner and mode onto the volume's root: a fresh volume is handed to uid:gid
// with no process running, nothing pulled, and the mode left at 0755.
//
// The image is loaded from a docker-archive built here, so its id is the digest of a config
// that never changes: two processes making it at once make the same image, and nothing is
// left dangling.
import {createHash} from 'node:crypto';
import {Readable} from 'node:stream';
import {followProgress, isNotFound, type Docker} from './docker.js';

/** The directory in the image, and where a helper container mounts the volume. */
export const OWNER_DIR = '/v';
export const OWNER_IMAGE_LABEL = 'io.orchestrix.helper';

const BLOCK = 512;

export function ownerImageTag(uid: number, gid: number): string {
  return `orx-volume-owner:${uid}-${gid}`;
}

/** One ustar header: directories (size 0) and the regular files of the archive below. */
function tarHeader(name: string, o: {mode: number; uid: number; gid: number; size: number; type: '0' | '5'}): Buffer {
  const b = Buffer.alloc(BLOCK);
  const put = (s: string, off: number, len: number) => b.write(s, off, len, 'latin1');
  const octal = (n: number, off: number, len: number) => put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
  put(name, 0, 100);
  octal(o.mode, 100, 8);
  octal(o.uid, 108, 8);
  octal(o.gid, 116, 8);
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

/** A regular file entry, root's, mode 0644: header, data, padding. */
export function tarFile(name: string, data: Buffer): Buffer[] {
  return [tarHeader(name, {mode: 0o644, uid: 0, gid: 0, size: data.length, type: '0'}), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)];
}

const END = Buffer.alloc(2 * BLOCK);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The docker-archive (`docker save` format) of the owner image for uid:gid. */
export function ownerImageArchive(uid: number, gid: number): Buffer {
  const dir = OWNER_DIR.slice(1);
  const layer = Buffer.concat([tarHeader(`${dir}/`, {mode: 0o755, uid, gid, size: 0, type: '5'}), END]);
  const diffId = sha256(layer);
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: {Labels: {[OWNER_IMAGE_LABEL]: 'volume-owner'}},
      rootfs: {type: 'layers', diff_ids: [`sha256:${diffId}`]},
    }),
  );
  const configName = `${sha256(config)}.json`;
  const manifest = Buffer.from(JSON.stringify([{Config: configName, RepoTags: [ownerImageTag(uid, gid)], Layers: [`${diffId}/layer.tar`]}]));
  return Buffer.concat([...tarFile(configName, config), ...tarFile(`${diffId}/layer.tar`, layer), ...tarFile('manifest.json', manifest), END]);
}

/** The owner image's tag, loaded into the engine first when it is not there. */
export async function ensureOwnerImage(docker: Docker, uid: number, gid: number): Promise<string> {
  const tag = ownerImageTag(uid, gid);
  try {
    await docker.getImage(tag).inspect();
    return tag;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await followProgress(docker, await docker.loadImage(Readable.from([ownerImageArchive(uid, gid)]), {quiet: true}));
  return tag;
}
