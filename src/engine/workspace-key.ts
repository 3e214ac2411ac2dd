// The workspace key of a configuration: signing.key as a file, as a secret reference, or
// .orx/keys/signing.key (made on first use, as `orx plan -out` does).
import fs from 'node:fs';
import type {WorkspaceConfig} from '../config/types.js';
import {OrxError} from '../errors.js';
import {registerSecret} from '../util/redact.js';
import {resolveSecrets} from '../secrets/resolve.js';
import {initWorkspaceKey, keyPaths, loadWorkspaceKey, workspaceKeyFromPem, type WorkspaceKey} from '../trust/keys.js';

export async function workspaceKey(ctx: {dir: string; version: string}, config: WorkspaceConfig): Promise<WorkspaceKey> {
  if (config.signing_key) return loadWorkspaceKey(ctx.dir, {keyFile: config.signing_key});
  if (config.signing_key_ref) {
    const [r] = await resolveSecrets([{address: 'signing', key: 'key', ref: config.signing_key_ref}], {
      dir: ctx.dir,
      onepassword: config.secrets.onepassword,
      version: ctx.version,
    });
    if (!r?.ok || r.value === undefined) {
      throw new OrxError({
        code: 'key_unresolved',
        message: `signing.key: ${r?.error ?? `cannot resolve ${config.signing_key_ref}`}`,
        actions: ['Fix the reference (see `orx secrets check`), or point signing.key at a key file.'],
      });
    }
    registerSecret(r.value);
    return workspaceKeyFromPem(r.value, config.signing_key_ref);
  }
  if (fs.existsSync(keyPaths(ctx.dir).privateKey)) return loadWorkspaceKey(ctx.dir);
  return initWorkspaceKey(ctx.dir);
}
