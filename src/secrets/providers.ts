// The two local providers. Each returns the value or the reason it cannot, as a phrase that
// follows the reference in a message ("env://X is not set ..."); no reason ever holds a value.
import {constants} from 'node:fs';
import {open, realpath} from 'node:fs/promises';
import path from 'node:path';

export type ProviderResult = {ok: true; value: string} | {ok: false; reason: string};

// a secret file larger than this is a wrong path (a log, an archive), not a credential
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

export function readEnvSecret(name: string, env: NodeJS.ProcessEnv): ProviderResult {
  const value = env[name];
  if (value === undefined) {
    return {ok: false, reason: `is not set in the environment (export ${name} before running orx, or put it in the workspace's .envrc for direnv)`};
  }
  return {ok: true, value};
}

/**
 * file://PATH: relative to the workspace `dir` (and refused if it leads outside, through ..
 * or a symbolic link), or absolute. The file must be readable by its owner only.
 */
export async function readFileSecret(target: string, dir: string): Promise<ProviderResult> {
  const absolute = path.isAbsolute(target);
  const lexical = path.resolve(dir, target);
  if (!absolute && !inside(dir, lexical)) {
    return fail(`resolves outside the workspace (${dir}); a relative path must stay inside it (write an absolute path for a file that lives elsewhere)`);
  }
  let real: string;
  try {
    real = await realpath(lexical);
    if (!absolute) {
      const realDir = await realpath(dir);
      if (!inside(realDir, real)) return fail(`leads outside the workspace through a symbolic link (to ${real}); a relative path must stay inside ${dir}`);
    }
  } catch (err) {
    return fail(fsReason(err, lexical));
  }
  try {
    // open once and check the opened file, so what is checked is what is read; O_NONBLOCK so a
    // FIFO at that path cannot hang the open (it is then refused as not a regular file)
    const handle = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    try {
      const st = await handle.stat();
      if (!st.isFile()) return fail(`is not a regular file (${lexical})`);
      // Windows has no owner/group/other modes to check (Node reports 0o666 for every file)
      if (process.platform !== 'win32' && (st.mode & 0o044) !== 0) {
        const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
        return fail(`is readable by group or others (mode ${mode}); orx only takes secrets from files that only their owner can read: chmod 600 ${lexical}`);
      }
      if (st.size > MAX_SECRET_FILE_BYTES) return fail(`is ${st.size} bytes, more than a secret file may hold (${MAX_SECRET_FILE_BYTES}); check the path`);
      return {ok: true, value: stripOneNewline(await handle.readFile('utf8'))};
    } finally {
      await handle.close();
    }
  } catch (err) {
    return fail(fsReason(err, lexical));
  }
}

/**
 * Files written with `echo` or most editors end in one newline that is not part of the secret;
 * exactly one is removed (\n or \r\n), so a value that really ends in newlines keeps the rest.
 */
export function stripOneNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function fail(reason: string): ProviderResult {
  return {ok: false, reason};
}

function fsReason(err: unknown, file: string): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  switch (code) {
    case 'ENOENT':
      return `names a file that does not exist (${file})`;
    case 'ENOTDIR':
      return `names a path through something that is not a directory (${file})`;
    case 'EACCES':
    case 'EPERM':
      return `cannot be read: permission denied (${file})`;
    case 'ELOOP':
      return `names a symbolic link loop or a link swapped in while reading (${file})`;
    case 'EISDIR':
      return `is not a regular file (${file})`;
    default:
      return `cannot be read (${file}): ${code ?? (err instanceof Error ? err.message : String(err))}`;
  }
}
