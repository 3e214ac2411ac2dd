// Secret references: where a secret lives (op://, env://, file://), never the secret itself.
// Messages here may quote a reference (it names a location, not a value) but always through
// preview(), so a hostile or pasted-in string cannot flood the terminal.
import {preview} from '../errors.js';
import {fileLocationError, type SecretRef} from '../config/secret-ref.js';
import {opReferenceSyntaxError} from './onepassword.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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
