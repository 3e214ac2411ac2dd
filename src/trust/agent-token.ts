// Agent identity tokens: a JWT signed ES256 with the workspace key, issued to each agent on
// start (delivered at /run/secrets/orx-token) and checked by `orx token verify`. jose does the
// JWS/JWT work; it is imported on first use (it costs ~30 ms), so commands that never touch
// tokens do not load it. The token string is a credential: nothing here logs it, records it
// or puts it in an error message; only its jti and claims are kept.
import {createPublicKey, randomUUID} from 'node:crypto';
import path from 'node:path';
import type {JWTPayload} from 'jose';
import {DEFAULT_TOKEN} from '../config/secrets.js';
import {OrxError, preview} from '../errors.js';
import {FileReadError, readBoundedText} from '../util/bounded-file.js';
import type {TokenIssue} from '../ledger/tokens.js';
import {keyPaths, signerKeys, type TrustedKey, type WorkspaceKey} from './keys.js';
import {looksLikeJwt} from '../util/jwt-shape.js';

type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;
const loadJose = (): Promise<Jose> => (jose ??= import('jose'));

/** Starts loading the JOSE library (~30 ms) so that it overlaps other work of an apply. */
export function preloadTokenLibrary(): void {
  void loadJose().catch(() => undefined);
}

export const TOKEN_ALG = 'ES256';
/** The JWT `typ` header (RFC 8725 explicit typing): an orx agent token is not any other JWT. */
export const TOKEN_TYPE = 'orx-agent+jwt';
/** Longest TTL accepted (a year): longer-lived credentials are a configuration mistake. */
export const MAX_TOKEN_TTL_MS = 366 * 24 * 3_600_000;
/** How far in the future an `iat` may be (clock skew between hosts) before the token is refused. */
export const IAT_SKEW_SECONDS = 60;
/** Far above any real token (a few hundred bytes); refusing early keeps hostile input cheap. */
export const MAX_TOKEN_CHARS = 16_384;

export interface TokenSettings {
  /** lifetime; exp = iat + ceil(ttl_ms / 1000) */
  ttl_ms: number;
  /** OAuth-style scope tokens, carried in the space-separated `scope` claim (RFC 8693 §4.2) */
  scopes: string[];
  audience: string;
}

/** ttl 1 h, no scopes, audience `orchestrix`: the configuration's defaults */
export const DEFAULT_TOKEN_SETTINGS: Readonly<TokenSettings> = DEFAULT_TOKEN;

/** Defaults filled in and every value checked; throws a user error naming the bad setting. */
export function tokenSettings(partial: Partial<TokenSettings> = {}): TokenSettings {
  const s = {...DEFAULT_TOKEN_SETTINGS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))};
  const bad = (message: string): OrxError =>
    new OrxError({code: 'token_settings_invalid', message, actions: ['Fix the token settings in orchestration.yml.']});
  if (typeof s.ttl_ms !== 'number' || !Number.isFinite(s.ttl_ms) || s.ttl_ms <= 0 || s.ttl_ms > MAX_TOKEN_TTL_MS) {
    throw bad(`token ttl must be more than 0 and at most 366 days (got ${preview(s.ttl_ms)} ms)`);
  }
  if (typeof s.audience !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(s.audience)) {
    throw bad(`token audience must be 1 to 256 printable characters without spaces (got ${preview(s.audience)})`);
  }
  if (!Array.isArray(s.scopes)) throw bad('token scopes must be a list of strings');
  for (const scope of s.scopes) {
    // RFC 6749 §3.3 scope-token: no spaces, quotes or backslashes
    if (typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/.test(scope)) {
      throw bad(`token scope ${preview(scope)} is not a scope token (printable ASCII, no spaces, quotes or backslashes)`);
    }
  }
  return {ttl_ms: s.ttl_ms, audience: s.audience, scopes: [...new Set(s.scopes)]};
}

