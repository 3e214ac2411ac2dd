// Where the values of `variables:` come from, as the command layer collects them: kept apart
// from the loader so every command's start-up reads the environment and argv without the YAML parser.

export const ENV_PREFIX = 'ORX_VAR_';

/** One value from the command line, in the order given there. */
export type VariableArg = {kind: 'var'; text: string} | {kind: 'file'; path: string};

/** Where values come from, lowest precedence first: defaults, `planned`, env, then args in order. */
export interface VariableInputs {
  /** ORX_VAR_name settings, by name */
  env: Record<string, string>;
  /** -var NAME=VALUE and -var-file FILE, in command-line order */
  args: VariableArg[];
  /** a saved plan's values: they stand in for the defaults when that plan is applied */
  planned?: Record<string, unknown>;
  /** the command accepts -var and -var-file (the advice for a missing value says so) */
  flags?: boolean;
}

/** The ORX_VAR_* entries of an environment. */
export function envVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith(ENV_PREFIX) && k.length > ENV_PREFIX.length && v !== undefined)
      Object.defineProperty(out, k.slice(ENV_PREFIX.length), {value: v, enumerable: true});
  return out;
}

/**
 * -var and -var-file in the order they were typed (oclif keeps each flag's values, not their
 * interleaving, and Terraform's rule is "later wins" across both).
 */
export function orderedVariableArgs(argv: readonly string[]): VariableArg[] {
  const out: VariableArg[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    const m = /^--(var|var-file)(?:=([\s\S]*))?$/.exec(a);
    if (!m) continue;
    const value = m[2] ?? argv[++i];
    if (value === undefined) continue;
    out.push(m[1] === 'var' ? {kind: 'var', text: value} : {kind: 'file', path: value});
  }
  return out;
}
