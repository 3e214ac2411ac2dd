import {createHmac, generateKeyPairSync, sign} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {fileURLToPath} from 'node:url';
import {SignJWT, decodeJwt, decodeProtectedHeader, importPKCS8} from 'jose';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {
  DEFAULT_TOKEN_SETTINGS,
  IAT_SKEW_SECONDS,
  MAX_TOKEN_CHARS,
  TOKEN_TYPE,
  agentAddress,
  issueAgentToken,
  readBounded,
  readTokenArgument,
  tokenSettings,
  tokenVerificationKeys,
  verifyAgentToken,
  type TokenCheck,
  type VerifyTokenOptions,
} from '../../src/trust/agent-token.js';
import {renderTokenCheck} from '../../src/ui/token-view.js';
import {initWorkspaceKey, keyPaths, trustedKey, trustedKeyOf, workspaceKeyFromPem, type WorkspaceKey} from '../../src/trust/keys.js';

function newKey(): WorkspaceKey {
  const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
  return workspaceKeyFromPem(privateKey.export({type: 'pkcs8', format: 'pem'}).toString(), 'test key');
}

const key = newKey();
const other = newKey();
const WS = 'research-lab';
const ADDR = 'agent.researcher';
const T0 = new Date('2030-01-02T03:04:05.678Z');
const T0_SEC = Math.floor(T0.getTime() / 1000);

const notRevoked = (): null => null;
const opts = (o: Partial<VerifyTokenOptions> = {}): VerifyTokenOptions => ({
  keys: [trustedKeyOf(key)],
  workspace: WS,
  isRevoked: notRevoked,
  now: T0,
  ...o,
});
const issue = (
  o: {settings?: Partial<typeof DEFAULT_TOKEN_SETTINGS>; now?: Date; workspace?: string; address?: string; key?: WorkspaceKey} = {},
) =>
  issueAgentToken(o.key ?? key, {
    workspace: o.workspace ?? WS,
    address: o.address ?? ADDR,
    settings: {...DEFAULT_TOKEN_SETTINGS, ...o.settings},
    now: o.now ?? T0,
  });

const b64u = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** Signs arbitrary claims and headers with a workspace key, as an attacker holding it (or a bug) could. */
async function forge(payload: Record<string, unknown>, header: Record<string, unknown> = {}, k: WorkspaceKey = key): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({alg: 'ES256', typ: TOKEN_TYPE, ...header})
    .sign(await importPKCS8(k.privateKeyPem, 'ES256'));
}
/** Signs without jose's checks (e.g. a crit header jose refuses to produce). */
function rawSign(header: Record<string, unknown>, payload: Record<string, unknown>, k: WorkspaceKey = key): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  return `${input}.${sign('sha256', Buffer.from(input), {key: k.privateKeyPem, dsaEncoding: 'ieee-p1363'}).toString('base64url')}`;
}
const fullClaims = (o: Record<string, unknown> = {}) => ({
  iss: WS,
  sub: ADDR,
  aud: 'orchestrix',
  iat: T0_SEC,
  exp: T0_SEC + 3600,
  jti: 'j-1',
  ...o,
});

function expectFail(check: TokenCheck, code: TokenCheck['code'], reason?: RegExp): void {
  expect(check.ok).toBe(false);
  expect(check.code).toBe(code);
  if (reason) expect(check.reason).toMatch(reason);
}

