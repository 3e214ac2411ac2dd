import {isAbsolute, relative, sep} from 'node:path';

/** True when `p` is `root` or below it (both absolute, compared as written: resolve links first where they matter). */
export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
