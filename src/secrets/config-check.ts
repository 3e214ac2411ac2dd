// The configuration's secret references checked for syntax, offline (op:// by the 1Password
// SDK's own validator, which is why this lives above the configuration loader).
import {formatPath, type ConfigPath} from '../config/paths.js';
import type {Problem} from '../config/problem.js';
import {parseSecretRef} from '../config/secret-ref.js';
import type {WorkspaceConfig} from '../config/types.js';
import {secretRefSyntaxError} from './reference.js';

/** Every reference's syntax (the op:// ones by the 1Password SDK's offline validator), as problems at their keys. */
export async function secretSyntaxProblems(config: WorkspaceConfig): Promise<Problem[]> {
  const checks: Array<{path: ConfigPath; ref: string}> = [];
  for (const [name, spec] of Object.entries(config.agents))
    for (const [key, ref] of Object.entries(spec.secrets)) checks.push({path: ['agents', name, 'secrets', key], ref});
  if (config.signing_key_ref) checks.push({path: ['signing', 'key'], ref: config.signing_key_ref});
  if (config.secrets.onepassword.token) checks.push({path: ['secrets', 'onepassword', 'token'], ref: config.secrets.onepassword.token});
  const out: Problem[] = [];
  for (const c of checks) {
    const parsed = parseSecretRef(c.ref);
    const error = parsed ? await secretRefSyntaxError(parsed) : null;
    if (error) out.push({path: c.path, message: `${formatPath(c.path)}: ${error}`});
  }
  return out;
}
