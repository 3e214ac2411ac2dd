// Files the config points at (kind configs, manifests) are read by orx and handed to kind or
// a cluster, so like build contexts they must stay inside the workspace: the written path is
// checked lexically, then its real path, so that neither "../" nor a symlink leads out.
import {readdirSync, realpathSync, statSync, type Stats} from 'node:fs';
import {join, relative, resolve, sep} from 'node:path';
import {preview} from '../errors.js';
import {FileReadError, readBoundedFile} from '../util/bounded-file.js';
import {isInside} from '../util/path-inside.js';

export interface WorkspacePath {
  kind: 'file' | 'dir';
  /** the real path, for reading */
  abs: string;
  /** relative to the workspace, with "/" on every platform: how diagnostics and digests name it */
  rel: string;
}

export type Lookup = {ok: true; path: WorkspacePath} | {ok: false; error: string};

export function lookupInWorkspace(dir: string, written: string): Lookup {
  const shown = JSON.stringify(preview(written, 80));
  if (written.includes('\0')) return {ok: false, error: `${shown} contains a NUL character`};
  const lexical = resolve(dir, written);
  if (!isInside(dir, lexical)) return {ok: false, error: `${shown} is outside the workspace; use a path inside it`};
  let abs: string;
  let realDir: string;
  let st: Stats;
  try {
    abs = realpathSync(lexical);
    realDir = realpathSync(dir);
    st = statSync(abs);
  } catch {
    return {ok: false, error: `${shown} does not exist`};
  }
  if (!isInside(realDir, abs)) return {ok: false, error: `${shown} is a symlink to a path outside the workspace`};
  if (!st.isFile() && !st.isDirectory()) return {ok: false, error: `${shown} is not a file or a directory`};
  const rel = relative(dir, lexical).split(sep).join('/') || '.';
  return {ok: true, path: {kind: st.isFile() ? 'file' : 'dir', abs, rel}};
}

/** The files of a directory whose names end with one of `exts` (not recursive), in name order. */
export function listFiles(dir: string, folder: WorkspacePath, exts: readonly string[]): Lookup[] {
  const names = readdirSync(folder.abs)
    .filter((n) => exts.some((e) => n.endsWith(e)))
    .sort();
  const out: Lookup[] = [];
  for (const n of names) {
    const found = lookupInWorkspace(dir, join(folder.rel, n));
    // a subdirectory named x.yaml is not a manifest; a symlink out is still refused
    if (found.ok && found.path.kind === 'dir') continue;
    out.push(found);
  }
  return out;
}

/** The file's bytes, or why not; through the shared bounded reader (no FIFO, device or endless file). */
export function readBounded(file: WorkspacePath, max: number): {ok: true; bytes: Buffer} | {ok: false; error: string} {
  try {
    return {ok: true, bytes: readBoundedFile(file.abs, max, {label: JSON.stringify(preview(file.rel, 80))})};
  } catch (err) {
    if (err instanceof FileReadError) return {ok: false, error: err.message};
    throw err;
  }
}
