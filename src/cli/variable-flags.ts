// The values for orchestration.yml's `variables:` as a command received them.
import {envVariables, orderedVariableArgs, type VariableInputs} from '../config/variable-inputs.js';

/** ORX_VAR_* always; -var and -var-file in the order typed, on the commands that take them. */
export function variableInputs(argv: readonly string[], acceptsFlags: boolean, env: NodeJS.ProcessEnv): VariableInputs {
  return {env: envVariables(env), args: acceptsFlags ? orderedVariableArgs(argv) : [], flags: acceptsFlags};
}
