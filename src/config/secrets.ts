// agents.NAME.secrets, agents.NAME.token and the top-level secrets: block. A secret entry must
// be a reference to where the value lives; a literal is an error that names the key and
// never repeats the value (it may be the very credential the file should not hold).
import {fileLocationError, parseSecretRef, secretKeyError, unknownSchemeHint} from './secret-ref.js';
import type {Problems} from './diagnostics.js';
import {formatPath, type ConfigPath} from './paths.js';
import {entries, list, put, rec, str} from './raw.js';
import type {AgentSpec, WorkspaceConfig} from './types.js';
import {parseDuration} from './units.js';

/** An agent's identity token when orchestration.yml says nothing: 1 h, no scopes, audience orchestrix. */
export const DEFAULT_TOKEN: Readonly<AgentSpec['token']> = Object.freeze({ttl_ms: 3_600_000, scopes: [], audience: 'orchestrix'});
const MAX_TOKEN_TTL_MS = 30 * 24 * 3_600_000;

const REFERENCE_HINT = 'op://VAULT/ITEM/FIELD, env://NAME or file://PATH';

export function agentSecrets(raw: unknown, path: ConfigPath, problems: Problems): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of entries(raw)) {
    const at = [...path, key];
    const badKey = secretKeyError(key);
    if (badKey) {
      problems.add(at, `${formatPath(at)}: ${badKey}`, 'key');
      continue;
    }
    const ref = typeof value === 'string' ? parseSecretRef(value) : null;
    const hint = typeof value === 'string' && !ref ? unknownSchemeHint(value) : null;
    if (hint) {
      problems.add(at, `${formatPath(at)}: ${hint}`);
      continue;
    }
    if (!ref) {
      problems.add(
        at,
        `${formatPath(at)} is a literal value, not a secret reference (the value is not shown); store it in 1Password, the environment or a file and write where it lives instead: ${REFERENCE_HINT}`,
      );
      continue;
    }
    // a place file:// may never point (.orx/, /proc, ...) is visible in the text: refused here, not first at apply
    const where = fileLocationError(ref);
    if (where) {
      problems.add(at, `${formatPath(at)}: ${where}`);
      continue;
    }
    put(out, key, ref.ref);
  }
  return out;
}

export function agentToken(raw: unknown, path: ConfigPath, problems: Problems): AgentSpec['token'] {
  const t = rec(raw);
  let ttl_ms = DEFAULT_TOKEN.ttl_ms;
  const ttl = str(t?.ttl);
  if (ttl !== undefined) {
    const ms = parseDuration(ttl);
    if (ms === undefined || ms < 1000 || ms > MAX_TOKEN_TTL_MS)
      problems.add([...path, 'ttl'], `${formatPath([...path, 'ttl'])} must be between 1s and 720h`);
    else ttl_ms = ms;
  }
  const scopes = list(t?.scopes).filter((s): s is string => typeof s === 'string');
  return {ttl_ms, scopes, audience: str(t?.audience) ?? DEFAULT_TOKEN.audience};
}

export function secretProviders(raw: unknown, problems: Problems): WorkspaceConfig['secrets'] {
  const op = rec(rec(raw)?.onepassword);
  const token = str(op?.token) ?? null;
  const account = str(op?.account) ?? null;
  const at = ['secrets', 'onepassword', 'token'];
  if (token !== null) {
    const ref = parseSecretRef(token);
    if (!ref || ref.provider === 'op') {
      problems.add(
        at,
        `${formatPath(at)} must say where the service-account token lives (env://NAME or file://PATH), not hold it (the value is not shown)`,
      );
      return {onepassword: {token: null, account}};
    }
    const where = fileLocationError(ref);
    if (where) problems.add(at, `${formatPath(at)}: ${where}`);
  }
  if (token !== null && account !== null) {
    problems.add(
      ['secrets', 'onepassword'],
      'secrets.onepassword: give either token (a service account) or account (the desktop app), not both',
    );
  }
  return {onepassword: {token, account}};
}

/** signing.key: a file path, or a reference the PEM is resolved from. */
export function signingKeySetting(key: string | undefined): {path: string | null; ref: string | null} {
  if (key === undefined) return {path: null, ref: null};
  const ref = parseSecretRef(key);
  return ref ? {path: null, ref: ref.ref} : {path: key, ref: null};
}
