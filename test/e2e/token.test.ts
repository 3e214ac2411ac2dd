import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {recordToken, tokenRecord} from '../../src/ledger/tokens.js';
import {DEFAULT_TOKEN_SETTINGS, issueAgentToken, type IssuedToken, type TokenSettings} from '../../src/trust/agent-token.js';
import {initWorkspaceKey, type WorkspaceKey} from '../../src/trust/keys.js';
import {noStack, orx, orxBin, type CliResult} from '../helpers/cli.js';

// The built CLI (npm run build) as a subprocess in a temp workspace. Tokens are issued and
// recorded through the library, as `orx apply` does when it starts an agent; verifying and
// revoking them goes through the CLI.
let dir: string;
let ws: string;
let key: WorkspaceKey;
beforeEach(() => {
  ws = `tok-${randomBytes(3).toString('hex')}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `orx-${ws}-`));
  fs.writeFileSync(path.join(dir, 'orchestration.yml'), `workspace: ${ws}\n`);
  key = initWorkspaceKey(dir);
});
afterEach(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

async function issue(
  o: {address?: string; settings?: Partial<TokenSettings>; now?: Date; workspace?: string; signer?: WorkspaceKey; record?: boolean} = {},
): Promise<IssuedToken> {
  const t = await issueAgentToken(o.signer ?? key, {
    workspace: o.workspace ?? ws,
    address: o.address ?? 'agent.alpha',
    settings: {...DEFAULT_TOKEN_SETTINGS, ...o.settings},
    now: o.now,
  });
  if (o.record !== false) {
    const l = Ledger.open(dir);
    try {
      recordToken(l, t.record);
    } finally {
      l.close();
    }
  }
  return t;
}

/** Runs the CLI with `input` on stdin (the helper in cli.ts gives the child no stdin). */
function orxStdin(args: string[], input: string): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORX_')) env[k] = v;
  const child = spawn(process.execPath, [orxBin, ...args], {cwd: dir, env: {...env, NO_COLOR: '1'}, stdio: ['pipe', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({code, stdout, stderr})));
}

const run = (args: string[]) => orx(args, {cwd: dir});
const json = (r: CliResult): Record<string, any> => JSON.parse(r.stdout);

function neverShows(r: CliResult, token: string): void {
  expect(r.stdout).not.toContain(token);
  expect(r.stderr).not.toContain(token);
  expect(r.stdout).not.toContain(token.split('.')[2]);
}

describe('orx token verify', () => {
  it('accepts a token given as itself, as a file or on stdin, and prints its claims', async () => {
    const t = await issue({settings: {scopes: ['ledger:read', 'events:write']}});
    const direct = await run(['token', 'verify', t.token]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toContain('Valid agent token for agent.alpha');
    expect(direct.stdout).toContain(`jti:      ${t.jti}`);
    expect(direct.stdout).toContain(`issuer:   ${ws}`);
    expect(direct.stdout).toContain('scopes:   ledger:read events:write');
    expect(direct.stdout).toContain(`key:      ${key.fingerprint}`);
    neverShows(direct, t.token);

    fs.writeFileSync(path.join(dir, 'orx-token'), `${t.token}\n`, {mode: 0o600});
    const file = await run(['token', 'verify', 'orx-token', '--json']);
    expect(file.code, file.stderr).toBe(0);
    expect(json(file)).toEqual({
      formatVersion: '1',
      valid: true,
      reason: null,
      code: null,
      jti: t.jti,
      claims: {iss: ws, sub: 'agent.alpha', aud: 'orchestrix', iat: t.iat, exp: t.exp, jti: t.jti, scope: 'ledger:read events:write'},
      scopes: ['ledger:read', 'events:write'],
      key_fingerprint: key.fingerprint,
      revocation: null,
    });
    neverShows(file, t.token);

    const stdin = await orxStdin(['token', 'verify', '-', '--json'], `${t.token}\n`);
    expect(stdin.code, stdin.stderr).toBe(0);
    expect(json(stdin)).toMatchObject({valid: true, jti: t.jti});

    expect((await run(['token', 'verify', t.token, '--audience', 'orchestrix'])).code).toBe(0);
    const aud = await run(['token', 'verify', t.token, '--audience', 'billing']);
    expect(aud.code).toBe(1);
    expect(aud.stdout).toMatch(/INVALID token: its audience .*orchestrix.* is not billing/);
  });

  it('exit 1 with the reason: expired, tampered, another workspace, unknown to the ledger, not a JWT', async () => {
    const expired = await issue({now: new Date(Date.now() - 2 * 3_600_000)});
    const e = await run(['token', 'verify', expired.token]);
    expect(e.code).toBe(1);
    expect(e.stdout).toMatch(/^INVALID token: expired at \d{4}-/);
    expect(e.stdout).toContain(`jti:      ${expired.jti}`);
    expect(json(await run(['token', 'verify', expired.token, '--json']))).toMatchObject({valid: false, code: 'expired', jti: expired.jti});

    const good = await issue();
    const [h, p, s] = good.token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'agent.admin'})).toString(
      'base64url',
    );
    const tampered = await run(['token', 'verify', `${h}.${forged}.${s}`, '--json']);
    expect(tampered.code).toBe(1);
    expect(json(tampered)).toMatchObject({valid: false, code: 'signature', claims: null});

    const elsewhere = await issue({workspace: 'someone-else'});
    const iss = await run(['token', 'verify', elsewhere.token]);
    expect(iss.code).toBe(1);
    expect(iss.stdout).toContain(`INVALID token: issued by someone-else, not by this workspace (${ws})`);

    const unrecorded = await issue({record: false});
    const unknown = await run(['token', 'verify', unrecorded.token, '--json']);
    expect(unknown.code).toBe(1);
    expect(json(unknown)).toMatchObject({valid: false, code: 'unknown'});

    const junk = await run(['token', 'verify', 'no-such-file']);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/TOKEN \(12 characters\) is neither a JWT nor the path of a file/);
    expect(noStack(junk.stderr)).toBe(true);
    for (const r of [e, tampered, iss, unknown]) neverShows(r, good.token);
  });

  it('a token signed with another key verifies only with --trusted-key', async () => {
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-tok-other-'));
    try {
      const old = initWorkspaceKey(otherDir);
      const t = await issue({signer: old});
      const r = await run(['token', 'verify', t.token]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/INVALID token: the signature does not verify with the trusted key sha256:/);
      const trusted = await run(['token', 'verify', t.token, '--trusted-key', path.join(otherDir, '.orx/keys/signing.pub'), '--json']);
      expect(trusted.code, trusted.stderr).toBe(0);
      expect(json(trusted)).toMatchObject({valid: true, key_fingerprint: old.fingerprint});
    } finally {
      fs.rmSync(otherDir, {recursive: true, force: true});
    }
  });

  it('without a signing key: a clear error naming --trusted-key, exit 1', async () => {
    const t = await issue();
    fs.rmSync(path.join(dir, '.orx/keys'), {recursive: true});
    const noKey = await run(['token', 'verify', t.token]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/no signing key/);
    expect(noKey.stderr).toContain('--trusted-key');
    neverShows(noKey, t.token);
  });
});

describe('orx token revoke', () => {
  it('by jti: revoked, then verify refuses it; again is a no-op that exits 0', async () => {
    const t = await issue();
    const r = await run(['token', 'revoke', t.jti, '--reason', 'leaked in a CI log']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Revoked token ${t.jti}.`);

    const v = await run(['token', 'verify', t.token]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^INVALID token: revoked at \S+: leaked in a CI log/);
    expect(json(await run(['token', 'verify', t.token, '--json']))).toMatchObject({
      valid: false,
      code: 'revoked',
      revocation: {reason: 'leaked in a CI log'},
    });

    const again = await run(['token', 'revoke', t.jti, '--json']);
    expect(again.code).toBe(0);
    expect(json(again)).toMatchObject({matched: 1, revoked: [], already_revoked: [t.jti]});
    const againText = await run(['token', 'revoke', t.jti]);
    expect(againText.stdout).toMatch(new RegExp(`Token ${t.jti} was already revoked at \\S+ by \\S+: leaked in a CI log`));
    expect(againText.stdout).toContain('Nothing new to revoke.');

    const l = Ledger.open(dir);
    try {
      expect(tokenRecord(l, t.jti)).toMatchObject({reason: 'leaked in a CI log'});
      expect(l.verifyChain().ok).toBe(true);
      for (const ev of l.listEvents()) expect(JSON.stringify(ev)).not.toContain(t.token);
    } finally {
      l.close();
    }
    expect((await run(['audit', 'verify'])).code).toBe(0);
  });

  it('--agent NAME or agent.NAME revokes every live token of that agent only', async () => {
    const a1 = await issue();
    const a2 = await issue();
    const b = await issue({address: 'agent.beta'});
    const r = await run(['token', 'revoke', '--agent', 'alpha', '--reason', 'agent deleted', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({
      selector: {address: 'agent.alpha'},
      matched: 2,
      revoked: [a1.jti, a2.jti],
      already_revoked: [],
      expired: [],
      reason: 'agent deleted',
    });
    expect((await run(['token', 'verify', a1.token])).code).toBe(1);
    expect((await run(['token', 'verify', a2.token])).code).toBe(1);
    expect((await run(['token', 'verify', b.token])).code).toBe(0);

    const again = await run(['token', 'revoke', '--agent', 'agent.alpha']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already revoked: 2 token(s)');
  });

  it('exit 1 when nothing matches, and for bad usage; a token given as the jti is never echoed', async () => {
    const t = await issue();
    const none = await run(['token', 'revoke', 'no-such-jti']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no token with jti no-such-jti is recorded/);
    expect(noStack(none.stderr)).toBe(true);

    const nobody = await run(['token', 'revoke', '--agent', 'nobody', '--json']);
    expect(nobody.code).toBe(1);
    expect(json(nobody).error).toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/no token was ever issued to agent.nobody/),
    });

    const both = await run(['token', 'revoke', t.jti, '--agent', 'alpha']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/exactly one/);
    expect((await run(['token', 'revoke'])).code).toBe(1);

    const pasted = await run(['token', 'revoke', t.token]);
    expect(pasted.code).toBe(1);
    expect(pasted.stderr).toMatch(/that is a token, not a jti/);
    neverShows(pasted, t.token);
    expect((await run(['token', 'verify', t.token])).code).toBe(0);
  });
});

describe('orx token --help', () => {
  it('lists the topic and both commands', async () => {
    const r = await run(['token', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/token verify/);
    expect(r.stdout).toMatch(/token revoke/);
    const top = await run(['--help']);
    expect(top.stdout).toMatch(/token\s+Agent identity tokens/);
  });
});
