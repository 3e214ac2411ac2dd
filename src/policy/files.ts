// Which files are policies: light enough to ask on every plan before loading the CEL
// stack, which a workspace without policies never pays for.
import {readdirSync, statSync} from 'node:fs';
import {isAbsolute, join} from 'node:path';
import {OrxError, preview} from '../errors.js';

export const POLICY_DIR = 'policies';

/**
 * The policy files of a workspace, absolute, sorted by name: regular files directly in
 * policies/ ending in .yaml or .yml, not hidden (editor lock and swap files start with ".").
 * Test cases in policies/tests/ are not policies. What loadPolicies reads and the plan's
 * policy digest covers.
 */
export function policyFiles(workspaceDir: string): string[] {
  if (!isAbsolute(workspaceDir)) throw new Error(`workspace directory must be absolute, got ${preview(workspaceDir)}`);
  const dir = join(workspaceDir, POLICY_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR')
      throw new OrxError({code: 'policy_invalid', message: `${POLICY_DIR} is not a directory; policy files go in ${POLICY_DIR}/*.yaml`});
    throw new OrxError({
      code: 'policy_unreadable',
      message: `cannot read ${POLICY_DIR}/: ${code ?? preview((err as Error).message, 120)}`,
      actions: ['Check that the directory is readable.'],
    });
  }
  return names
    .filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false; // a dangling symlink: nothing to read, and nothing the digest could cover
      }
    });
}
