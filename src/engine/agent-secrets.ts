// Secrets during plan and apply: which references the agents need, resolving them all at
// once (values registered with the redactor at once), their fingerprints against what was
// delivered last (rotation), and the AgentSecretsPort the agent action delivers through.
import path from 'node:path';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import type {ResourceRecord} from '../ledger/types.js';
import {listTokens, recordToken, revokeTokens} from '../ledger/tokens.js';
import type {AgentSecretsPort} from '../resources/types.js';
import {agentSecretsDir, isAgentSecretsDir, removeSecretFiles, secretsOwner, secretsRoot, writeSecretFiles} from '../secrets/delivery.js';
import {TOKEN_FILE} from '../config/mounts.js';
import {secretFingerprinter, type SecretFingerprinter} from '../secrets/fingerprint.js';
import {registerSecret} from '../util/redact.js';
import {parseSecretRef} from '../config/secret-ref.js';
import {resolveSecrets, type SecretRequest, type SecretResult} from '../secrets/resolve.js';
import type {WorkspaceConfig} from '../config/types.js';
import type {WorkspaceKey} from '../trust/keys.js';

export interface ResolvedSecrets {
  /** address -> secret name -> value (in memory only, for this process) */
  values: Map<string, Record<string, string>>;
  /** address -> secret name -> keyed fingerprint */
  fingerprints: Map<string, Record<string, string>>;
}

/** The references of these agents (all agents when `addresses` is absent). */
export function secretRequests(config: WorkspaceConfig, addresses?: ReadonlySet<string>): SecretRequest[] {
  const out: SecretRequest[] = [];
  for (const [name, spec] of Object.entries(config.agents)) {
    const address = `agent.${name}`;
    if (addresses && !addresses.has(address)) continue;
    for (const [key, ref] of Object.entries(spec.secrets)) out.push({address, key, ref});
  }
  return out;
}

export interface ResolveContext {
  dir: string;
  version: string;
  config: WorkspaceConfig;
  env?: NodeJS.ProcessEnv;
}

/** Resolves every request (one 1Password call for all op:// ones); results carry no value when they failed. */
export async function checkSecrets(ctx: ResolveContext, requests: SecretRequest[]): Promise<SecretResult[]> {
  const results = await resolveSecrets(requests, {
    dir: ctx.dir,
    env: ctx.env,
    onepassword: ctx.config.secrets.onepassword,
    version: ctx.version,
    protect: protectedKeyFiles(ctx),
  });
  for (const r of results) if (r.ok && r.value !== undefined) registerSecret(r.value);
  return results;
}

/** A signing key kept outside .orx/ (signing.key as a path or a file:// reference): never an agent's secret. */
export function protectedKeyFiles(ctx: Pick<ResolveContext, 'dir' | 'config'>): Array<{path: string; what: string}> {
  const ref = ctx.config.signing_key_ref ? parseSecretRef(ctx.config.signing_key_ref) : null;
  const file = ctx.config.signing_key ?? (ref?.provider === 'file' ? ref.target : null);
  return file ? [{path: path.resolve(ctx.dir, file), what: 'the workspace signing key (signing.key)'}] : [];
}

/** Resolves and fingerprints; any failure is one error naming every reference that failed (never a value). */
export async function resolveAgentSecrets(
  ctx: ResolveContext,
  requests: SecretRequest[],
  fingerprint: SecretFingerprinter,
): Promise<ResolvedSecrets> {
  const results = await checkSecrets(ctx, requests);
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    throw new OrxError({
      code: 'secrets_unresolved',
      message: `cannot resolve ${failed.length} secret reference${failed.length === 1 ? '' : 's'}:\n${failed.map((f) => `  ${f.error ?? `${f.address} secret ${f.key}: ${f.ref} failed`}`).join('\n')}`,
      actions: ['Fix the references (or the environment they read), check them with `orx secrets check`, then plan again.'],
      data: {failed: failed.map((f) => ({address: f.address, key: f.key, ref: f.ref, provider: f.provider, error: f.error ?? null}))},
    });
  }
  const resolved: ResolvedSecrets = {values: new Map(), fingerprints: new Map()};
  for (const r of results) {
    const values = resolved.values.get(r.address) ?? {};
    const fps = resolved.fingerprints.get(r.address) ?? {};
    values[r.key] = r.value!;
    fps[r.key] = fingerprint(r.value!);
    resolved.values.set(r.address, values);
    resolved.fingerprints.set(r.address, fps);
  }
  return resolved;
}

