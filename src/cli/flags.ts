// Flags shared by several commands, defined once so every command offers them the same way.
import {Flags} from '@oclif/core';

/**
 * Where kind and kubectl are, on the commands that run them: the operator's choice, never the
 * workspace's (orchestration.yml may come from a pull request). Absolute paths only.
 */
export const toolFlags = {
  'tool-kind': Flags.string({
    description: 'Absolute path of the kind binary (default: kind on PATH).',
    env: 'ORX_KIND',
    helpGroup: 'TOOLS',
  }),
  'tool-kubectl': Flags.string({
    description: 'Absolute path of the kubectl binary (default: kubectl on PATH).',
    env: 'ORX_KUBECTL',
    helpGroup: 'TOOLS',
  }),
};

/**
 * Values for orchestration.yml's `variables:` (Terraform's -var and -var-file; later wins, in
 * command-line order, over ORX_VAR_NAME and defaults). No ORX_* twin: ORX_VAR_NAME is the
 * environment's way, one variable at a time.
 */
export const variableFlags = {
  var: Flags.string({
    description: 'Set a variable: NAME=VALUE (repeatable; lists and maps as JSON).',
    multiple: true,
    helpValue: 'NAME=VALUE',
  }),
  'var-file': Flags.string({
    description: 'Read variable values from a YAML or JSON file (repeatable).',
    multiple: true,
    helpValue: 'FILE',
  }),
};

/** What a plan is made of: `orx plan`, `orx apply` without a file, and the commands that plan before applying. */
export const planFlags = {
  target: Flags.string({
    description: 'Limit the plan to this address and what it depends on (repeatable).',
    multiple: true,
    env: 'ORX_TARGET',
  }),
  replace: Flags.string({description: 'Force replacement of this address (repeatable).', multiple: true, env: 'ORX_REPLACE'}),
  refresh: Flags.boolean({
    description: 'Ask the engine what exists (--refresh=false uses the ledger alone).',
    allowNo: true,
    default: true,
    env: 'ORX_REFRESH',
  }),
  autonomy: Flags.integer({
    description: 'Lower the autonomy level for this run (never raise it): 0 every change needs a human, 3 policy alone decides.',
    min: 0,
    max: 3,
    env: 'ORX_AUTONOMY',
  }),
  'sim-seed': Flags.string({
    description: "Seed of the plan's readiness simulation (default: derived from the plan id).",
    env: 'ORX_SIM_SEED',
  }),
  'sim-iterations': Flags.integer({
    description: 'Iterations of the readiness simulation.',
    min: 1,
    max: 1_000_000,
    default: 1000,
    env: 'ORX_SIM_ITERATIONS',
  }),
  ...variableFlags,
};

/** On the commands that take the workspace lock: wait for it instead of failing at once (Terraform's -lock-timeout). */
export const lockFlags = {
  'lock-timeout': Flags.string({
    description: 'How long to wait for the workspace lock held by another run, e.g. 30s or 2m (0s: fail at once with exit 4).',
    env: 'ORX_LOCK_TIMEOUT',
    default: '0s',
  }),
};

/** How a plan is applied. */
export const applyFlags = {
  'auto-approve': Flags.boolean({
    description: 'Apply without asking (required when there is no terminal).',
    env: 'ORX_AUTO_APPROVE',
    default: false,
  }),
  parallelism: Flags.integer({description: 'How many steps may run at once.', min: 1, max: 256, default: 10, env: 'ORX_PARALLELISM'}),
  ...toolFlags,
  ...lockFlags,
};
