// `orx validate` and `orx secrets check`: the configuration checked offline (file:// secrets
// looked at, not read), and every secret reference resolved once (values are never returned).
import {configInvalid} from '../config/diagnostics.js';
import {checkExpressions, diagnosticsAt, loadConfig} from '../config/load.js';
import {secretSyntaxProblems} from '../secrets/config-check.js';
import {checkSecrets, secretRequests} from '../engine/agent-secrets.js';
import type {OrxContext} from '../engine/context.js';
import type {SecretRequest} from '../secrets/resolve.js';
import {checkSecretReferences} from '../engine/preflight.js';
import type {Diagnostic} from '../errors.js';

export interface ValidateResult {
  valid: true;
  workspace: string;
  counts: {networks: number; volumes: number; images: number; agents: number};
  diagnostics: [];
  /** env:// references whose variable is unset here (CI may set it before the apply), at their lines */
  warnings: Diagnostic[];
}

export async function validateWorkspace(ctx: OrxContext): Promise<ValidateResult> {
  const loaded = loadConfig(ctx.dir, {vars: ctx.vars});
  const c = loaded.config;
  // checked offline, without resolving anything
  const secretProblems = await secretSyntaxProblems(c);
  if (secretProblems.length > 0) throw configInvalid(diagnosticsAt(loaded, secretProblems));
  await checkExpressions(loaded);
  // file:// references that exist with safe modes, env:// ones set: checked, never read
  const warnings = await checkSecretReferences(ctx, loaded, process.env);
  const counts = {
    networks: Object.keys(c.networks).length,
    volumes: Object.keys(c.volumes).length,
    images: Object.keys(c.images).length,
    agents: Object.keys(c.agents).length,
  };
  return {valid: true, workspace: c.workspace, counts, diagnostics: [], warnings};
}

export interface SecretCheckRow {
  reference: string;
  address: string;
  key: string;
  provider: string;
  status: 'ok' | 'error';
  error: string | null;
}

export interface SecretsCheckResult {
  ok: boolean;
  checked: number;
  failed: number;
  secrets: SecretCheckRow[];
}

export async function checkWorkspaceSecrets(ctx: OrxContext): Promise<SecretsCheckResult> {
  const c = loadConfig(ctx.dir, {vars: ctx.vars}).config;
  const requests: SecretRequest[] = [...secretRequests(c)];
  if (c.signing_key_ref) requests.push({address: 'signing', key: 'key', ref: c.signing_key_ref});
  const results = await checkSecrets({dir: ctx.dir, version: ctx.version, config: c}, requests);
  const secrets: SecretCheckRow[] = results.map((r) => ({
    reference: r.ref,
    address: r.address,
    key: r.key,
    provider: r.provider ?? 'unknown',
    status: r.ok ? 'ok' : 'error',
    error: r.ok ? null : (r.error ?? 'failed'),
  }));
  const failed = secrets.filter((r) => r.status !== 'ok').length;
  return {ok: failed === 0, checked: secrets.length, failed, secrets};
}
