// -var and -var-file next to a saved plan: refused, the plan carries its own values.
import type {OrxContext} from '../engine/context.js';
import {OrxError} from '../errors.js';

/** A saved plan carries the variable values it was made with: -var and -var-file cannot change them. */
export function refuseVariablesWithSavedPlan(ctx: OrxContext, file: string): void {
  const given = ctx.vars?.args ?? [];
  if (given.length === 0) return;
  throw new OrxError({
    code: 'usage',
    message: `${given[0].kind === 'var' ? '-var' : '-var-file'} cannot be used with a saved plan (${file}): it carries the variable values it was made with`,
    actions: [`Apply it as it is (\`orx apply ${file}\`), or make a new plan with the values: \`orx plan -var NAME=VALUE -out ${file}\`.`],
  });
}
