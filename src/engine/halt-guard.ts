// The kill switch and the halt as every apply checks them before it starts.
import {OrxError} from '../errors.js';
import {EXIT} from '../exit-codes.js';
import type {Ledger} from '../ledger/ledger.js';
import {haltState} from '../ledger/halt.js';

/** The reason every apply but `resume` is refused, or null when none. */
export function killSwitchReason(ledger: Ledger, configKillSwitch: boolean, envKillSwitch: boolean): string | null {
  const halt = haltState(ledger);
  if (halt) return `workspace halted at ${halt.at} by ${halt.by} because ${halt.reason}`;
  if (envKillSwitch) return 'the kill switch is on (ORX_KILL_SWITCH is set)';
  if (configKillSwitch) return 'the kill switch is on (kill_switch: true in orchestration.yml)';
  return null;
}

export function refuseIfHalted(ledger: Ledger, configKillSwitch: boolean, envKillSwitch: boolean): void {
  const reason = killSwitchReason(ledger, configKillSwitch, envKillSwitch);
  if (!reason) return;
  throw new OrxError({
    code: 'halted',
    exit: EXIT.APPROVAL,
    message: `refused: ${reason}`,
    actions: haltState(ledger)
      ? ['Lift it with `orx resume --reason TEXT` once it is safe.']
      : ['Turn the kill switch off, then apply again.'],
  });
}
