// Build contexts are read by the Docker engine with the operator's privileges, so a context
// (or a Dockerfile) outside the workspace would let a config ship arbitrary host files
// into an image. Lexical checks catch "../..", realpath catches symlinks.
import {readdirSync, realpathSync, statSync, type Dirent} from 'node:fs';
import {createRequire} from 'node:module';
import {join, resolve} from 'node:path';
import type {Ignore} from '@balena/dockerignore';
import {isInside} from '../util/path-inside.js';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import type {BuildSpec} from './types.js';
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import {preview} from '../errors.js';

// a CommonJS function export whose typings claim an ES default
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (opts?: {ignorecase?: boolean}) => Ignore;

export const MAX_CONTEXT_FILES = 10_000;
const MAX_DOCKERIGNORE_BYTES = 1024 * 1024;
/** far above any Dockerfile */
const MAX_DOCKERFILE_BYTES = 1024 * 1024;

function specialKind(e: Dirent): string | null {
  if (e.isFIFO()) return 'a FIFO (named pipe)';
  if (e.isSocket()) return 'a socket';
  if (e.isCharacterDevice()) return 'a character device';
  if (e.isBlockDevice()) return 'a block device';
  return null;
}

/**
 * The files Docker will receive from a build context (after .dockerignore, as dockerode applies
 * it), in a stable order; or why the context cannot be sent. A FIFO, socket or device anywhere
 * in it is refused by its path: reading one would hang the plan or never end.
 */
export function listContextFiles(contextPath: string, shownAs = '.'): {ok: true; files: string[]} | {ok: false; error: string} {
  const show = (r: string) => JSON.stringify(preview(shownAs === '.' ? r : `${shownAs.replace(/\/+$/, '')}/${r}`, 160));
  let filter: (p: string) => boolean = () => true;
  try {
    const rules = readBoundedText(join(contextPath, '.dockerignore'), MAX_DOCKERIGNORE_BYTES, {label: show('.dockerignore')});
    filter = dockerignore({ignorecase: false}).add(rules).createFilter();
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.reason !== 'missing') return {ok: false, error: err.message};
  }
  const files: string[] = [];
  const walk = (rel: string): string | null => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(contextPath, rel), {withFileTypes: true});
    } catch (err) {
      return `cannot list ${rel ? show(rel) : JSON.stringify(shownAs)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      const special = specialKind(entry);
      if (special)
        return `${show(r)} is ${special}; a build context holds only files, directories and symlinks: remove it or move it out of the context`;
      if (!filter(r)) continue;
      if (entry.isDirectory()) {
        const problem = walk(r);
        if (problem) return problem;
      } else files.push(r);
      if (files.length > MAX_CONTEXT_FILES) return `it has more than ${MAX_CONTEXT_FILES} files`;
    }
    return null;
  };
  const problem = walk('');
  return problem ? {ok: false, error: problem} : {ok: true, files};
}

function real(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function kind(p: string): 'dir' | 'file' | 'other' | 'missing' {
  try {
    const st = statSync(p);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/** The checked build spec, or undefined after reporting why the context or Dockerfile is refused. */
export function resolveBuild(
  dir: string,
  context: string,
  dockerfile: string,
  args: Record<string, string>,
  path: ConfigPath,
  problems: Problems,
): BuildSpec | undefined {
  const ctxPath = [...path, 'context'];
  const shown = JSON.stringify(preview(context, 80));
  if (context.includes('\0')) {
    problems.add(ctxPath, `${formatPath(ctxPath)} contains a NUL character`);
    return undefined;
  }
  const lexical = resolve(dir, context);
  if (!isInside(dir, lexical)) {
    problems.add(ctxPath, `build context escapes the workspace: ${formatPath(ctxPath)} is ${shown}; use a directory inside the workspace`);
    return undefined;
  }
  const k = kind(lexical);
  if (k === 'missing') {
    problems.add(ctxPath, `build context directory ${shown} does not exist (${formatPath(ctxPath)})`);
    return undefined;
  }
  if (k !== 'dir') {
    problems.add(ctxPath, `build context ${shown} is not a directory (${formatPath(ctxPath)})`);
    return undefined;
  }
  const realDir = real(dir) ?? dir;
  const contextPath = real(lexical) ?? lexical;
  if (!isInside(realDir, contextPath)) {
    problems.add(ctxPath, `build context escapes the workspace: ${formatPath(ctxPath)} is ${shown}, a symlink to a directory outside it`);
    return undefined;
  }
  const dfPath = [...path, 'dockerfile'];
  const dfShown = JSON.stringify(preview(dockerfile, 80));
  const dfLexical = resolve(contextPath, dockerfile);
  if (dockerfile.includes('\0') || !isInside(contextPath, dfLexical) || dfLexical === contextPath) {
    problems.add(dfPath, `dockerfile ${dfShown} escapes the build context (${formatPath(dfPath)}); give a path inside ${shown}`);
    return undefined;
  }
  const dfKind = kind(dfLexical);
  if (dfKind === 'missing') {
    problems.add(dfPath, `dockerfile ${dfShown} not found in build context ${shown} (${formatPath(dfPath)})`);
    return undefined;
  }
  const dfReal = real(dfLexical) ?? dfLexical;
  if (!isInside(contextPath, dfReal)) {
    problems.add(dfPath, `dockerfile ${dfShown} escapes the build context through a symlink (${formatPath(dfPath)})`);
    return undefined;
  }
  if (dfKind !== 'file') {
    problems.add(dfPath, `dockerfile ${dfShown} is not a file (${formatPath(dfPath)})`);
    return undefined;
  }
  const listed = listContextFiles(contextPath, context);
  if (!listed.ok) {
    problems.add(ctxPath, `build context ${shown} cannot be sent to Docker (${formatPath(ctxPath)}): ${listed.error}`);
    return undefined;
  }
  return {context, context_path: contextPath, dockerfile, args};
}

/** The user the image's last stage runs as, read from the Dockerfile (null when it never says). */
export function dockerfileUser(contextPath: string, dockerfile: string): string | null {
  let text: string;
  try {
    text = readBoundedText(join(contextPath, dockerfile), MAX_DOCKERFILE_BYTES);
  } catch {
    return null;
  }
  let user: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(FROM|USER)\s+(\S+)/i.exec(line);
    if (!m) continue;
    user = m[1].toUpperCase() === 'FROM' ? null : m[2];
  }
  return user;
}
