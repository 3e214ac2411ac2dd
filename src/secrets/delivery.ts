// Secret values reach an agent as files on a host tmpfs, bind-mounted read-only at
// /run/secrets: RAM only (never a disk, so nothing survives a reboot or lands in a backup),
// mode 0400 and owned by the agent's uid, in a directory per agent that is removed with it.
import {createHash, randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {OrxError} from '../errors.js';

/** Where agents see their secrets. */
export const SECRETS_MOUNT = '/run/secrets';
/** The orchestrator-issued identity token, next to the secrets. */
export const TOKEN_FILE = 'orx-token';

// statfs f_type of tmpfs (and of ramfs, which is RAM-backed as well)
const RAM_FILESYSTEMS = new Set([0x01021994, 0x858458f6]);

/** $XDG_RUNTIME_DIR/orchestrix when that is set, else /dev/shm/orchestrix. */
export function secretsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : '/dev/shm', 'orchestrix');
}

/** One directory per workspace (its name plus a digest of its path: two checkouts never share) and agent container. */
export function workspaceSecretsDir(root: string, workspaceDir: string, workspace: string): string {
  const digest = createHash('sha256').update(path.resolve(workspaceDir)).digest('hex').slice(0, 8);
  return path.join(root, `${workspace}-${digest}`);
}

export function agentSecretsDir(root: string, workspaceDir: string, workspace: string, containerName: string): string {
  return path.join(workspaceSecretsDir(root, workspaceDir, workspace), containerName);
}

/** Refuses a directory that is not on a RAM-backed filesystem: a secret must never touch a disk. */
export function assertRamBacked(dir: string): void {
  let type: number;
  try {
    type = Number(fs.statfsSync(dir).type);
  } catch (err) {
    throw new OrxError({code: 'secrets_dir', message: `cannot check the filesystem of ${dir}: ${(err as Error).message}`});
  }
  if (!RAM_FILESYSTEMS.has(type)) {
    throw new OrxError({
      code: 'secrets_not_tmpfs',
      message: `${dir} is not on a tmpfs (filesystem type 0x${type.toString(16)}): orx writes secret values only to RAM-backed filesystems`,
      actions: ['Set XDG_RUNTIME_DIR to a tmpfs directory (it usually is one: /run/user/UID), or make /dev/shm a tmpfs.'],
    });
  }
}

export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * The uid:gid files are given to: the agent's `user`, else its image's USER. Only numbers
 * can be used for ownership on the host (a user name means something only inside the image).
 */
export function secretsOwner(address: string, user: string | null): FileOwner {
  // no USER in the image, or root by name: uid 0 (only allow_root agents get this far)
  if (user === '' || user === 'root' || user === 'root:root') return {uid: 0, gid: 0};
  const [u, g] = (user ?? '').split(':');
  const name = address.replace(/^agent\./, '');
  if (!u || !/^\d+$/.test(u) || (g !== undefined && !/^\d+$/.test(g))) {
    throw new OrxError({
      code: 'secrets_owner',
      message: `${address}: orx cannot tell which uid the agent runs as (${user ? `user "${user}" is not numeric` : 'neither it nor its image sets a user'}), so it cannot give the agent its secrets and identity token`,
      actions: [`Set \`user: "UID:GID"\` on agents.${name} (numbers, e.g. "1000:1000").`],
    });
  }
  const owner = {uid: Number(u), gid: g === undefined ? Number(u) : Number(g)};
  const self = process.getuid?.() ?? 0;
  if (self !== 0 && self !== owner.uid) {
    throw new OrxError({
      code: 'secrets_owner',
      message: `${address}: the agent runs as uid ${owner.uid} but orx runs as uid ${self} and cannot give it files only it may read`,
      actions: [`Run the agent as your uid (user: "${self}:${process.getgid?.() ?? self}") or run orx as root.`],
    });
  }
  return owner;
}

// the root is created and checked once per process, not once per agent
const checkedRoots = new Set<string>();

function mkdirOwned(dir: string, mode: number): void {
  fs.mkdirSync(dir, {recursive: true, mode});
  fs.chmodSync(dir, mode);
}

/**
 * Makes `dir` hold exactly `files` (name -> value), each mode 0400 and owned by `owner`.
 * Every file is written under a temporary name and renamed, so a running agent never reads
 * half a value; names no longer wanted are removed.
 */
export function writeSecretFiles(dir: string, files: Record<string, string>, owner: FileOwner): void {
  const root = path.dirname(path.dirname(dir));
  if (!checkedRoots.has(root)) {
    mkdirOwned(root, 0o711);
    assertRamBacked(root);
    checkedRoots.add(root);
  }
  // others may pass through to their own agent's directory, never list or read
  mkdirOwned(path.dirname(dir), 0o711);
  mkdirOwned(dir, 0o700);
  const asRoot = (process.getuid?.() ?? 0) === 0;
  try {
    for (const [name, value] of Object.entries(files)) {
      const tmp = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}`);
      fs.writeFileSync(tmp, value, {mode: 0o400, flag: 'wx'});
      if (asRoot) fs.chownSync(tmp, owner.uid, owner.gid);
      fs.renameSync(tmp, path.join(dir, name));
    }
    for (const name of fs.readdirSync(dir)) if (!Object.hasOwn(files, name)) fs.rmSync(path.join(dir, name), {force: true});
  } finally {
    // the agent may read the directory, nobody else may
    if (asRoot) fs.chownSync(dir, owner.uid, owner.gid);
    fs.chmodSync(dir, 0o500);
  }
}

/** Removes an agent's secrets directory (nothing to do when it is gone already). */
export function removeSecretFiles(dir: string): void {
  try {
    fs.chmodSync(dir, 0o700);
  } catch {
    return; // gone
  }
  fs.rmSync(dir, {recursive: true, force: true});
  // the workspace's directory goes with its last agent
  try {
    fs.rmdirSync(path.dirname(dir));
  } catch {
    // other agents' directories are still in it
  }
}

/**
 * Removes every agent's secrets directory of a workspace (halt). Without the workspace name
 * (a configuration that does not load) the directory is found by its path digest alone.
 */
export function removeWorkspaceSecrets(root: string, workspaceDir: string, workspace: string | null): string[] {
  const digest = path.basename(workspaceSecretsDir(root, workspaceDir, '')).slice(1);
  let wsDirs: string[];
  try {
    wsDirs = workspace !== null ? [workspaceSecretsDir(root, workspaceDir, workspace)] : fs.readdirSync(root).filter((n) => n.endsWith(`-${digest}`)).map((n) => path.join(root, n));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const wsDir of wsDirs) {
    let names: string[];
    try {
      names = fs.readdirSync(wsDir);
    } catch {
      continue;
    }
    for (const n of names) {
      removeSecretFiles(path.join(wsDir, n));
      removed.push(path.join(wsDir, n));
    }
    fs.rmSync(wsDir, {recursive: true, force: true});
  }
  return removed;
}
