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
import {TAR_END, tarFile, tarHeader} from '../util/tar-write.js';

/** The directory in the image, and where a helper container mounts the volume. */
export const OWNER_DIR = '/v';
export const OWNER_IMAGE_LABEL = 'io.orchestrix.helper';

export function ownerImageTag(uid: number, gid: number): string {
  return `orx-volume-owner:${uid}-${gid}`;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The docker-archive (`docker save` format) of the owner image for uid:gid. */
export function ownerImageArchive(uid: number, gid: number): Buffer {
  const dir = OWNER_DIR.slice(1);
  const layer = Buffer.concat([tarHeader(`${dir}/`, {mode: 0o755, uid, gid, size: 0, type: '5'}), TAR_END]);
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
  const manifest = Buffer.from(
    JSON.stringify([{Config: configName, RepoTags: [ownerImageTag(uid, gid)], Layers: [`${diffId}/layer.tar`]}]),
  );
  return Buffer.concat([
    ...tarFile(configName, config),
    ...tarFile(`${diffId}/layer.tar`, layer),
    ...tarFile('manifest.json', manifest),
    TAR_END,
  ]);
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
