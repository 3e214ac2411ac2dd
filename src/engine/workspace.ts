import fs from 'node:fs';
import path from 'node:path';
import {OrxError} from '../errors.js';
import {Ledger} from '../ledger/ledger.js';

/**
 * Opens the ledger for the duration of one operation and always closes it. A directory
 * with neither a configuration nor a ledger is not a workspace: nothing is created there.
 */
export async function withLedger<T>(dir: string, fn: (ledger: Ledger) => Promise<T> | T): Promise<T> {
  if (!Ledger.exists(dir) && !fs.existsSync(path.join(dir, 'orchestration.yml'))) {
    throw new OrxError({
      code: 'not_a_workspace',
      message: `${dir} is not an orx workspace (no orchestration.yml, no .orx/ledger.db)`,
      actions: ['Run orx in a workspace directory, pass -C DIR, or create one with `orx init`.'],
    });
  }
  const ledger = Ledger.open(dir);
  try {
    return await fn(ledger);
  } finally {
    ledger.close();
  }
}
