// The 1Password SDK behind a narrow seam: loading it, creating a client, and turning whatever it
// throws or returns as an error into one short sentence. The SDK is imported lazily because
// its WASM core costs ~60 ms at start-up and only op:// references need it.
import type * as Sdk from '@1password/sdk';
import {preview} from '../errors.js';
import {excerpt} from '../util/redact.js';

type SdkModule = typeof Sdk;

export const INTEGRATION_NAME = 'orchestrix';

export type OpAuth = string | {desktopAccount: string};

export interface OpClientSettings {
  auth: OpAuth;
  integrationName: string;
  integrationVersion: string;
}

export interface OpResolveError {
  type: string;
  message?: string;
}

export interface OpResolveAllResponse {
  individualResponses: Record<string, {content?: {secret: string}; error?: OpResolveError}>;
}

/** The part of the SDK client orx uses; tests stand in a fake for it. */
export interface OpClient {
  secrets: {resolveAll(refs: string[]): Promise<OpResolveAllResponse>};
}

export type OpClientFactory = (settings: OpClientSettings) => Promise<OpClient>;

let loading: Promise<SdkModule> | undefined;

export function loadSdk(): Promise<SdkModule> {
  loading ??= import('@1password/sdk').catch((err: unknown) => {
    // a failed load is not cached: the next call may run where the WASM core can load
    loading = undefined;
    throw err;
  });
  return loading;
}

/** The SDK's own offline check of an op:// reference: a sentence, or null when it is valid. */
export async function opReferenceSyntaxError(uri: string): Promise<string | null> {
  let sdk: SdkModule;
  try {
    sdk = await loadSdk();
  } catch (err) {
    return `${preview(uri)} cannot be checked: the 1Password SDK did not load (${sdkFailure(err).message})`;
  }
  try {
    sdk.Secrets.validateSecretReference(uri);
    return null;
  } catch (err) {
    // the validator throws a JSON string such as {"name":"ParsingSecretReference","message":"..."}
    return `${preview(uri)} is not a valid 1Password reference (op://VAULT/ITEM/[SECTION/]FIELD): ${sdkFailure(err).message}`;
  }
}

export const createSdkClient: OpClientFactory = async (settings) => {
  const sdk = await loadSdk();
  const {integrationName, integrationVersion} = settings;
  if (typeof settings.auth === 'string') return sdk.createClient({auth: settings.auth, integrationName, integrationVersion});
  const config = {auth: new sdk.DesktopAuth(settings.auth.desktopAccount), integrationName, integrationVersion};
  // Without the desktop app the SDK prints a stack trace to stderr itself (synchronously, inside
  // this call) before it fails with "Native library is not available."; orx reports that
  // failure as a sentence, so the print is muted for exactly this synchronous call.
  const original = console.error;
  let pending: Promise<OpClient>;
  console.error = () => {};
  try {
    pending = sdk.createClient(config);
  } finally {
    console.error = original;
  }
  return pending;
};

export type SdkFailureKind = 'rate-limit' | 'auth-expired' | 'desktop-session-expired' | 'invalid-token' | 'desktop-unavailable' | 'other';

export interface SdkFailure {
  kind: SdkFailureKind;
  /** one line, no stack, bounded */
  message: string;
}

// the names the SDK core uses in its JSON error strings, and the classes it turns them into
const BY_NAME: Record<string, SdkFailureKind> = {
  RateLimitExceeded: 'rate-limit',
  RateLimitExceededError: 'rate-limit',
  AuthExpired: 'auth-expired',
  AuthExpiredError: 'auth-expired',
  DesktopSessionExpired: 'desktop-session-expired',
  DesktopSessionExpiredError: 'desktop-session-expired',
};

/**
 * Whatever the SDK threw (an Error, one of its error classes, a plain string, or JSON in a
 * string) as a kind and a one-line message. Only the message is kept, never a stack.
 */
export function sdkFailure(err: unknown): SdkFailure {
  let name: string | undefined;
  let message: string;
  if (err instanceof Error) {
    name = err.constructor.name;
    message = err.message;
  } else if (typeof err === 'string') {
    message = err;
  } else if (isRecord(err) && typeof err.message === 'string') {
    name = typeof err.name === 'string' ? err.name : undefined;
    message = err.message;
  } else {
    message = String(err);
  }
  const json = parseJsonError(message);
  if (json) {
    name = json.name ?? name;
    message = json.message;
  }
  const line = excerpt(message, {max: 400, note: true}) || 'no message';
  // hasOwn: a name like "constructor" in someone's JSON must not find Object.prototype members
  const byName = name !== undefined && Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined;
  return {kind: byName ?? kindFromMessage(line), message: line};
}

function kindFromMessage(message: string): SdkFailureKind {
  if (/invalid service account token|service account token had invalid format/i.test(message)) return 'invalid-token';
  if (/native library is not available|desktop application not found/i.test(message)) return 'desktop-unavailable';
  if (/rate limit/i.test(message)) return 'rate-limit';
  return 'other';
}

function parseJsonError(text: string): {name?: string; message: string} | null {
  if (!text.trimStart().startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(text);
    if (isRecord(v) && typeof v.message === 'string') return {name: typeof v.name === 'string' ? v.name : undefined, message: v.message};
  } catch {
    // not JSON after all: the text is the message
  }
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** A failure of the whole 1Password call (client creation or resolveAll) as a sentence with the next step. */
export function describeSdkFailure(phase: 'sign-in' | 'resolve', f: SdkFailure): string {
  const what = `1Password ${phase === 'sign-in' ? 'sign-in' : 'lookup'} failed: ${f.message}`;
  switch (f.kind) {
    case 'rate-limit':
      return `${what} (rate limit exceeded; wait and retry, or spread applies out: service accounts have hourly and daily request limits)`;
    case 'auth-expired':
      return `${what} (the credentials have expired or were revoked; create a new service account token)`;
    case 'desktop-session-expired':
      return `${what} (the desktop app session expired; unlock 1Password and retry)`;
    case 'invalid-token':
      return `${what} (check OP_SERVICE_ACCOUNT_TOKEN, or what secrets.onepassword.token points to: it must be a whole service account token, starting with ops_)`;
    case 'desktop-unavailable':
      return `${what} (install and unlock the 1Password desktop app and turn on Settings > Developer > Integrate with other apps, or use a service account token instead)`;
    case 'other':
      return what;
  }
}

/** One reference's error from resolveAll as the reason it could not be resolved. */
export function describeResolveError(err: OpResolveError): string {
  const detail = err.message ? excerpt(err.message, {max: 400, note: true}) : '';
  switch (err.type) {
    case 'vaultNotFound':
      return 'no vault matches it (check the vault name or ID, and that these 1Password credentials can access that vault)';
    case 'itemNotFound':
      return 'no item in that vault matches it (check the item name or ID)';
    case 'fieldNotFound':
      return 'the item has no such field (check the field label or ID, and the section if the field is in one)';
    case 'tooManyVaults':
      return 'it is ambiguous: more than one vault has that name; use the vault ID instead';
    case 'tooManyItems':
      return 'it is ambiguous: more than one item in the vault has that name; use the item ID instead';
    case 'tooManyMatchingFields':
      return 'it is ambiguous: more than one field of the item matches; name the section or use the field ID';
    case 'noMatchingSections':
      return 'the item has no section by that name';
    case 'parsing':
      return `1Password could not parse it${detail ? `: ${detail}` : ''}`;
    default:
      return `1Password reported "${preview(err.type, 60)}"${detail ? `: ${detail}` : ''}`;
  }
}
