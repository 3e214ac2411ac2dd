// Whether every entry of an archive can be restored faithfully: the rules the helper's
// unpack enforces (templates/dr-helper/orx-volume-helper.c), checked on the archive file
// alone, so `orx dr verify` without --drill names the entry a restore would stop at.
import {encodePath, type TarEntry} from './tar-digest.js';

const KINDS: Record<string, string> = {'3': 'a character device', '4': 'a block device', '6': 'a FIFO', g: 'a global pax header'};

type Kind = 'd' | 'f' | 'l';

export class RestoreCheck {
  /** the first entry that cannot be restored, and why */
  problem: {path: string; reason: string} | null = null;
  private readonly seen = new Map<string, Kind>();
  private root = false;

  readonly onEntry = (e: TarEntry): void => {
    if (this.problem) return;
    const reason = this.check(e);
    if (reason) this.problem = {path: encodePath(e.path), reason};
  };

  /** The end of the archive: a problem if nothing so far had one but the root is missing. */
  finish(): {path: string; reason: string} | null {
    if (!this.problem && !this.root) this.problem = {path: '.', reason: 'the archive has no entry for the volume root'};
    return this.problem;
  }

  private check(e: TarEntry): string | null {
    if (KINDS[e.flag]) return `${KINDS[e.flag]} cannot be restored faithfully`;
    const rel = relativeOf(e.path);
    if (typeof rel !== 'string') return rel.refused;
    const isDir = e.flag === '5';
    if (rel === '') {
      if (!isDir) return 'the volume root must be a directory';
      if (this.root) return 'the volume root appears twice';
      this.root = true;
      return null;
    }
    if (!['0', '7', '1', '2', '5'].includes(e.flag)) return `entry type '${e.flag}' is not a file, directory or link`;
    const parent = this.parentProblem(rel);
    if (parent) return parent;
    if (this.seen.has(rel)) return 'it appears twice in the archive';
    if (e.flag === '2' && e.linkpath === '') return 'an empty symlink target';
    if (e.flag === '1') {
      const target = relativeOf(e.linkpath);
      if (typeof target !== 'string') return `its hard link target: ${target.refused}`;
      if (this.seen.get(target) !== 'f') return 'its hard link target is not a file earlier in the archive';
    }
    this.seen.set(rel, isDir ? 'd' : e.flag === '2' ? 'l' : 'f');
    return null;
  }

  private parentProblem(rel: string): string | null {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const kind = this.seen.get(parts.slice(0, i).join('/'));
      if (kind === undefined) return 'its directory is not in the archive before it';
      if (kind !== 'd') return 'its parent path passes through a symlink or a file';
    }
    return null;
  }
}

/** Volume-relative path (the first component dropped), or why it could leave the volume. */
function relativeOf(p: string): string | {refused: string} {
  if (p.includes('\0')) return {refused: 'the path holds a NUL byte'};
  if (p === '') return {refused: 'an empty path'};
  if (p.startsWith('/')) return {refused: 'an absolute path'};
  const trimmed = p.replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const first = slash < 0 ? trimmed : trimmed.slice(0, slash);
  if (first === '' || first === '..') return {refused: 'it leaves the volume'};
  const rest = slash < 0 ? '' : trimmed.slice(slash + 1);
  if (rest !== '' && rest.split('/').some((c) => c === '' || c === '.' || c === '..'))
    return {refused: 'it has an empty, "." or ".." component'};
  return rest;
}