/** Secret names whose value is not the one delivered last time (by fingerprint), per agent. */
export function rotatedSecrets(resolved: ResolvedSecrets, records: readonly ResourceRecord[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of records) {
    const now = resolved.fingerprints.get(r.address);
    if (!now) continue;
    const keys = Object.keys(now).filter((k) => r.secret_fingerprints[k] !== undefined && r.secret_fingerprints[k] !== now[k]);
    if (keys.length > 0) out.set(r.address, keys.sort());
  }
  return out;
}

export interface AgentSecretsOptions {
  dir: string;
  workspace: string;
  ledger: Ledger;
  runId: string;
  actor: string;
  /** null when nothing is delivered (a plan that only deletes) */
  key: WorkspaceKey | null;
  resolved: ResolvedSecrets;
  root?: string;
}

export function agentSecretsPort(o: AgentSecretsOptions): AgentSecretsPort {
  const root = o.root ?? secretsRoot();
  const key = o.key;
  const fingerprint = key ? secretFingerprinter(key) : null;
  const dirFor = (name: string): string => agentSecretsDir(root, o.dir, o.workspace, name);
  // container name -> jtis of the tokens this apply wrote into its directory
  const delivered = new Map<string, string[]>();
  const revoke = (jtis: Iterable<string>, reason: string): void => {
    for (const jti of jtis) revokeTokens(o.ledger, {jti}, {actor: o.actor, reason});
  };
  const issueFiles = async (
    address: string,
    attrs: {secrets: Record<string, string>; token: {ttl_ms: number; scopes: string[]; audience: string}},
  ): Promise<{files: Record<string, string>; fingerprints: Record<string, string>; jti: string}> => {
    if (!key || !fingerprint) throw new Error(`${address}: no workspace key was loaded for this apply`);
    const have = o.resolved.values.get(address) ?? {};
    const files: Record<string, string> = {};
    const fingerprints: Record<string, string> = {};
    for (const name of Object.keys(attrs.secrets)) {
      const value = have[name];
      // resolution covers every agent of the apply: a missing one is a bug, not a user error
      if (value === undefined) throw new Error(`${address}: secret ${name} was not resolved before delivery`);
      files[name] = value;
      fingerprints[name] = fingerprint(value);
    }
    const {issueAgentToken} = await import('../trust/agent-token.js');
    const token = await issueAgentToken(key, {workspace: o.workspace, address, settings: attrs.token});
    // the token is a credential like any secret: never printed, never stored (its jti is)
    registerSecret(token.token);
    files[TOKEN_FILE] = token.token;
    recordToken(o.ledger, token.record, o.runId);
    return {files, fingerprints, jti: token.record.jti};
  };
  return {
    dirFor,
    async issue(address, attrs) {
      const {files, fingerprints} = await issueFiles(address, attrs);
      return {files, fingerprints};
    },
    async deliver(address, attrs, user, mountedAt) {
      const owner = secretsOwner(address, user);
      const {files, fingerprints, jti} = await issueFiles(address, attrs);
      delivered.set(attrs.name, [...(delivered.get(attrs.name) ?? []), jti]);
      writeSecretFiles(
        mountedAt && isAgentSecretsDir(mountedAt, o.dir, o.workspace, attrs.name) ? mountedAt : dirFor(attrs.name),
        files,
        owner,
      );
      return fingerprints;
    },
    remove(address, name, reason, mountedAt) {
      removeSecretFiles(dirFor(name));
      // left under a previous runtime directory: removed too, if it has the shape of this agent's
      if (mountedAt && mountedAt !== dirFor(name) && isAgentSecretsDir(mountedAt, o.dir, o.workspace, name)) removeSecretFiles(mountedAt);
      if (address) revokeTokens(o.ledger, {address}, {actor: o.actor, reason});
    },
    discard(name, reason) {
      removeSecretFiles(dirFor(name));
      revoke(delivered.get(name) ?? [], reason);
      delivered.delete(name);
    },
    retire(address, name, successor, reason, mountedAt) {
      this.remove(null, name, reason, mountedAt);
      const keep = new Set(delivered.get(successor) ?? []);
      revoke(
        listTokens(o.ledger, {address, live: true})
          .map((t) => t.jti)
          .filter((j) => !keep.has(j)),
        reason,
      );
    },
  };
}
