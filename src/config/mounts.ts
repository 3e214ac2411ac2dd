// "NAME:/path[:ro]" volume mounts. Only named volumes: a bind mount of a host path, the
// Docker socket or a device would undo the container's isolation.
import {posix} from 'node:path';
import {preview} from '../errors.js';
import type {VolumeMount} from './types.js';

export type MountParse = {ok: true; mount: VolumeMount} | {ok: false; error: string};

const SYSTEM_PATHS = ['/proc', '/sys', '/dev'];

/** Where agents see their secrets and identity token (a read-only bind of a host tmpfs). */
export const SECRETS_MOUNT = '/run/secrets';
/** The identity token's file name, in SECRETS_MOUNT. */
export const TOKEN_FILE = 'orx-token';
/** The tmpfs every agent gets (HARDENING.tmpfs in resources/agent/attrs.ts). */
export const TMP_MOUNT = '/tmp';

// a volume there would be refused by the engine ("Duplicate mount point") or hidden by orx's own mount
const ORX_PATHS: ReadonlyArray<{path: string; what: string}> = [
  {path: SECRETS_MOUNT, what: `orx's secrets and identity token (${SECRETS_MOUNT}/${TOKEN_FILE})`},
  {path: TMP_MOUNT, what: `the agent's tmpfs`},
];

const under = (path: string, p: string) => path === p || path.startsWith(`${p}/`);

export function parseMount(spec: string): MountParse {
  const shown = JSON.stringify(preview(spec, 60));
  const firstColon = spec.indexOf(':');
  const source = firstColon === -1 ? spec : spec.slice(0, firstColon);
  if (/^[./~\\]/.test(source) || source.includes('/') || source.includes('\\')) {
    const what = spec.includes('docker.sock') ? 'the Docker socket' : source.startsWith('/dev') ? 'a host device' : 'a host path';
    return {
      ok: false,
      error: `mounts ${what} (${shown}): host paths, docker.sock and devices are not allowed; mount a named volume from \`volumes\` instead`,
    };
  }
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || source === '')
    return {ok: false, error: `must look like "NAME:/path" or "NAME:/path:ro" (got ${shown})`};
  const [volume, target = '', mode] = parts as [string, string, string | undefined];
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw')
    return {ok: false, error: `has mode ${JSON.stringify(preview(mode, 20))}; use "ro" or "rw" (got ${shown})`};
  if (!target.startsWith('/'))
    return {ok: false, error: `mount path ${JSON.stringify(preview(target, 60))} must be absolute (start with /)`};
  if (target.split('/').includes('..'))
    return {ok: false, error: `mount path ${JSON.stringify(preview(target, 60))} must not contain ".."`};
  const path = posix.normalize(target).replace(/(.)\/$/, '$1');
  if (path === '/') return {ok: false, error: `cannot mount a volume over "/"`};
  const system = SYSTEM_PATHS.find((p) => under(path, p));
  if (system)
    return {
      ok: false,
      error: `cannot mount a volume at ${JSON.stringify(path)}: ${system} is the kernel's; choose a path of your own (e.g. /data)`,
    };
  const own = ORX_PATHS.find((o) => under(path, o.path));
  if (own)
    return {
      ok: false,
      error: `cannot mount a volume at ${JSON.stringify(path)}: ${own.path} holds ${own.what}; choose another path (e.g. /data)`,
    };
  return {ok: true, mount: {volume, path, read_only: mode === 'ro'}};
}
