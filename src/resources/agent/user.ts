// Which uid an agent's container will run as, known before it starts: the agent's `user`, else
// the image's USER, with a user name looked up in the image's own /etc/passwd (a name the
// image maps to 0 is root like "root" is).
import type Dockerode from 'dockerode';
import {isNotFound} from '../../drivers/docker.js';
import {LABEL} from '../../util/labels.js';
import {numericUser, parsePasswd, type NumericUser} from '../../util/user-id.js';
import type {ApplyContext} from '../types.js';

// /etc/passwd is small; a larger one is not a passwd file worth trusting a decision to
const MAX_PASSWD_BYTES = 1024 * 1024;

export interface EffectiveUser extends NumericUser {
  /** the text the engine will be given ('' for an image without USER) */
  user: string;
}

export async function effectiveUser(after: {user: string | null; image_ref: string}, ctx: ApplyContext): Promise<EffectiveUser> {
  const user = after.user ?? (await memo(ctx, `image-user:${after.image_ref}`, () => imageUser(ctx.docker, after.image_ref)));
  const ids = numericUser(user);
  if (ids.uid !== null && ids.gid !== null) return {user, ...ids};
  const passwd = await memo(ctx, `image-passwd:${after.image_ref}`, () =>
    readImageFile(ctx.docker, after.image_ref, '/etc/passwd', ctx.workspace),
  );
  return {user, ...numericUser(user, passwd === null ? {} : parsePasswd(passwd))};
}

function memo<T>(ctx: ApplyContext, key: string, fn: () => Promise<T>): Promise<T> {
  if (!ctx.memo.has(key)) ctx.memo.set(key, fn());
  return ctx.memo.get(key) as Promise<T>;
}

async function imageUser(docker: Dockerode, ref: string): Promise<string> {
  try {
    return (await docker.getImage(ref).inspect()).Config?.User ?? '';
  } catch (err) {
    if (isNotFound(err)) throw new Error(`image ${ref} is not present on the engine`, {cause: err});
    throw err;
  }
}

/**
 * One file of an image, read through a container that is created and never started. null when
 * the image has no such file.
 */
async function readImageFile(docker: Dockerode, ref: string, file: string, workspace: string): Promise<string | null> {
  const c = await docker.createContainer({
    Image: ref,
    Cmd: ['/orx-never-started'],
    Entrypoint: [],
    NetworkDisabled: true,
    Labels: {[LABEL.workspace]: workspace},
    HostConfig: {NetworkMode: 'none', AutoRemove: false},
  });
  try {
    const stream = await c.getArchive({path: file}).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (stream === null) return null;
    const tar = await readAll(stream, MAX_PASSWD_BYTES + 1024);
    return firstTarEntry(tar);
  } finally {
    await c.remove({force: true}).catch(() => undefined);
  }
}

function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    stream.on('data', (d: Buffer) => {
      n += d.length;
      if (n > limit) {
        (stream as NodeJS.ReadableStream & {destroy?: () => void}).destroy?.();
        reject(new Error('image file too large'));
        return;
      }
      parts.push(d);
    });
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

/** The content of a tar's first regular-file entry (the engine sends exactly one). */
function firstTarEntry(tar: Buffer): string | null {
  if (tar.length < 512) return null;
  const size = parseInt(tar.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
  const type = String.fromCharCode(tar[156] ?? 48);
  if (!Number.isFinite(size) || size > MAX_PASSWD_BYTES || (type !== '0' && type !== '\0')) return null;
  return tar.subarray(512, 512 + size).toString('utf8');
}

/** "uid:gid" when both are known (what host file ownership needs), else the text as given. */
export function numericSpec(who: EffectiveUser): string {
  return who.uid !== null && who.gid !== null ? `${who.uid}:${who.gid}` : who.user;
}
