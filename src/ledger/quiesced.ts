// Agents a running backup holds paused or stopped, kept in the meta table before they are
// held, so that if orx is killed mid-backup the next orx command finds and resumes them.
import type {Ledger} from './ledger.js';
import {deleteMetaValue, metaValue, setMetaValue} from './meta.js';

/** One backup's hold: which process, how, and which containers. */
export interface QuiescedHold {
  pid: number;
  host: string;
  at: string;
  how: 'pause' | 'stop';
  containers: Array<{id: string; address: string}>;
}

const KEY = 'dr_quiesced';

export function quiescedHolds(ledger: Ledger): QuiescedHold[] {
  const value = metaValue(ledger, KEY);
  return value === undefined ? [] : (JSON.parse(value) as QuiescedHold[]);
}

/** Replaces the recorded holds (none: the key goes). Call inside ledger.write with the read. */
export function setQuiescedHolds(ledger: Ledger, holds: QuiescedHold[]): void {
  if (holds.length === 0) deleteMetaValue(ledger, KEY);
  else setMetaValue(ledger, KEY, JSON.stringify(holds));
}
