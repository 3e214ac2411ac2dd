// Secret values reach an agent as files on a host tmpfs, bind-mounted read-only at
// /run/secrets: RAM only (never a disk, so nothing survives a reboot or lands in a backup),
// mode 0400 and owned by the agent's uid, in a directory per agent that is removed with it.
// The directories above it are the orx user's alone (0700): the agent's uid means something
// inside its container, and on the host may belong to someone else.
import {createHash, randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {OrxError} from '../errors.js';

// where agents see their secrets and the orchestrator-issued identity token: config refuses volumes there
export {SECRETS_MOUNT, TOKEN_FILE} from '../config/mounts.js';

// statfs f_type of tmpfs (and of ramfs, which is RAM-backed as well)
const RAM_FILESYSTEMS = new Set([0x01021994, 0x858458f6]);

const ROOT_NAME = 'orchestrix';

/** $XDG_RUNTIME_DIR/orchestrix when that is set, else /dev/shm/orchestrix. */
export function secretsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : '/dev/shm', ROOT_NAME);
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

/** The uid orx runs as: the owner every directory above an agent's must have. */
function selfUid(): number {
  return process.geteuid?.() ?? process.getuid?.() ?? 0;
}

function rootError(root: string, problem: string, action: string): OrxError {
  return new OrxError({
    code: 'secrets_root',
    message: `the secrets directory ${root} ${problem}; orx will not deliver secrets through it`,
    actions: [action, 'Or point XDG_RUNTIME_DIR at a tmpfs directory only you can write to (usually /run/user/UID).'],
  });
}

/**
 * Makes sure the secrets root is a real directory (not a symbolic link) owned by the user
 * running orx, mode 0700, on a RAM-backed filesystem: created so when absent. Anything else is
 * refused, never changed: the mode is set through a descriptor opened without following links
 * and only after that descriptor proved to be the directory orx owns.
 */
export function ensureSecretsRoot(root: string): void {
  try {
    fs.mkdirSync(root, {mode: 0o700});
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw rootError(
        root,
        `cannot be created: ${path.dirname(root)} does not exist`,
        `Create ${path.dirname(root)} (mode 0700) or set XDG_RUNTIME_DIR to a directory that exists.`,
      );
    if (code !== 'EEXIST')
      throw rootError(root, `cannot be created (${code ?? (err as Error).message})`, `Check the permissions of ${path.dirname(root)}.`);
  }
  const st = fs.lstatSync(root);
  const self = selfUid();
  if (st.isSymbolicLink()) {
    throw rootError(
      root,
      `is a symbolic link (to ${fs.readlinkSync(root)}), perhaps planted by another account`,
      `Remove the link (rm ${root}); orx creates the directory itself.`,
    );
  }
  if (!st.isDirectory()) throw rootError(root, 'is not a directory', `Remove it (rm ${root}); orx creates the directory itself.`);
  if (st.uid !== self)
    throw rootError(
      root,
      `is owned by uid ${st.uid}, not by uid ${self} that runs orx`,
      `Remove it as its owner or root (rm -r ${root}) after checking what it holds.`,
    );
  const fd = fs.openSync(root, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    const now = fs.fstatSync(fd);
    // replaced between the lstat and the open: not the directory that was checked
    if (now.dev !== st.dev || now.ino !== st.ino || now.uid !== self)
      throw rootError(root, 'changed while orx was checking it', 'Check who else can write to its parent directory, then retry.');
    if ((now.mode & 0o777) !== 0o700) fs.fchmodSync(fd, 0o700);
  } finally {
    fs.closeSync(fd);
  }
  assertRamBacked(root);
}

/** True when `root` is a directory of ours, so what is below it was made by orx (removal never follows a planted link). */
function ownRoot(root: string): boolean {
  try {
    const st = fs.lstatSync(root);
    return st.isDirectory() && st.uid === selfUid();
  } catch {
    return false;
  }
}

/**
 * A directory below the root, made `mode` when absent; one that exists must be a real
 * directory (never a link) owned by orx's user, or by `alsoOwner` (the agent's own directory).
 */
function ensureDir(dir: string, mode: number, alsoOwner?: number): void {
  try {
    fs.mkdirSync(dir, {mode});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || (st.uid !== selfUid() && st.uid !== alsoOwner)) {
    throw new OrxError({
      code: 'secrets_dir',
      message: `${dir} is not a directory orx made (${st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? `owned by uid ${st.uid}` : 'not a directory'}); orx will not deliver secrets through it`,
      actions: [`Remove it (rm -r ${dir}) after checking what it holds, then apply again.`],
    });
  }
  fs.chmodSync(dir, mode);
}

