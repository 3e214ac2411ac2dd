// The configuration's secret references checked without resolving them: their syntax, offline
// (op:// by the 1Password SDK's own validator, which is why this lives above the configuration
// loader), and that what they point at is there (file:// and env://), without reading it.
import {formatPath, type ConfigPath} from '../config/paths.js';
import type {Problem} from '../config/problem.js';
import {parseSecretRef} from '../config/secret-ref.js';
import type {WorkspaceConfig} from '../config/types.js';
import {preview} from '../errors.js';
import {checkFileSecret, type FileSecretOptions} from './providers.js';
import {secretRefSyntaxError} from './reference.js';

interface ConfigRef {
  path: ConfigPath;
  ref: string;
  /** an agent's secret: the signing key file must never be one */
  agent: boolean;
}

/** Every secret reference the configuration holds, at its key. */
function configSecretRefs(config: WorkspaceConfig): ConfigRef[] {
  const out: ConfigRef[] = [];
  for (const [name, spec] of Object.entries(config.agents))
    for (const [key, ref] of Object.entries(spec.secrets)) out.push({path: ['agents', name, 'secrets', key], ref, agent: true});
  if (config.signing_key_ref) out.push({path: ['signing', 'key'], ref: config.signing_key_ref, agent: false});
  if (config.secrets.onepassword.token)
    out.push({path: ['secrets', 'onepassword', 'token'], ref: config.secrets.onepassword.token, agent: false});
  return out;
}

/** Every reference's syntax (the op:// ones by the 1Password SDK's offline validator), as problems at their keys. */
export async function secretSyntaxProblems(config: WorkspaceConfig): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const c of configSecretRefs(config)) {
    const parsed = parseSecretRef(c.ref);
    const error = parsed ? await secretRefSyntaxError(parsed) : null;
    if (error) out.push({path: c.path, message: `${formatPath(c.path)}: ${error}`});
  }
  return out;
}

export interface PresenceProblems {
  /** file:// references the resolver would refuse at apply: missing, not a regular file, unsafe modes */
  errors: Problem[];
  /** env:// references to unset variables: CI may set them before the apply */
  warnings: Problem[];
}

/**
 * file:// and env:// references checked as the resolver would at apply, without reading a file
 * (the same rules as readFileSecret, through checkFileSecret) or a variable's value. References
 * with a syntax problem are left to secretSyntaxProblems.
 */
export async function secretPresenceProblems(
  config: WorkspaceConfig,
  o: {dir: string; env: NodeJS.ProcessEnv; protect?: FileSecretOptions['protect']},
): Promise<PresenceProblems> {
  const found = await Promise.all(
    configSecretRefs(config).map(async (c): Promise<{kind: 'error' | 'warning'; problem: Problem} | null> => {
      const ref = parseSecretRef(c.ref);
      if (!ref || ref.provider === 'op' || (await secretRefSyntaxError(ref))) return null;
      const at = formatPath(c.path);
      if (ref.provider === 'env') {
        if (o.env[ref.target] !== undefined) return null;
        const message = `${at}: ${preview(ref.ref)} is not set in this environment; export ${ref.target} before \`orx apply\` (CI may set it later)`;
        return {kind: 'warning', problem: {path: c.path, message}};
      }
      const got = await checkFileSecret(ref.target, o.dir, {protect: c.agent ? o.protect : undefined});
      return got.ok ? null : {kind: 'error', problem: {path: c.path, message: `${at}: ${preview(ref.ref)} ${got.reason}`}};
    }),
  );
  const pick = (kind: 'error' | 'warning') => found.flatMap((f) => (f?.kind === kind ? [f.problem] : []));
  return {errors: pick('error'), warnings: pick('warning')};
}
