import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import type {Ignore} from '@balena/dockerignore';

// a CommonJS function export whose typings claim an ES default
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as (opts?: {ignorecase?: boolean}) => Ignore;

export interface ContextFiles {
  files: string[];
  digest: string;
}

const MAX_FILES = 10_000;

/**
 * The files Docker will receive (after .dockerignore, as dockerode applies it) and one
 * digest over their paths, modes and contents: the image is rebuilt exactly when this
 * digest changes, and apply refuses a build whose context moved since the plan.
 */
export function readBuildContext(contextPath: string, dockerfile: string, args: Record<string, string>): ContextFiles {
  let filter: (p: string) => boolean = () => true;
  const ignoreFile = path.join(contextPath, '.dockerignore');
  if (fs.existsSync(ignoreFile)) filter = ignore({ignorecase: false}).add(fs.readFileSync(ignoreFile, 'utf8')).createFilter();

  const files: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(contextPath, rel);
    for (const entry of fs.readdirSync(abs, {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (!filter(r)) continue;
      if (entry.isDirectory()) walk(r);
      else files.push(r);
      if (files.length > MAX_FILES) throw new Error(`build context ${contextPath} has more than ${MAX_FILES} files`);
    }
  };
  walk('');

  const h = createHash('sha256');
  h.update(JSON.stringify({dockerfile, args}));
  for (const f of files) {
    const abs = path.join(contextPath, f);
    const st = fs.lstatSync(abs);
    h.update(`\0${f}\0${st.mode & 0o111 ? 'x' : '-'}\0`);
    h.update(st.isSymbolicLink() ? `->${fs.readlinkSync(abs)}` : fs.readFileSync(abs));
  }
  return {files, digest: h.digest('hex')};
}

/** The user the image's last stage runs as, read from the Dockerfile (null when it never says). */
export function dockerfileUser(contextPath: string, dockerfile: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(contextPath, dockerfile), 'utf8');
  } catch {
    return null;
  }
  let user: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(FROM|USER)\s+(\S+)/i.exec(line);
    if (!m) continue;
    user = m[1]!.toUpperCase() === 'FROM' ? null : m[2]!;
  }
  return user;
}
