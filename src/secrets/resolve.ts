// Turns the secret references of an apply into values. Every request gets a result: a failure
// of one reference (or of 1Password as a whole) is that result's error, so the caller can show
// every problem together before anything starts. Errors name the agent, the key and the
// reference, never a value.
import {preview} from '../errors.js';
import {
  createSdkClient,
  describeResolveError,
  describeSdkFailure,
  INTEGRATION_NAME,
  sdkFailure,
  type OpAuth,
  type OpClientFactory,
  type OpResolveAllResponse,
} from './onepassword.js';
import {readEnvSecret, readFileSecret, type FileSecretOptions, type ProviderResult} from './providers.js';
import {MIN_SECRET_LENGTH, REDACTED} from '../util/redact.js';
import {secretRefSyntaxError} from './reference.js';
import {parseSecretRef, unknownSchemeHint, type SecretProvider, type SecretRef} from '../config/secret-ref.js';

export const DEFAULT_OP_TOKEN_REF = 'env://OP_SERVICE_ACCOUNT_TOKEN';
export const DEFAULT_OP_TIMEOUT_MS = 30_000;

export interface SecretRequest {
  /** e.g. agent.researcher */
  address: string;
  key: string;
  ref: string;
}

export interface SecretResult extends SecretRequest {
  /** null only when `ref` is not a reference at all (a literal) */
  provider: SecretProvider | null;
  ok: boolean;
  value?: string;
  /** human reason naming the reference and the agent; never contains the value */
  error?: string;
}

export interface OnePasswordSettings {
  /** a reference (env://NAME or file://PATH) to the service-account token; default env://OP_SERVICE_ACCOUNT_TOKEN */
  token?: string | null;
  /** desktop-app auth account name instead of a token; wins over a token when both are given */
  account?: string | null;
}

export interface ResolveOptions {
  /** absolute workspace directory (file:// paths are relative to it) */
  dir: string;
  /** default process.env */
  env?: NodeJS.ProcessEnv;
  onepassword?: OnePasswordSettings;
  /** orx version, sent as integrationVersion (integrationName is "orchestrix") */
  version: string;
  /** tests inject a fake; default builds a real SDK client */
  onePasswordClient?: OpClientFactory;
  /** bound on 1Password sign-in plus lookup together; default 30 s */
  timeoutMs?: number;
  /** files a file:// reference must not be (besides .orx/ and the kernel trees): the signing key given elsewhere */
  protect?: FileSecretOptions['protect'];
}

const NO_CREDENTIALS =
  'cannot be resolved: there are no 1Password credentials; set OP_SERVICE_ACCOUNT_TOKEN to a service account token, or secrets.onepassword.account to sign in through the 1Password desktop app';

/** Resolves every request; all op:// references of the call in ONE resolveAll call (deduplicated). Never throws for a per-reference failure: it is in that result's error. */
export async function resolveSecrets(requests: SecretRequest[], opts: ResolveOptions): Promise<SecretResult[]> {
  const env = opts.env ?? process.env;
  const refs = requests.map((r) => parseSecretRef(r.ref));
  // syntax first: a malformed reference is reported as malformed, not as whatever a provider makes of it
  const syntax = await Promise.all(refs.map((ref) => (ref ? secretRefSyntaxError(ref) : Promise.resolve(null))));
  const opRefs = [...new Set(refs.flatMap((ref, i) => (ref?.provider === 'op' && !syntax[i] ? [ref.ref] : [])))];
  const op = opRefs.length > 0 ? resolveOnePassword(opRefs, opts, env) : Promise.resolve<OpOutcome>({byRef: new Map()});

  const results = await Promise.all(
    requests.map(async (req, i): Promise<SecretResult> => {
      const ref = refs[i] ?? null;
      const base = {address: req.address, key: req.key, ref: req.ref, provider: ref?.provider ?? null};
      const failed = (message: string): SecretResult => ({...base, ok: false, error: `${req.address} secret ${req.key}: ${message}`});
      if (!ref) {
        // the literal may be the secret itself: say what is wrong, never what it is
        const hint = unknownSchemeHint(req.ref);
        return failed(
          `is not a secret reference (the value is not shown)${hint ? `; ${hint}` : '; write where the secret lives: op://VAULT/ITEM/FIELD, env://NAME or file://PATH'}`,
        );
      }
      const bad = syntax[i];
      if (bad) return failed(bad);
      const got = await provide(ref, opts, env, op);
      if (!got.ok) return failed(`${preview(ref.ref)} ${got.reason}`);
      if (got.value.length < MIN_SECRET_LENGTH) {
        return failed(
          `${preview(ref.ref)} resolves to fewer than ${MIN_SECRET_LENGTH} characters; orx refuses it as a secret because redacting it would redact too much`,
        );
      }
      return {...base, ok: true, value: got.value};
    }),
  );
  return scrub(results, (await op).token);
}

