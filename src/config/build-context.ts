// Build contexts are read by the Docker engine with the operator's privileges, so a context
// (or a Dockerfile) outside the workspace would let a config ship arbitrary host files
// into an image. Lexical checks catch "../..", realpath catches symlinks.
import {realpathSync, statSync} from 'node:fs';
import {isAbsolute, relative, resolve, sep} from 'node:path';
import type {BuildSpec} from './types.js';
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import {preview} from '../errors.js';

export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
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
  return {context, context_path: contextPath, dockerfile, args};
}
