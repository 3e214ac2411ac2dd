import {Ledger} from '../ledger/ledger.js';

/** Opens the ledger for the duration of one operation and always closes it. */
export async function withLedger<T>(dir: string, fn: (ledger: Ledger) => Promise<T> | T): Promise<T> {
  const ledger = Ledger.open(dir);
  try {
    return await fn(ledger);
  } finally {
    ledger.close();
  }
}