async function provide(ref: SecretRef, opts: ResolveOptions, env: NodeJS.ProcessEnv, op: Promise<OpOutcome>): Promise<ProviderResult> {
  switch (ref.provider) {
    case 'env':
      return readEnvSecret(ref.target, env);
    case 'file':
      return readFileSecret(ref.target, opts.dir, {protect: opts.protect});
    case 'op':
      return (await op).byRef.get(ref.ref) ?? {ok: false, reason: 'cannot be resolved: 1Password returned no answer for it'};
  }
}

interface OpOutcome {
  byRef: Map<string, ProviderResult>;
  /** the service account token used, so no message can carry it out */
  token?: string;
}

class OpTimeout extends Error {}

async function resolveOnePassword(refs: string[], opts: ResolveOptions, env: NodeJS.ProcessEnv): Promise<OpOutcome> {
  const every = (reason: string, token?: string): OpOutcome => ({byRef: new Map(refs.map((r) => [r, {ok: false, reason}])), token});
  const cred = await credentials(opts, env);
  if (!cred.ok) return every(cred.reason);
  const token = typeof cred.auth === 'string' ? cred.auth : undefined;
  const factory = opts.onePasswordClient ?? createSdkClient;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_OP_TIMEOUT_MS;
  let phase: 'sign-in' | 'resolve' = 'sign-in';
  let response: OpResolveAllResponse;
  try {
    response = await withTimeout(timeoutMs, async () => {
      const client = await factory({auth: cred.auth, integrationName: INTEGRATION_NAME, integrationVersion: opts.version});
      phase = 'resolve';
      return client.secrets.resolveAll(refs);
    });
  } catch (err) {
    if (err instanceof OpTimeout) {
      const s = Math.round(timeoutMs / 100) / 10;
      return every(
        `cannot be resolved: 1Password did not answer within ${s} s (during ${phase}); check the network connection to 1Password, or the desktop app, and retry`,
        token,
      );
    }
    return every(`cannot be resolved: ${describeSdkFailure(phase, sdkFailure(err))}`, token);
  }
  const answers = response?.individualResponses ?? {};
  const byRef = new Map<string, ProviderResult>();
  for (const ref of refs) {
    const answer = Object.hasOwn(answers, ref) ? answers[ref] : undefined;
    if (answer?.error) byRef.set(ref, {ok: false, reason: `cannot be resolved: ${describeResolveError(answer.error)}`});
    else if (typeof answer?.content?.secret === 'string') byRef.set(ref, {ok: true, value: answer.content.secret});
    else byRef.set(ref, {ok: false, reason: 'cannot be resolved: 1Password returned no value for it'});
  }
  return {byRef, token};
}

type Credentials = {ok: true; auth: OpAuth} | {ok: false; reason: string};

/** Desktop account when set; else the service account token, read through the env/file providers. */
async function credentials(opts: ResolveOptions, env: NodeJS.ProcessEnv): Promise<Credentials> {
  const account = opts.onepassword?.account?.trim();
  if (account) return {ok: true, auth: {desktopAccount: account}};
  const configured = opts.onepassword?.token ?? null;
  const ref = parseSecretRef(configured ?? DEFAULT_OP_TOKEN_REF);
  if (!ref || ref.provider === 'op') {
    return {
      ok: false,
      reason:
        'cannot be resolved: secrets.onepassword.token must say where the service account token lives (env://NAME or file://PATH), not hold it (the value is not shown)',
    };
  }
  const bad = await secretRefSyntaxError(ref);
  if (bad) return {ok: false, reason: `cannot be resolved: secrets.onepassword.token: ${bad}`};
  const got = ref.provider === 'env' ? readEnvSecret(ref.target, env) : await readFileSecret(ref.target, opts.dir, {protect: opts.protect});
  // a token never contains whitespace; a stray newline or space around it is a copy-paste artefact
  const token = got.ok ? got.value.trim() : '';
  if (token) return {ok: true, auth: token};
  if (configured === null) return {ok: false, reason: NO_CREDENTIALS};
  const why = got.ok ? 'is empty' : got.reason;
  return {
    ok: false,
    reason: `cannot be resolved: the 1Password service account token (secrets.onepassword.token) ${preview(ref.ref)} ${why}`,
  };
}

async function withTimeout<T>(ms: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OpTimeout()), ms);
  });
  try {
    // race() also handles a late rejection of run() after the timeout: no unhandled rejection
    return await Promise.race([run(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Belt and braces: a message built from what the SDK or the filesystem said could in principle
 * quote a value (or the token); every value this call resolved is replaced before it leaves.
 */
function scrub(results: SecretResult[], token: string | undefined): SecretResult[] {
  const values = [token, ...results.map((r) => r.value)].filter((v): v is string => v !== undefined && v.length >= MIN_SECRET_LENGTH);
  if (values.length === 0) return results;
  values.sort((a, b) => b.length - a.length);
  return results.map((r) =>
    r.error && values.some((v) => r.error!.includes(v)) ? {...r, error: values.reduce((e, v) => e.split(v).join(REDACTED), r.error)} : r,
  );
}
