// The halt (safe mode) state, kept in the meta table: who halted the workspace, why, and what
// it stopped. Setting and clearing it each write a hash-chained event in the same transaction.
import type {Ledger} from './ledger.js';
import {deleteMetaValue, metaValue, setMetaValue} from './meta.js';

export interface HaltState {
  at: string;
  by: string;
  reason: string;
  /** what halt stopped, so resume can plan to start exactly that again */
  stopped: Array<{address: string; object_id: string}>;
}

const HALT_KEY = 'halt';

export function haltState(ledger: Ledger): HaltState | null {
  const value = metaValue(ledger, HALT_KEY);
  return value === undefined ? null : (JSON.parse(value) as HaltState);
}

export function setHalt(ledger: Ledger, state: HaltState): void {
  ledger.write(() => {
    setMetaValue(ledger, HALT_KEY, JSON.stringify(state));
    ledger.appendEvent({level: 'warn', message: `workspace halted by ${state.by}: ${state.reason}`, payload: {halt: state}});
  });
}

export function clearHalt(ledger: Ledger, by: string, reason: string): HaltState | null {
  return ledger.write(() => {
    const was = haltState(ledger);
    deleteMetaValue(ledger, HALT_KEY);
    ledger.appendEvent({level: 'warn', message: `workspace resumed by ${by}: ${reason}`, payload: {resumed: {by, reason, halted: was}}});
    return was;
  });
}
