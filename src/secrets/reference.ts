// Secret references: where a secret lives (op://, env://, file://), never the secret itself.
// Messages here may quote a reference (it names a location, not a value) but always through
// preview(), so a hostile or pasted-in string cannot flood the terminal.
import {preview} from '../errors.js';
import {fileRefTextError} from './file-location.js';
import {opReferenceSyntaxError} from './onepassword.js';

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

const PREFIX = /^(op|env|file):\/\/([\s\S]*)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
// any other scheme-looking prefix (vault://, OP://): used only to give a better hint
const OTHER_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):\/\//;

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

/** A syntax problem of a reference (env:// name not [A-Za-z_][A-Za-z0-9_]*, file:// empty path or a place it may not point, op:// per the SDK's offline validator), or null. Async because the op:// check loads the SDK. */
export async function secretRefSyntaxError(ref: SecretRef): Promise<string | null> {
  switch (ref.provider) {
    case 'env':
      if (ENV_NAME.test(ref.target)) return null;
      return `${preview(ref.ref)}: "${preview(ref.target)}" is not an environment variable name (letters, digits and _, not starting with a digit)`;
    case 'file':
      if (ref.target === '')
        return `${preview(ref.ref)}: the file path is empty; write file://PATH (relative to the workspace, or absolute)`;
      // a NUL byte cannot be in a path; fs would throw a confusing TypeError later
      if (ref.target.includes('\u0000')) return `${preview(ref.ref)}: the file path contains a NUL character`;
      return fileLocationError(ref);
    case 'op':
      // loads the SDK (its WASM core costs ~60 ms) only now that an op:// reference exists
      return opReferenceSyntaxError(ref.ref);
  }
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
