import {createHash} from 'node:crypto';
import path from 'node:path';
import {canonicalJson} from '../util/canonical-json.js';
import type {LoadedConfig} from '../config/types.js';
import type {VariableInputs} from '../config/variables.js';
import type {Ledger} from '../ledger/ledger.js';
import {contextDigests} from './desired.js';
import type {CurrentState} from './planfile.js';
import {policyFiles} from '../policy/files.js';
import {BUILTIN_POLICY_FILE, builtinPolicyText} from '../config/builtin-policy.js';
import {OrxError} from '../errors.js';
import {FileReadError, streamRegularFile} from '../util/bounded-file.js';

/**
 * orchestration.yml plus every build context it points at and the variables' values: what a
 * saved plan was made from. A file without variables digests as it always did.
 */
export function configDigest(fileDigest: string, contextDigests: Record<string, string>, variables?: Record<string, unknown>): string {
  const vars = variables && Object.keys(variables).length > 0 ? {variables} : {};
  return createHash('sha256')
    .update(canonicalJson({file: fileDigest, contexts: contextDigests, ...vars}))
    .digest('hex');
}

/** Exactly the files the policy loader reads, the built-in baseline first, so the digest covers what was evaluated. */
export function policyDigest(dir: string): string {
  const h = createHash('sha256');
  h.update(`${BUILTIN_POLICY_FILE}\0`).update(builtinPolicyText()).update('\0');
  for (const file of policyFiles(dir)) {
    h.update(`${path.basename(file)}\0`);
    // the same bytes as before, but a FIFO swapped in after the listing is refused, not waited on
    try {
      streamRegularFile(file, (chunk) => h.update(chunk), {label: `policies/${path.basename(file)}`});
    } catch (err) {
      if (err instanceof FileReadError)
        throw new OrxError({code: 'policy_unreadable', message: err.message, actions: ['Replace it with a plain file.']});
      throw err;
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/** What a saved plan must still match to be approved or applied: the ledger it was made against and the files it was made from. */
export function currentState(dir: string, loaded: LoadedConfig, ledger: Ledger): CurrentState {
  const meta = ledger.meta();
  return {
    workspace: loaded.config.workspace,
    lineage: meta.lineage,
    serial: meta.serial,
    config_digest: configDigest(loaded.file_digest, contextDigests(loaded), loaded.variables?.values),
    policy_digest: policyDigest(dir),
    variables: loaded.variables?.values ?? {},
  };
}

/**
 * The values a saved plan is applied with: its own, unless ORX_VAR_ now says otherwise (which
 * makes the plan stale rather than silently applying values nobody asked for).
 */
export function planVariableInputs(doc: {variables?: Record<string, unknown>}, vars: VariableInputs | undefined): VariableInputs {
  return {env: vars?.env ?? {}, args: [], planned: doc.variables ?? {}, flags: false};
}