describe('issueAgentToken', () => {
  it('signs ES256 with the workspace key: header alg, typ and kid, every claim, and the record for the ledger', async () => {
    const t = await issue({settings: {scopes: ['ledger:read', 'events:write']}});
    expect(t.token.split('.')).toHaveLength(3);
    expect(decodeProtectedHeader(t.token)).toEqual({alg: 'ES256', typ: TOKEN_TYPE, kid: key.fingerprint});
    const claims = decodeJwt(t.token);
    expect(claims).toEqual({
      iss: WS,
      sub: ADDR,
      aud: 'orchestrix',
      iat: T0_SEC,
      exp: T0_SEC + 3600,
      jti: t.jti,
      scope: 'ledger:read events:write',
    });
    expect(t.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect({iat: t.iat, exp: t.exp}).toEqual({iat: T0_SEC, exp: T0_SEC + 3600});
    expect(t.record).toEqual({
      jti: t.jti,
      address: ADDR,
      workspace: WS,
      audience: 'orchestrix',
      scopes: ['ledger:read', 'events:write'],
      iat: T0_SEC,
      exp: T0_SEC + 3600,
    });
    expect(JSON.stringify(t.record)).not.toContain(t.token);
  });

  it('defaults: 1 h, no scopes (no scope claim), audience orchestrix; the clock defaults to now', async () => {
    expect(DEFAULT_TOKEN_SETTINGS).toEqual({ttl_ms: 3_600_000, scopes: [], audience: 'orchestrix'});
    const before = Math.floor(Date.now() / 1000);
    const t = await issueAgentToken(key, {workspace: WS, address: ADDR, settings: DEFAULT_TOKEN_SETTINGS});
    const after = Math.floor(Date.now() / 1000);
    const claims = decodeJwt(t.token);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(after);
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims).not.toHaveProperty('scope');
    expect(claims.aud).toBe('orchestrix');
  });

  it('takes the TTL and audience from the settings; a TTL is rounded up to whole seconds, at least one', async () => {
    const day = await issue({settings: {ttl_ms: 86_400_000, audience: 'tools-gateway'}});
    expect(decodeJwt(day.token)).toMatchObject({aud: 'tools-gateway', exp: T0_SEC + 86_400});
    expect((await issue({settings: {ttl_ms: 1500}})).exp).toBe(T0_SEC + 2);
    expect((await issue({settings: {ttl_ms: 1}})).exp).toBe(T0_SEC + 1);
  });

  it('gives every token its own jti', async () => {
    const jtis = new Set(await Promise.all(Array.from({length: 20}, async () => (await issue()).jti)));
    expect(jtis.size).toBe(20);
  });

  it('deduplicates scopes and refuses bad settings with a user error', async () => {
    expect((await issue({settings: {scopes: ['a', 'b', 'a']}})).record.scopes).toEqual(['a', 'b']);
    for (const settings of [
      {ttl_ms: 0},
      {ttl_ms: -5},
      {ttl_ms: Number.NaN},
      {ttl_ms: 400 * 86_400_000},
      {audience: ''},
      {audience: 'two words'},
      {scopes: ['has space']},
      {scopes: ['quo"te']},
      {scopes: ['']},
      {scopes: 'a' as unknown as string[]},
    ]) {
      await expect(issue({settings})).rejects.toMatchObject({code: 'token_settings_invalid', kind: 'user'});
    }
  });

  it('tokenSettings fills defaults, ignores undefined and validates', () => {
    expect(tokenSettings()).toEqual(DEFAULT_TOKEN_SETTINGS);
    expect(tokenSettings({ttl_ms: 60_000, scopes: undefined})).toEqual({ttl_ms: 60_000, scopes: [], audience: 'orchestrix'});
    expect(() => tokenSettings({ttl_ms: 0})).toThrow(/ttl/);
  });

  it('refuses a missing workspace or address', async () => {
    await expect(issue({workspace: ''})).rejects.toBeInstanceOf(OrxError);
    await expect(issue({address: 'has space'})).rejects.toBeInstanceOf(OrxError);
  });
});

