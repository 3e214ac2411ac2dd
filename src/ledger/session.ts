// A ledger open for one operation and always closed after it: read-write (withLedger) or
// read-only (withReadLedger). Both refuse a directory that is not a workspace.
import fs from 'node:fs';
import path from 'node:path';
import {OrxError} from '../errors.js';
import {Ledger} from './ledger.js';

const isWorkspace = (dir: string): boolean => fs.existsSync(path.join(dir, 'orchestration.yml'));

function notAWorkspace(dir: string): OrxError {
  return new OrxError({
    code: 'not_a_workspace',
    message: `${dir} is not an orx workspace (no orchestration.yml, no .orx/ledger.db)`,
    actions: ['Run orx in a workspace directory, pass -C DIR, or create one with `orx init`.'],
  });
}

/**
 * Opens the ledger for the duration of one operation and always closes it. A directory
 * with neither a configuration nor a ledger is not a workspace: nothing is created there.
 */
export async function withLedger<T>(dir: string, fn: (ledger: Ledger) => Promise<T> | T): Promise<T> {
  if (!Ledger.exists(dir) && !isWorkspace(dir)) throw notAWorkspace(dir);
  const ledger = Ledger.open(dir);
  try {
    return await fn(ledger);
  } finally {
    ledger.close();
  }
}

/**
 * Opens the ledger for reading only: no lock, no write transaction, so it works while an
 * apply is writing (WAL readers see the last commit). A ledger from before the newest
 * migration is upgraded once through a normal handle, as any other command would.
 */
export async function withReadLedger<T>(dir: string, fn: (ledger: Ledger) => Promise<T> | T): Promise<T> {
  if (!Ledger.exists(dir)) {
    if (!isWorkspace(dir)) throw notAWorkspace(dir);
    throw new OrxError({
      code: 'not_found',
      message: `No ledger at ${Ledger.fileFor(dir)}: nothing has been recorded in this workspace yet.`,
      actions: ['Run `orx apply` (or `orx init`) first.'],
    });
  }
  let ledger: Ledger;
  try {
    ledger = Ledger.open(dir, {readonly: true});
  } catch (err) {
    if (!(err instanceof OrxError && err.code === 'ledger_outdated')) throw err;
    Ledger.open(dir).close(); // runs the migrations, then read-only as intended
    ledger = Ledger.open(dir, {readonly: true});
  }
  try {
    return await fn(ledger);
  } finally {
    ledger.close();
  }
}
