// What every use-case is given: the workspace, who runs it, and where it logs.
import type {VariableInputs} from '../config/variables.js';
import type {Logger} from '../util/logger.js';

export interface OrxContext {
  /** absolute workspace directory */
  dir: string;
  log: Logger;
  version: string;
  actor: string;
  /** the command line, recorded with locks */
  command: string;
  /** ORX_KILL_SWITCH: refuse every apply, like a halt */
  killSwitch?: boolean;
  /** -lock-timeout: how long to wait for a held workspace lock before exit 4 (0: fail at once) */
  lockTimeoutMs?: number;
  /** values for orchestration.yml's `variables:` (ORX_VAR_*, -var, -var-file); absent: defaults only */
  vars?: VariableInputs;
}