describe('verifyAgentToken', () => {
  it('accepts a token it issued and returns every claim, the jti, the scopes and the key', async () => {
    const t = await issue({settings: {scopes: ['ledger:read']}});
    const check = await verifyAgentToken(t.token, opts());
    expect(check).toEqual({
      ok: true,
      reason: null,
      code: null,
      claims: {iss: WS, sub: ADDR, aud: 'orchestrix', iat: T0_SEC, exp: T0_SEC + 3600, jti: t.jti, scope: 'ledger:read'},
      jti: t.jti,
      scopes: ['ledger:read'],
      key_fingerprint: key.fingerprint,
      revocation: null,
    });
  });

  it('tolerates surrounding whitespace (a file with a trailing newline)', async () => {
    const t = await issue();
    expect((await verifyAgentToken(`  ${t.token}\n`, opts())).ok).toBe(true);
  });

  it('refuses an expired token, still showing its verified claims; valid until the second before exp', async () => {
    const t = await issue({now: new Date(T0.getTime() - 2 * 3_600_000)});
    const check = await verifyAgentToken(t.token, opts());
    expectFail(check, 'expired', new RegExp(`expired at ${new Date((T0_SEC - 3600) * 1000).toISOString()}`));
    expect(check.claims).toMatchObject({sub: ADDR, jti: t.jti});
    expect(check.jti).toBe(t.jti);
    expect(check.key_fingerprint).toBe(key.fingerprint);

    const fresh = await issue();
    expect((await verifyAgentToken(fresh.token, opts({now: new Date((fresh.exp - 1) * 1000)}))).ok).toBe(true);
    expectFail(await verifyAgentToken(fresh.token, opts({now: new Date(fresh.exp * 1000)})), 'expired');
  });

  it('an expired token that was also revoked reports the revocation alongside', async () => {
    const t = await issue({now: new Date(T0.getTime() - 2 * 3_600_000)});
    const check = await verifyAgentToken(t.token, opts({isRevoked: () => ({revoked_at: '2030-01-01T00:00:00.000Z', reason: 'x'})}));
    expectFail(check, 'expired');
    expect(check.revocation).toEqual({revoked_at: '2030-01-01T00:00:00.000Z', reason: 'x'});
  });

  it('refuses a tampered signature and tampered claims', async () => {
    const t = await issue();
    const [h, p, s] = t.token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] ^= 0x01;
    const badSig = await verifyAgentToken(`${h}.${p}.${sig.toString('base64url')}`, opts());
    expectFail(badSig, 'signature', /does not verify with the trusted key sha256:/);
    expect(badSig.claims).toBeNull();
    expect(badSig.jti).toBeNull();

    const claims = {...decodeJwt(t.token), sub: 'agent.admin', exp: T0_SEC + 10 * 365 * 86_400};
    expectFail(await verifyAgentToken(`${h}.${b64u(JSON.stringify(claims))}.${s}`, opts()), 'signature');
    // a header edit (dropping kid) invalidates it too
    const header = b64u(JSON.stringify({alg: 'ES256', typ: TOKEN_TYPE}));
    expectFail(await verifyAgentToken(`${header}.${p}.${s}`, opts()), 'signature');
  });

  it('refuses a token signed by another key; accepts it when that key is trusted too, whatever the order', async () => {
    const t = await issue({key: other});
    expectFail(await verifyAgentToken(t.token, opts()), 'signature', new RegExp(key.fingerprint));
    for (const keys of [
      [trustedKeyOf(key), trustedKeyOf(other)],
      [trustedKeyOf(other), trustedKeyOf(key)],
    ]) {
      const check = await verifyAgentToken(t.token, opts({keys}));
      expect(check.ok).toBe(true);
      expect(check.key_fingerprint).toBe(other.fingerprint);
    }
    const three = await verifyAgentToken((await issue({key: newKey()})).token, opts({keys: [trustedKeyOf(key), trustedKeyOf(other)]}));
    expectFail(three, 'signature', /any of the 2 trusted keys/);
  });

  it('ignores trusted keys that cannot verify ES256, and throws when none can', async () => {
    const rsa = generateKeyPairSync('rsa', {modulusLength: 2048}).publicKey.export({type: 'spki', format: 'pem'}).toString();
    const p384 = generateKeyPairSync('ec', {namedCurve: 'secp384r1'}).publicKey.export({type: 'spki', format: 'pem'}).toString();
    const t = await issue();
    expect((await verifyAgentToken(t.token, opts({keys: [trustedKey(rsa), trustedKey(p384), trustedKeyOf(key)]}))).ok).toBe(true);
    await expect(verifyAgentToken(t.token, opts({keys: [trustedKey(rsa)]}))).rejects.toMatchObject({code: 'no_trusted_key'});
    await expect(verifyAgentToken(t.token, opts({keys: []}))).rejects.toMatchObject({code: 'no_trusted_key'});
  });

  it('refuses a token issued by another workspace', async () => {
    const t = await issue({workspace: 'elsewhere'});
    const check = await verifyAgentToken(t.token, opts());
    expectFail(check, 'issuer', /issued by elsewhere, not by this workspace \(research-lab\)/);
    expect(check.claims).toMatchObject({iss: 'elsewhere'});
  });

  it('refuses a revoked token with when and why', async () => {
    const t = await issue();
    const asked: string[] = [];
    const check = await verifyAgentToken(
      t.token,
      opts({isRevoked: (jti) => (asked.push(jti), {revoked_at: '2030-01-02T03:00:00.000Z', reason: 'agent deleted'})}),
    );
    expectFail(check, 'revoked', /revoked at 2030-01-02T03:00:00.000Z: agent deleted/);
    expect(asked).toEqual([t.jti]);
    expect(check.revocation).toEqual({revoked_at: '2030-01-02T03:00:00.000Z', reason: 'agent deleted'});
    expect(check.claims).toMatchObject({jti: t.jti});
    expectFail(await verifyAgentToken(t.token, opts({isRevoked: () => ({revoked_at: 'x', reason: null})})), 'revoked', /^revoked at x$/);
  });

  it('with a ledger lookup: refuses an unknown jti, and one whose claims differ from the record', async () => {
    const t = await issue();
    expectFail(await verifyAgentToken(t.token, opts({lookup: () => null})), 'unknown', /not recorded in this workspace's ledger/);
    const rec = {address: ADDR, workspace: WS, exp: t.exp};
    expect((await verifyAgentToken(t.token, opts({lookup: (j) => (j === t.jti ? rec : null)}))).ok).toBe(true);
    expectFail(await verifyAgentToken(t.token, opts({lookup: () => ({...rec, address: 'agent.other'})})), 'mismatch', /its sub differs/);
    expectFail(
      await verifyAgentToken(t.token, opts({lookup: () => ({...rec, exp: t.exp + 1, workspace: 'x'})})),
      'mismatch',
      /its iss, exp differ/,
    );
    // revocation is reported before the lookup
    expectFail(await verifyAgentToken(t.token, opts({lookup: () => null, isRevoked: () => ({revoked_at: 'x', reason: null})})), 'revoked');
  });

  it('checks the audience only when asked', async () => {
    const t = await issue({settings: {audience: 'tools-gateway'}});
    expect((await verifyAgentToken(t.token, opts())).ok).toBe(true);
    expect((await verifyAgentToken(t.token, opts({audience: 'tools-gateway'}))).ok).toBe(true);
    expect((await verifyAgentToken(t.token, opts({audience: ['x', 'tools-gateway']}))).ok).toBe(true);
    expectFail(await verifyAgentToken(t.token, opts({audience: 'orchestrix'})), 'audience', /tools-gateway.* is not orchestrix/);
  });

  it('splits the scope claim; refuses a scope claim that is not a string', async () => {
    const t = await issue({settings: {scopes: ['a:read', 'b:write', 'c']}});
    expect((await verifyAgentToken(t.token, opts())).scopes).toEqual(['a:read', 'b:write', 'c']);
    expect((await verifyAgentToken((await issue()).token, opts())).scopes).toEqual([]);
    expectFail(await verifyAgentToken(await forge(fullClaims({scope: ['a']})), opts()), 'claims', /scope/);
  });

  it('refuses what is not a JWT, without echoing it', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', 'a b.c.d', `${'a'.repeat(MAX_TOKEN_CHARS)}.b.c`, 'e30.e30.!!']) {
      const check = await verifyAgentToken(bad, opts());
      expectFail(check, 'malformed');
      if (bad.length > 3) expect(check.reason).not.toContain(bad);
    }
    expectFail(await verifyAgentToken('bm90IGpzb24.e30.AAAA', opts()), 'malformed', /header/);
    expectFail(await verifyAgentToken(null as unknown as string, opts()), 'malformed');
  });

  it('refuses alg none and an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const none = `${b64u(JSON.stringify({alg: 'none', typ: TOKEN_TYPE}))}.${b64u(JSON.stringify(fullClaims()))}.AAAA`;
    expectFail(await verifyAgentToken(none, opts()), 'algorithm', /none/);
    const hs = `${b64u(JSON.stringify({alg: 'HS256', typ: TOKEN_TYPE}))}.${b64u(JSON.stringify(fullClaims()))}`;
    const mac = createHmac('sha256', key.publicKeyPem).update(hs).digest('base64url');
    expectFail(await verifyAgentToken(`${hs}.${mac}`, opts()), 'algorithm', /HS256/);
    expectFail(
      await verifyAgentToken(
        await forge(fullClaims(), {alg: 'ES256'}).then((t) => t.replace(/^[^.]+/, b64u(JSON.stringify({alg: 'ES384', typ: TOKEN_TYPE})))),
        opts(),
      ),
      'algorithm',
    );
  });

  it('refuses a JWT of another type signed by the same key, and critical headers', async () => {
    expectFail(await verifyAgentToken(await forge(fullClaims(), {typ: 'JWT'}), opts()), 'type', /typ header is JWT/);
    const noTyp = await new SignJWT(fullClaims()).setProtectedHeader({alg: 'ES256'}).sign(await importPKCS8(key.privateKeyPem, 'ES256'));
    expectFail(await verifyAgentToken(noTyp, opts()), 'type');
    const raw = rawSign({alg: 'ES256', typ: TOKEN_TYPE}, fullClaims());
    expect((await verifyAgentToken(raw, opts())).ok).toBe(true);
    expectFail(
      await verifyAgentToken(rawSign({alg: 'ES256', typ: TOKEN_TYPE, crit: ['x'], x: 1}, fullClaims()), opts()),
      'malformed',
      /critical/,
    );
  });

  it('requires every claim: iss, sub, aud, iat, exp, jti', async () => {
    for (const claim of ['iss', 'sub', 'aud', 'iat', 'exp', 'jti']) {
      const c = fullClaims();
      delete (c as Record<string, unknown>)[claim];
      const check = await verifyAgentToken(await forge(c), opts());
      expect(check.ok, claim).toBe(false);
      expect(check.code, claim).toBe('claims');
      expect(check.reason, claim).toBe(`the required ${claim} claim is missing`);
    }
    expectFail(await verifyAgentToken(await forge(fullClaims({jti: ''})), opts()), 'claims', /jti/);
    expectFail(await verifyAgentToken(await forge(fullClaims({sub: 7})), opts()), 'claims', /sub claim must be a non-empty string/);
    expectFail(await verifyAgentToken(await forge(fullClaims({exp: 'later'})), opts()), 'malformed');
    expectFail(
      await verifyAgentToken(rawSign({alg: 'ES256', typ: TOKEN_TYPE}, ['not', 'claims'] as unknown as Record<string, unknown>), opts()),
      'malformed',
      /not a JSON object/,
    );
  });

  it('refuses a token issued in the future (beyond the clock skew) or not valid yet', async () => {
    const later = await issue({now: new Date(T0.getTime() + (IAT_SKEW_SECONDS + 5) * 1000)});
    expectFail(await verifyAgentToken(later.token, opts()), 'not_yet_valid', /issued in the future/);
    const skewed = await issue({now: new Date(T0.getTime() + (IAT_SKEW_SECONDS - 5) * 1000)});
    expect((await verifyAgentToken(skewed.token, opts())).ok).toBe(true);
    expectFail(await verifyAgentToken(await forge(fullClaims({nbf: T0_SEC + 600})), opts()), 'not_yet_valid', /not valid before/);
  });

  it('never puts the token into a reason or the rendering', async () => {
    const t = await issue({settings: {scopes: ['s1']}});
    const checks = [
      await verifyAgentToken(t.token, opts()),
      await verifyAgentToken(t.token, opts({workspace: 'other'})),
      await verifyAgentToken(t.token, opts({isRevoked: () => ({revoked_at: 'r', reason: 'why'})})),
      await verifyAgentToken(t.token.slice(0, -3) + 'AAA', opts()),
      await verifyAgentToken(t.token, opts({now: new Date((t.exp + 5) * 1000)})),
    ];
    for (const c of checks) {
      expect(JSON.stringify(c)).not.toContain(t.token);
      expect(renderTokenCheck(c, T0)).not.toContain(t.token);
      expect(JSON.stringify(c)).not.toContain(t.token.split('.')[2]);
    }
  });
});

