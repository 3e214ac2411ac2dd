// The syntax of a secret reference (op://, env://, file://): parsed without resolving anything.
import {preview} from '../errors.js';
import {fileRefTextError} from './secret-location.js';

const PREFIX = /^(op|env|file):\/\/([\s\S]*)$/;
const SECRET_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
// any other scheme-looking prefix (vault://, OP://): used only to give a better hint
const OTHER_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):\/\//;

export type SecretProvider = 'op' | 'env' | 'file';

export interface SecretRef {
  /** the reference exactly as written */
  ref: string;
  provider: SecretProvider;
  /** env: variable name; file: path as written; op: the whole op:// uri */
  target: string;
}

/** The file orx writes the agent's own token to; a secret must not shadow it. */
export const RESERVED_SECRET_KEY = 'orx-token';

/** null when `value` is not a reference at all (a literal): the caller reports that as a config error without echoing it */
export function parseSecretRef(value: string): SecretRef | null {
  const m = PREFIX.exec(value);
  if (!m) return null;
  const provider = m[1] as SecretProvider;
  return {ref: value, provider, target: provider === 'op' ? value : m[2]};
}

/**
 * For a value parseSecretRef refused: a hint when it looks like a reference with an unknown or
 * mis-cased scheme (only the scheme is quoted, never the rest: it may be the secret), else null.
 */
export function unknownSchemeHint(value: string): string | null {
  const m = OTHER_SCHEME.exec(value);
  if (!m) return null;
  return `"${m[1]}://" is not a secret provider orx knows; use op://VAULT/ITEM/FIELD, env://NAME or file://PATH (lower case)`;
}

/** For a file:// reference: where it points, judged from its text alone (file-location.ts), as a whole message naming the reference; null otherwise. */
export function fileLocationError(ref: SecretRef): string | null {
  if (ref.provider !== 'file') return null;
  const why = fileRefTextError(ref.target);
  return why ? `${preview(ref.ref)} ${why}` : null;
}

/** Valid file names inside /run/secrets: [A-Za-z_][A-Za-z0-9_.-]{0,127}, and not "orx-token" (reserved) */
export function secretKeyError(key: string): string | null {
  if (key === RESERVED_SECRET_KEY) return `secret name "${RESERVED_SECRET_KEY}" is reserved for the agent's own token; choose another name`;
  if (SECRET_KEY.test(key)) return null;
  return `secret name "${preview(key)}" is not a valid file name in /run/secrets: use 1-128 letters, digits, _, . and -, starting with a letter or _`;
}
