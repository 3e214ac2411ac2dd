// A real lookup through the 1Password SDK and the network. It needs a service account token and
// a reference that token can read, so it runs only when both are given:
//   OP_SERVICE_ACCOUNT_TOKEN=ops_... ORX_TEST_OP_REF=op://vault/item/field npx vitest run test/integration/secrets-onepassword.test.ts
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {resolveSecrets} from '../../src/secrets/resolve.js';

const token = process.env.OP_SERVICE_ACCOUNT_TOKEN;
const ref = process.env.ORX_TEST_OP_REF;
const ready = Boolean(token && ref);
const SKIPPED = ' (skipped: set OP_SERVICE_ACCOUNT_TOKEN and ORX_TEST_OP_REF)';

describe('1Password (real service)', () => {
  const ws = mkdtempSync(path.join(tmpdir(), 'orx-op-int-'));
  afterAll(() => rmSync(ws, {recursive: true, force: true}));

  it.skipIf(!ready)(`resolves a real 1Password reference${ready ? '' : SKIPPED}`, async () => {
    const missing = `op://orx-no-such-vault-${process.pid}/item/field`;
    const results = await resolveSecrets(
      [
        {address: 'agent.integration', key: 'REAL', ref: ref!},
        {address: 'agent.integration', key: 'MISSING', ref: missing},
      ],
      {dir: ws, env: {OP_SERVICE_ACCOUNT_TOKEN: token}, version: '0.0.0-test', timeoutMs: 60_000},
    );
    const [real, gone] = results;
    expect(real.error).toBeUndefined();
    expect(real).toMatchObject({ok: true, provider: 'op'});
    expect(real.value!.length).toBeGreaterThanOrEqual(4);
    expect(gone.ok).toBe(false);
    expect(gone.error).toMatch(/^agent\.integration secret MISSING: op:\/\/orx-no-such-vault-\d+\/item\/field cannot be resolved: /);
    // neither the token nor the real value may leak into the other reference's error
    expect(gone.error).not.toContain(token!);
    expect(gone.error).not.toContain(real.value!);
  });
});