/** `researcher` or `agent.researcher` -> `agent.researcher`. */
export function agentAddress(nameOrAddress: string): string {
  const name = nameOrAddress.startsWith('agent.') ? nameOrAddress.slice('agent.'.length) : nameOrAddress;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name)) {
    throw new OrxError({
      code: 'invalid_input',
      message: `${preview(nameOrAddress)} is not an agent name (e.g. researcher or agent.researcher)`,
    });
  }
  return `agent.${name}`;
}

/** What `recordToken` (src/ledger/tokens.ts) stores: the jti and claims, never the token. */
export type IssuedTokenRecord = TokenIssue;

export interface IssuedToken {
  /** the compact JWS: a credential, to be written only to the agent's secrets file */
  token: string;
  jti: string;
  /** seconds since the epoch */
  iat: number;
  exp: number;
  /** pass to recordToken(ledger, issued.record, runId) */
  record: IssuedTokenRecord;
}

/** Signs an agent token with the workspace key (ES256; `kid` is the key's fingerprint). */
const signingKeys = new WeakMap<WorkspaceKey, ReturnType<Jose['importPKCS8']>>();

export async function issueAgentToken(
  key: WorkspaceKey,
  claims: {workspace: string; address: string; settings: TokenSettings; now?: Date},
): Promise<IssuedToken> {
  const settings = tokenSettings(claims.settings);
  for (const [field, v] of [
    ['workspace', claims.workspace],
    ['address', claims.address],
  ] as const) {
    if (typeof v !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(v))
      throw new OrxError({code: 'invalid_input', kind: 'bug', message: `an agent token needs a ${field} (got ${preview(v)})`});
  }
  const {SignJWT, importPKCS8} = await loadJose();
  // an apply issues one token per agent it starts: the key is imported once per key object
  let privateKey = signingKeys.get(key);
  if (!privateKey) signingKeys.set(key, (privateKey = importPKCS8(key.privateKeyPem, TOKEN_ALG)));
  const nowMs = (claims.now ?? new Date()).getTime();
  if (!Number.isFinite(nowMs)) throw new OrxError({code: 'invalid_input', kind: 'bug', message: 'an agent token needs a valid issue time'});
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + Math.max(1, Math.ceil(settings.ttl_ms / 1000));
  const jti = randomUUID();
  const token = await new SignJWT(settings.scopes.length > 0 ? {scope: settings.scopes.join(' ')} : {})
    .setProtectedHeader({alg: TOKEN_ALG, typ: TOKEN_TYPE, kid: key.fingerprint})
    .setIssuer(claims.workspace)
    .setSubject(claims.address)
    .setAudience(settings.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(await privateKey);
  return {
    token,
    jti,
    iat,
    exp,
    record: {jti, address: claims.address, workspace: claims.workspace, audience: settings.audience, scopes: settings.scopes, iat, exp},
  };
}

export type TokenFailure =
  | 'malformed' // not a compact JWS / JWT, or a claim of the wrong type
  | 'algorithm' // not ES256
  | 'type' // typ header is not orx-agent+jwt
  | 'signature' // no trusted key verifies it
  | 'expired'
  | 'not_yet_valid' // nbf in the future, or iat too far in the future
  | 'issuer' // iss is not this workspace
  | 'audience'
  | 'claims' // a required claim is missing or wrong
  | 'unknown' // signed, but this workspace's ledger never recorded its jti
  | 'mismatch' // its claims differ from what the ledger recorded for its jti
  | 'revoked';

export interface TokenCheck {
  ok: boolean;
  /** why it is not valid (human text); null when ok */
  reason: string | null;
  /** the machine-readable reason; null when ok */
  code: TokenFailure | null;
  /** the claims, once the signature is verified (also for an expired or revoked token); else null */
  claims: Record<string, unknown> | null;
  jti: string | null;
  /** the `scope` claim split into its scope tokens */
  scopes: string[];
  /** the fingerprint of the key that verified the signature */
  key_fingerprint: string | null;
  /** when it was revoked, if it was */
  revocation: {revoked_at: string; reason: string | null} | null;
}

export interface VerifyTokenOptions {
  keys: TrustedKey[];
  /** the expected `iss` */
  workspace: string;
  isRevoked: (jti: string) => {revoked_at: string; reason: string | null} | null;
  now?: Date;
  /** when given, `aud` must be (or contain) one of these */
  audience?: string | string[];
  /**
   * The ledger's record of a jti. When given, a jti the ledger does not know is refused
   * ('unknown'), and so is one whose sub, iss or exp differ from the record ('mismatch').
   */
  lookup?: (jti: string) => {address: string; workspace: string; exp: number} | null;
}

const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'];

const iso = (seconds: unknown): string =>
  typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : preview(seconds);

function fail(
  code: TokenFailure,
  reason: string,
  claims: Record<string, unknown> | null = null,
  extra: Partial<TokenCheck> = {},
): TokenCheck {
  const jti = claims && typeof claims.jti === 'string' ? claims.jti : null;
  return {ok: false, reason, code, claims, jti, scopes: scopesOf(claims), key_fingerprint: null, revocation: null, ...extra};
}

function scopesOf(claims: Record<string, unknown> | null): string[] {
  return claims && typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
}

type VerifyKey = Awaited<ReturnType<Jose['importSPKI']>>;

/** Only P-256 keys can verify ES256; the one named by the token's `kid` is tried first. */
async function candidateKeys(j: Jose, keys: TrustedKey[], kid: unknown): Promise<Array<{key: VerifyKey; fingerprint: string}>> {
  const out: Array<{key: VerifyKey; fingerprint: string}> = [];
  for (const k of keys) {
    const details = createPublicKey(k.publicKeyPem);
    if (details.asymmetricKeyType !== 'ec' || details.asymmetricKeyDetails?.namedCurve !== 'prime256v1') continue;
    out.push({key: await j.importSPKI(k.publicKeyPem, TOKEN_ALG), fingerprint: k.fingerprint});
  }
  return out.sort((a, b) => Number(b.fingerprint === kid) - Number(a.fingerprint === kid));
}

/**
 * Checks an agent token: ES256 signature by one of `keys`, typ, required claims, expiry,
 * issuer = this workspace, audience (if asked), the ledger's record (if `lookup`) and
 * revocation. Never throws for a bad token (that is a TokenCheck with ok: false); throws an
 * OrxError only when there is no P-256 key to check with.
 */
export async function verifyAgentToken(token: string, opts: VerifyTokenOptions): Promise<TokenCheck> {
  const compact = typeof token === 'string' ? token.trim() : '';
  if (compact.length === 0 || compact.length > MAX_TOKEN_CHARS || !looksLikeJwt(compact)) {
    return fail('malformed', 'not a JWT: expected three base64url parts separated by dots');
  }
  const j = await loadJose();
  let header: Record<string, unknown>;
  try {
    header = j.decodeProtectedHeader(compact);
  } catch {
    return fail('malformed', 'not a JWT: its header is not base64url-encoded JSON');
  }
  if (header.alg !== TOKEN_ALG)
    return fail('algorithm', `signed with ${preview(header.alg ?? '(no alg)', 20)}; orx agent tokens are signed ${TOKEN_ALG}`);
  if (header.typ !== TOKEN_TYPE)
    return fail('type', `typ header is ${preview(header.typ ?? '(none)', 40)}, not ${TOKEN_TYPE}: not an orx agent token`);
  if (Array.isArray(header.crit)) return fail('malformed', 'the token has critical header parameters orx does not understand');

  const keys = await candidateKeys(j, opts.keys, header.kid);
  if (keys.length === 0) {
    throw new OrxError({
      code: 'no_trusted_key',
      message: 'no ECDSA P-256 public key to check the token signature with',
      actions: [
        "Run it in the workspace that issued the token, or pass that workspace's public key with --trusted-key PEM (`orx keys show` prints it).",
      ],
    });
  }
  const now = opts.now ?? new Date();
  let payload: JWTPayload | undefined;
  let fingerprint: string | null = null;
  for (const k of keys) {
    try {
      ({payload} = await j.jwtVerify(compact, k.key, {
        algorithms: [TOKEN_ALG],
        typ: TOKEN_TYPE,
        issuer: opts.workspace,
        audience: opts.audience,
        requiredClaims: REQUIRED_CLAIMS,
        currentDate: now,
      }));
      fingerprint = k.fingerprint;
      break;
    } catch (err) {
      if (err instanceof j.errors.JWSSignatureVerificationFailed) continue;
      const verified =
        err instanceof j.errors.JWTExpired || err instanceof j.errors.JWTClaimValidationFailed
          ? (err.payload as Record<string, unknown>)
          : null;
      const extra = {key_fingerprint: verified ? k.fingerprint : null};
      if (err instanceof j.errors.JWTExpired) {
        return fail('expired', `expired at ${iso(verified?.exp)}`, verified, {...extra, revocation: revocationOf(opts, verified)});
      }
      if (err instanceof j.errors.JWTClaimValidationFailed) return claimFailure(err.claim, err.reason, verified!, opts, extra);
      if (err instanceof j.errors.JOSEAlgNotAllowed) return fail('algorithm', `orx agent tokens are signed ${TOKEN_ALG}`);
      if (!(err instanceof j.errors.JOSEError)) throw err; // a bug, not a bad token
      return fail('malformed', 'not a valid JWT: its payload is not a JSON object of claims');
    }
  }
  if (!payload || fingerprint === null) {
    return fail(
      'signature',
      `the signature does not verify with ${keys.length === 1 ? `the trusted key ${keys[0].fingerprint}` : `any of the ${keys.length} trusted keys`}`,
    );
  }

  const claims = {...payload} as Record<string, unknown>;
  const extra = {key_fingerprint: fingerprint};
  for (const c of ['sub', 'jti'] as const) {
    if (typeof claims[c] !== 'string' || claims[c].length === 0)
      return fail('claims', `the ${c} claim must be a non-empty string`, claims, extra);
  }
  if (claims.scope !== undefined && typeof claims.scope !== 'string')
    return fail('claims', 'the scope claim must be a space-separated string', claims, extra);
  const nowSec = Math.floor(now.getTime() / 1000);
  if ((claims.iat as number) > nowSec + IAT_SKEW_SECONDS)
    return fail('not_yet_valid', `issued in the future (iat ${iso(claims.iat)})`, claims, extra);

  const jti = claims.jti as string;
  const revocation = opts.isRevoked(jti);
  if (revocation)
    return fail('revoked', `revoked at ${revocation.revoked_at}${revocation.reason ? `: ${revocation.reason}` : ''}`, claims, {
      ...extra,
      revocation,
    });
  if (opts.lookup) {
    const rec = opts.lookup(jti);
    if (!rec)
      return fail(
        'unknown',
        `jti ${preview(jti)} is not recorded in this workspace's ledger: orx did not issue it here (or the ledger was replaced)`,
        claims,
        extra,
      );
    const differs = [
      rec.address !== claims.sub ? 'sub' : '',
      rec.workspace !== claims.iss ? 'iss' : '',
      rec.exp !== claims.exp ? 'exp' : '',
    ].filter(Boolean);
    if (differs.length)
      return fail(
        'mismatch',
        `its ${differs.join(', ')} differ${differs.length === 1 ? 's' : ''} from what the ledger recorded for jti ${preview(jti)}`,
        claims,
        extra,
      );
  }
  return {ok: true, reason: null, code: null, claims, jti, scopes: scopesOf(claims), key_fingerprint: fingerprint, revocation: null};
}

function revocationOf(opts: VerifyTokenOptions, claims: Record<string, unknown> | null): TokenCheck['revocation'] {
  return claims && typeof claims.jti === 'string' ? opts.isRevoked(claims.jti) : null;
}

function claimFailure(
  claim: string,
  why: string,
  claims: Record<string, unknown>,
  opts: VerifyTokenOptions,
  extra: Partial<TokenCheck>,
): TokenCheck {
  if (why === 'missing') return fail('claims', `the required ${claim} claim is missing`, claims, extra);
  switch (claim) {
    case 'iss':
      return fail('issuer', `issued by ${preview(claims.iss ?? '(no issuer)')}, not by this workspace (${opts.workspace})`, claims, extra);
    case 'aud':
      return fail('audience', `its audience ${preview(claims.aud)} is not ${[opts.audience ?? []].flat().join(' or ')}`, claims, extra);
    case 'nbf':
      return fail('not_yet_valid', `not valid before ${iso(claims.nbf)}`, claims, extra);
    case 'typ':
      return fail('type', `not an orx agent token (typ is not ${TOKEN_TYPE})`, claims, extra);
    default:
      return fail(
        why === 'invalid' ? 'malformed' : 'claims',
        `the ${claim} claim is ${why === 'invalid' ? 'malformed' : 'not acceptable'}`,
        claims,
        extra,
      );
  }
}

/**
 * The keys `orx token verify` accepts: this workspace's own (from its private key, or its
 * signing.pub when only that is present) plus any PEM files given with --trusted-key.
 */
export function tokenVerificationKeys(dir: string, extraKeyFiles: string[] = []): TrustedKey[] {
  const keys = signerKeys(dir, extraKeyFiles);
  if (keys.length === 0) {
    const p = keyPaths(dir);
    throw new OrxError({
      code: 'no_trusted_key',
      message: `this workspace has no signing key (${p.privateKey} does not exist), so no token can be checked`,
      actions: ['Run it in the workspace that issued the token, or pass its public key with --trusted-key PEM.'],
    });
  }
  return keys;
}

/**
 * The TOKEN argument of `orx token verify`: `-` reads stdin, a compact JWT is itself, anything
 * else is a file path. Errors never repeat an argument that is not a path (it may be a
 * mistyped token).
 */
export async function readTokenArgument(arg: string, dir: string, readStdin: () => Promise<string>): Promise<string> {
  let text: string;
  if (arg === '-') text = await readStdin();
  else if (looksLikeJwt(arg)) return arg.trim();
  else {
    const file = path.resolve(dir, arg);
    try {
      text = readBoundedText(file, MAX_TOKEN_CHARS);
    } catch (err) {
      if (!(err instanceof FileReadError)) throw err;
      if (err.reason === 'missing') {
        throw new OrxError({
          code: 'invalid_input',
          message: `TOKEN (${arg.length} characters) is neither a JWT nor the path of a file`,
          actions: ['Pass the token, a file holding it (e.g. /run/secrets/orx-token), or - to read it from stdin.'],
        });
      }
      if (err.reason === 'too_large')
        throw new OrxError({
          code: 'invalid_input',
          message: `${file} is ${err.size !== undefined ? `${err.size} bytes` : 'too long'}: too large to be an agent token`,
        });
      throw new OrxError({code: 'invalid_input', message: err.message});
    }
  }
  if (text.length > MAX_TOKEN_CHARS)
    throw new OrxError({
      code: 'invalid_input',
      message: `${arg === '-' ? 'stdin' : arg} holds ${text.length} characters: too many for an agent token`,
    });
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new OrxError({code: 'invalid_input', message: arg === '-' ? 'no token on stdin' : `${arg} is empty`});
  return trimmed;
}

/** Reads a stream to its end, giving up (with what was read so far) beyond `max` characters. */
export async function readBounded(stream: NodeJS.ReadableStream, max = MAX_TOKEN_CHARS + 1): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > max) break;
  }
  return text;
}