/**
 * Makes `dir` (ROOT/WORKSPACE/CONTAINER) hold exactly `files` (name -> value), each mode 0400
 * and owned by `owner`. The root and the workspace's directory belong to the user running orx,
 * mode 0700: another host account with the agent's uid cannot even reach the agent's directory
 * (the container reaches it through its bind mount, never through the parents). Every file is
 * written under a temporary name and renamed, so a running agent never reads half a value;
 * names no longer wanted are removed.
 */
export function writeSecretFiles(dir: string, files: Record<string, string>, owner: FileOwner): void {
  const wsDir = path.dirname(dir);
  ensureSecretsRoot(path.dirname(wsDir));
  ensureDir(wsDir, 0o700);
  // writable by orx while it writes; the agent's own again below
  ensureDir(dir, 0o700, owner.uid);
  const asRoot = selfUid() === 0;
  try {
    for (const [name, value] of Object.entries(files)) {
      const tmp = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}`);
      fs.writeFileSync(tmp, value, {mode: 0o400, flag: 'wx'});
      if (asRoot) fs.chownSync(tmp, owner.uid, owner.gid);
      fs.renameSync(tmp, path.join(dir, name));
    }
    for (const name of fs.readdirSync(dir)) if (!Object.hasOwn(files, name)) fs.rmSync(path.join(dir, name), {force: true});
  } finally {
    // the agent may read the directory (through its mount), nobody else may
    if (asRoot) fs.chownSync(dir, owner.uid, owner.gid);
    fs.chmodSync(dir, 0o500);
  }
}

/** Removes an agent's secrets directory (nothing to do when it is gone already, or when its root is not orx's). */
export function removeSecretFiles(dir: string): void {
  if (!ownRoot(path.dirname(path.dirname(dir)))) return;
  try {
    if (fs.lstatSync(dir).isSymbolicLink()) return;
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
 * What a recreate's new container is called until it takes the agent's name: "." is in no
 * agent's or workspace's name, so no other agent's directory has this shape.
 */
export const NEXT_SUFFIX = '.next-';

/**
 * True when `dir` has the shape of this workspace's secrets directory for `containerName` under
 * some secrets root (ROOT/orchestrix/WORKSPACE-DIGEST/CONTAINER), whatever ROOT was: the
 * directory an agent was given under a previous XDG_RUNTIME_DIR. Anything else a container
 * mounts is none of orx's to remove.
 */
export function isAgentSecretsDir(dir: string, workspaceDir: string, workspace: string, containerName: string): boolean {
  if (!path.isAbsolute(dir) || path.normalize(dir) !== dir) return false;
  const wsDir = path.dirname(dir);
  const base = path.basename(dir);
  // a recreated agent keeps the directory of the temporary name its container was created under
  return (
    (base === containerName || base.startsWith(`${containerName}${NEXT_SUFFIX}`)) &&
    wsDir === workspaceSecretsDir(path.dirname(wsDir), workspaceDir, workspace) &&
    path.basename(path.dirname(wsDir)) === ROOT_NAME
  );
}

/**
 * Removes every agent's secrets directory of a workspace (halt). Without the workspace name
 * (a configuration that does not load) the directory is found by its path digest alone.
 * `mountedAt`: the secrets mounts of the workspace's containers, so that directories under an
 * earlier XDG_RUNTIME_DIR go too (only those with the exact shape of this workspace's).
 */
export function removeWorkspaceSecrets(
  root: string,
  workspaceDir: string,
  workspace: string | null,
  mountedAt: readonly string[] = [],
): string[] {
  const earlier =
    workspace === null
      ? []
      : [...new Set(mountedAt)].filter(
          (d) =>
            path.dirname(path.dirname(d)) !== root && isAgentSecretsDir(d, workspaceDir, workspace, path.basename(d)) && fs.existsSync(d),
        );
  for (const d of earlier) removeSecretFiles(d);
  return [...earlier, ...removeCurrentSecrets(root, workspaceDir, workspace)];
}

function removeCurrentSecrets(root: string, workspaceDir: string, workspace: string | null): string[] {
  const digest = path.basename(workspaceSecretsDir(root, workspaceDir, '')).slice(1);
  // a root that is not orx's holds nothing orx delivered (and may be a planted link)
  if (!ownRoot(root)) return [];
  let wsDirs: string[];
  try {
    wsDirs =
      workspace !== null
        ? [workspaceSecretsDir(root, workspaceDir, workspace)]
        : fs
            .readdirSync(root)
            .filter((n) => n.endsWith(`-${digest}`))
            .map((n) => path.join(root, n));
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
