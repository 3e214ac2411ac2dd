import {OrxError} from '../errors.js';
import type {SafetyCategory} from '../resources/types.js';

// 0: every change needs a human; 1: DEPLOY and DESTROY do; 2: only DESTROY; 3: policy alone.
const HUMAN_FROM: Record<SafetyCategory, number> = {READ: -1, WRITE: 0, ROLLBACK: 0, DEPLOY: 1, DESTROY: 2};

export function autonomyNeedsHuman(autonomy: number, category: SafetyCategory): boolean {
  return autonomy <= HUMAN_FROM[category];
}

/** Flags and ORX_AUTONOMY may lower the configured autonomy, never raise it. */
export function effectiveAutonomy(configured: number, requested?: number): number {
  if (requested === undefined) return configured;
  if (!Number.isInteger(requested) || requested < 0 || requested > 3) {
    throw new OrxError({code: 'bad_autonomy', message: `autonomy must be 0, 1, 2 or 3 (got ${requested})`});
  }
  if (requested > configured) {
    throw new OrxError({
      code: 'autonomy_raised',
      message: `autonomy ${requested} is higher than the workspace's ${configured}: it can only be lowered from the command line`,
      actions: ['Raise `autonomy` in orchestration.yml (a reviewed change), or ask for a lower level.'],
    });
  }
  return requested;
}