describe('renderTokenCheck', () => {
  it('shows the verdict, then the claims with relative times', async () => {
    const t = await issue({settings: {scopes: ['a', 'b']}});
    const ok = renderTokenCheck(await verifyAgentToken(t.token, opts()), T0);
    expect(ok.split('\n')[0]).toBe(`Valid agent token for ${ADDR}`);
    expect(ok).toContain(`jti:      ${t.jti}`);
    expect(ok).toContain(`issuer:   ${WS}`);
    expect(ok).toContain('audience: orchestrix');
    expect(ok).toContain('scopes:   a b');
    expect(ok).toContain(`expires:  ${new Date(t.exp * 1000).toISOString()} (in 1h0m)`);
    expect(ok).toContain(`key:      ${key.fingerprint}`);
    const revoked = renderTokenCheck(await verifyAgentToken(t.token, opts({isRevoked: () => ({revoked_at: 'R', reason: 'gone'})})), T0);
    expect(revoked.split('\n')[0]).toBe('INVALID token: revoked at R: gone');
    expect(revoked).toContain('revoked:  R (gone)');
    expect(renderTokenCheck(await verifyAgentToken('x', opts()), T0)).toBe(
      'INVALID token: not a JWT: expected three base64url parts separated by dots',
    );
  });
});

