// Where a file:// secret may come from. One set of rules, applied twice: to the reference text
// when the configuration loads (so `orx validate` and `orx plan` refuse what is plainly wrong)
// and to the real path of the descriptor the resolver opened (so a symbolic link, or one
// swapped in while resolving, cannot lead anywhere the text could not).
//
// Never: orx's own state (.orx/: the workspace key, ledger, backups, kubeconfigs), the
// kernel's views of processes, devices and itself (/proc, /sys, /dev: /proc/self/environ
// holds orx's own environment), and, for a relative path, anything outside the workspace.
import path from 'node:path';
import {isInside} from '../util/path-inside.js';

/** A directory named like this holds orx state (keys, ledger, backups): in any workspace, never a secret's source. */
export const STATE_DIR_NAME = '.orx';

const KERNEL_TREES = ['/proc', '/sys', '/dev'];

/**
 * Why a file at absolute path `p` may not be a secret, as a phrase that follows the
 * reference ("file://x is inside ..."), or null. `p` is normalised here; no filesystem access.
 */
export function forbiddenSecretLocation(p: string): string | null {
  const normal = path.posix.normalize(p.split(path.sep).join('/'));
  const tree = KERNEL_TREES.find((t) => normal === t || normal.startsWith(`${t}/`));
  if (tree)
    return `is under ${tree}, which holds the kernel's view of processes and devices (orx's own environment among them), not secret files`;
  if (normal.split('/').includes(STATE_DIR_NAME)) {
    return `is inside an orx state directory (${STATE_DIR_NAME}/: the workspace signing key, the ledger, backups, kubeconfigs), which orx never hands out`;
  }
  return null;
}

/**
 * The rules that can be judged from the reference text alone: a relative path must stay in
 * the workspace by its own `..`s, and no path names a forbidden location. Null when fine.
 */
export function fileRefTextError(target: string): string | null {
  if (path.isAbsolute(target)) return forbiddenSecretLocation(target);
  const normal = path.normalize(target);
  if (normal === '..' || normal.startsWith(`..${path.sep}`)) {
    return 'resolves outside the workspace; a relative path must stay inside it (write an absolute path for a file that lives elsewhere)';
  }
  // relative: only the state-directory rule can be judged without knowing where the workspace is
  return normal.split(path.sep).includes(STATE_DIR_NAME) ? forbiddenSecretLocation(`/${normal}`) : null;
}

/**
 * The rules for the file actually opened, at its real path (no symbolic links left in it):
 * the forbidden locations, and for a relative reference, inside the workspace's real path.
 */
export function openedFileError(real: string, opts: {relative: boolean; realWorkspace: string; workspace: string}): string | null {
  if (opts.relative && !isInside(opts.realWorkspace, real)) {
    return `leads outside the workspace through a symbolic link (to ${real}); a relative path must stay inside ${opts.workspace}`;
  }
  return forbiddenSecretLocation(real);
}
