import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {canonicalJson} from '../ledger/hash.js';

/** orchestration.yml plus every build context it points at: what a saved plan was made from. */
export function configDigest(fileDigest: string, contextDigests: Record<string, string>): string {
  return createHash('sha256').update(canonicalJson({file: fileDigest, contexts: contextDigests})).digest('hex');
}

export function policyDigest(dir: string): string {
  const h = createHash('sha256');
  const pdir = path.join(dir, 'policies');
  let names: string[] = [];
  try {
    names = fs.readdirSync(pdir).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch {
    // no policies directory: the empty digest
  }
  for (const n of names) h.update(`${n}\0`).update(fs.readFileSync(path.join(pdir, n))).update('\0');
  return h.digest('hex');
}