describe('agentAddress', () => {
  it('accepts NAME or agent.NAME', () => {
    expect(agentAddress('researcher')).toBe('agent.researcher');
    expect(agentAddress('agent.researcher')).toBe('agent.researcher');
    for (const bad of ['', 'agent.', 'a b', '../x', 'x\n']) expect(() => agentAddress(bad)).toThrow(OrxError);
  });
});

describe('reading the TOKEN argument and the keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-token-'));
  });
  afterEach(() => {
    fs.rmSync(dir, {recursive: true, force: true});
  });
  const noStdin = async (): Promise<string> => {
    throw new Error('stdin read');
  };

  it('takes a JWT as itself, - from stdin, anything else as a file', async () => {
    const t = await issue();
    expect(await readTokenArgument(t.token, dir, noStdin)).toBe(t.token);
    expect(await readTokenArgument('-', dir, async () => `${t.token}\n`)).toBe(t.token);
    fs.writeFileSync(path.join(dir, 'orx-token'), `${t.token}\n`);
    expect(await readTokenArgument('orx-token', dir, noStdin)).toBe(t.token);
    expect(await readTokenArgument(path.join(dir, 'orx-token'), '/', noStdin)).toBe(t.token);
  });

  it('errors clearly, never repeating an argument that is not a file', async () => {
    const typo = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0';
    const err = (await readTokenArgument(typo, dir, noStdin).catch((e: unknown) => e)) as OrxError;
    expect(err).toBeInstanceOf(OrxError);
    expect(err.message).toMatch(/neither a JWT nor the path of a file/);
    expect(err.message).not.toContain(typo);
    await expect(readTokenArgument('-', dir, async () => '  \n')).rejects.toThrow(/no token on stdin/);
    fs.writeFileSync(path.join(dir, 'empty'), '');
    await expect(readTokenArgument('empty', dir, noStdin)).rejects.toThrow(/empty is empty/);
    await expect(readTokenArgument('.', dir, noStdin)).rejects.toThrow(/not a regular file/);
    fs.writeFileSync(path.join(dir, 'big'), 'x'.repeat(MAX_TOKEN_CHARS + 1));
    await expect(readTokenArgument('big', dir, noStdin)).rejects.toThrow(/too large/);
    await expect(readTokenArgument('-', dir, async () => 'x'.repeat(MAX_TOKEN_CHARS + 1))).rejects.toThrow(/too many/);
  });

  it('readBounded reads a stream to its end, stopping past the limit', async () => {
    expect(await readBounded(Readable.from(['ab', 'c\n']))).toBe('abc\n');
    expect((await readBounded(Readable.from(['x'.repeat(10), 'y'.repeat(10), 'z'.repeat(10)]), 15)).length).toBe(20);
  });

  it('tokenVerificationKeys: the workspace key, or its signing.pub alone, plus --trusted-key files', () => {
    expect(() => tokenVerificationKeys(dir)).toThrow(/no signing key/);
    const pub = path.join(dir, 'other.pub');
    fs.writeFileSync(pub, other.publicKeyPem);
    expect(tokenVerificationKeys(dir, ['other.pub']).map((k) => k.fingerprint)).toEqual([other.fingerprint]);
    const ws = initWorkspaceKey(dir);
    expect(tokenVerificationKeys(dir, [pub]).map((k) => k.fingerprint)).toEqual([other.fingerprint, ws.fingerprint]);
    fs.rmSync(keyPaths(dir).privateKey);
    expect(tokenVerificationKeys(dir).map((k) => k.fingerprint)).toEqual([ws.fingerprint]);
    expect(() => tokenVerificationKeys(dir, ['missing.pub'])).toThrow(/no public key file/);
  });

  it('a private key others can read is refused, unless another trusted key is given', () => {
    if (process.platform === 'win32') return;
    initWorkspaceKey(dir);
    fs.chmodSync(keyPaths(dir).privateKey, 0o644);
    expect(() => tokenVerificationKeys(dir)).toThrow(/chmod 600|group or others/);
    fs.writeFileSync(path.join(dir, 'other.pub'), other.publicKeyPem);
    expect(tokenVerificationKeys(dir, ['other.pub'])).toHaveLength(1);
  });
});

describe('start-up cost', () => {
  it('loads jose only when a token is issued or verified (no value import at the top of the module)', () => {
    const src = fs.readFileSync(fileURLToPath(new URL('../../src/trust/agent-token.ts', import.meta.url)), 'utf8');
    const imports = src.match(/^import .* from 'jose';$/gm) ?? [];
    expect(imports.every((l) => l.startsWith('import type '))).toBe(true);
    expect(src).toContain("import('jose')");
  });
});
