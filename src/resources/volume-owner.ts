// Handing a volume's root to a uid:gid, and reading who owns it, through containers that are
// created and never started (like the DR helpers): no process runs, nothing is pulled.
import type Dockerode from 'dockerode';
import {engineMessage, type Docker} from '../drivers/docker.js';
import {ensureOwnerImage, OWNER_DIR, OWNER_IMAGE_LABEL} from '../drivers/owner-image.js';
import {OrxError} from '../errors.js';
import {LABEL} from '../util/labels.js';

export interface Ids {
  uid: number;
  gid: number;
}

export interface VolumeRoot {
  /** "uid:gid" of the volume's root directory */
  owner: string;
  /** nothing in it */
  empty: boolean;
}

export function parseOwner(owner: string): Ids {
  const [uid, gid] = owner.split(':').map(Number) as [number, number];
  return {uid, gid};
}

/**
 * Runs fn with a created, never started container of the owner image for `ids` that mounts
 * the volume at OWNER_DIR. `copy`: let the engine copy the image directory's owner onto an
 * empty volume (the hand-over); otherwise the volume is mounted as it is.
 */
async function withOwnerHelper<T>(
  docker: Docker,
  o: {volume: string; ids: Ids; copy: boolean; workspace: string},
  fn: (c: Dockerode.Container) => Promise<T>,
): Promise<T> {
  // a mount of a missing volume would quietly create one, unlabelled
  await docker.getVolume(o.volume).inspect();
  const image = await ensureOwnerImage(docker, o.ids.uid, o.ids.gid);
  const c = await docker.createContainer({
    Image: image,
    // never run; the engine refuses to create a container of an image without a command
    Cmd: ['/orx-never-started'],
    Labels: {[LABEL.workspace]: o.workspace, [OWNER_IMAGE_LABEL]: 'volume-owner'},
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: [
        {
          Type: 'volume',
          Source: o.volume,
          Target: OWNER_DIR,
          ...(o.copy ? {} : {ReadOnly: true, VolumeOptions: {NoCopy: true} as Dockerode.MountSettings['VolumeOptions']}),
        },
      ],
    },
  });
  try {
    return await fn(c);
  } finally {
    await c.remove({force: true}).catch(() => undefined);
  }
}

/**
 * Hands an empty volume's root to uid:gid (mode 0755, as the owner image's directory); the
 * engine copies nothing onto a volume with something in it, so data is never re-owned.
 * Returns what the root is afterwards.
 */
export async function handOver(docker: Docker, volume: string, ids: Ids, workspace: string): Promise<VolumeRoot> {
  await engineCall(`cannot hand volume ${volume} to ${ids.uid}:${ids.gid}`, () =>
    withOwnerHelper(docker, {volume, ids, copy: true, workspace}, () => Promise.resolve(undefined)),
  );
  return readRoot(docker, volume, workspace);
}

async function engineCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OrxError) throw err;
    throw new OrxError({code: 'engine_error', kind: 'external', message: `${what}: ${engineMessage(err)}`, cause: err});
  }
}

// the root's header and the next one; PAX records before them are small
const MAX_READ = 64 * 1024;

/** Who owns the volume's root and whether anything is in it: the first two entries of its archive, the rest never read. */
export async function readRoot(docker: Docker, volume: string, workspace: string): Promise<VolumeRoot> {
  return engineCall(`cannot read the owner of volume ${volume}`, () =>
    withOwnerHelper(docker, {volume, ids: {uid: 0, gid: 0}, copy: false, workspace}, async (c) => {
      const stream = await c.getArchive({path: OWNER_DIR});
      const parts: Buffer[] = [];
      let got = 0;
      let root: ReturnType<typeof rootOf> = null;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          parts.push(chunk);
          got += chunk.length;
          root = rootOf(Buffer.concat(parts));
          if (root || got >= MAX_READ) break;
        }
      } finally {
        (stream as NodeJS.ReadableStream & {destroy?: () => void}).destroy?.();
      }
      root ??= rootOf(Buffer.concat(parts), true);
      if (!root)
        throw new OrxError({
          code: 'engine_error',
          kind: 'external',
          message: `cannot read the owner of volume ${volume}: the engine's archive had no entry for it`,
        });
      return root;
    }),
  );
}

/** Octal ASCII, or GNU base-256 when the high bit of the first byte is set. */
function num(b: Buffer, off: number, len: number): number {
  if ((b[off] & 0x80) !== 0) {
    let n = b[off] & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + b[off + i];
    return n;
  }
  const t = b
    .toString('latin1', off, off + len)
    .replace(/\0.*$/s, '')
    .trim();
  return t === '' ? 0 : parseInt(t, 8);
}

const padded = (n: number) => Math.ceil(n / 512) * 512;

/**
 * The root directory's owner from the start of a tar, once the header after it is there too
 * (or `atEnd`: the stream ended, so nothing follows). null: not enough bytes yet.
 */
export function rootOf(tar: Buffer, atEnd = false): VolumeRoot | null {
  let off = 0;
  const pax: {uid?: number; gid?: number} = {};
  for (;;) {
    if (tar.length < off + 512) return null;
    const type = String.fromCharCode(tar[off + 156]);
    const size = num(tar, off + 124, 12);
    if (type !== 'x' && type !== 'g') break;
    if (tar.length < off + 512 + size) return null;
    for (const rec of tar.toString('utf8', off + 512, off + 512 + size).split('\n')) {
      const m = /^\d+ (uid|gid)=(\d+)$/.exec(rec);
      if (m) pax[m[1] as 'uid' | 'gid'] = Number(m[2]);
    }
    off += 512 + padded(size);
  }
  const uid = pax.uid ?? num(tar, off + 108, 8);
  const gid = pax.gid ?? num(tar, off + 116, 8);
  const next = off + 512 + padded(num(tar, off + 124, 12));
  if (tar.length < next + 512 && !atEnd) return null;
  // the archive ends with zero blocks: a second entry has a name
  const empty = tar.length < next + 512 || tar[next] === 0;
  return {owner: `${uid}:${gid}`, empty};
}

/**
 * Removes owner helpers a killed orx left mounting the volume; true when there were any. Only
 * this workspace's; a container of an owner image carries its label and has nothing to run.
 */
export async function removeLeftoverHelpers(docker: Docker, volume: string, workspace: string): Promise<boolean> {
  const left = await docker.listContainers({
    all: true,
    filters: {label: [`${LABEL.workspace}=${workspace}`, `${OWNER_IMAGE_LABEL}=volume-owner`], volume: [volume]},
  });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({force: true})));
  return left.length > 0;
}
