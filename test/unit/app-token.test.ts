// `orx token verify|revoke` in-process (src/app/token.ts) with their renderings: tokens issued
// with the workspace key and recorded in a real ledger, as an apply issues them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {revokeToken, verifyToken} from '../../src/app/token.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {recordToken} from '../../src/ledger/tokens.js';
import {DEFAULT_TOKEN_SETTINGS, issueAgentToken, type IssuedToken} from '../../src/trust/agent-token.js';
import {initWorkspaceKey, type WorkspaceKey} from '../../src/trust/keys.js';
import {renderRevoke, renderTokenCheck} from '../../src/ui/token-view.js';
import {context} from '../helpers/engine.js';
import {caughtAsync} from '../helpers/errors.js';

let dir: string;
let key: WorkspaceKey;

async function issue(address: string, o: {now?: Date; scopes?: string[]} = {}): Promise<IssuedToken> {
  const t = await issueAgentToken(key, {
    workspace: 'lab',
    address,
    settings: {...DEFAULT_TOKEN_SETTINGS, scopes: o.scopes ?? DEFAULT_TOKEN_SETTINGS.scopes},
    now: o.now,
  });
  const l = Ledger.open(dir);
  try {
    recordToken(l, t.record, null);
  } finally {
    l.close();
  }
  return t;
}

const stdinOf = (s: string) => Readable.from([s]);
const noStdin = () => Readable.from([]);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-app-token-'));
  fs.writeFileSync(path.join(dir, 'orchestration.yml'), 'workspace: lab\n');
  key = initWorkspaceKey(dir);
});
afterEach(() => {
  fs.rmSync(dir, {recursive: true, force: true});
});

describe('token verify', () => {
  it('accepts a recorded token given inline, in a file or on stdin, and renders its claims', async () => {
    const t = await issue('agent.researcher', {scopes: ['memory:read', 'tools:call']});
    const ctx = context(dir);
    const inline = await verifyToken(ctx, {token: t.token, trustedKeys: [], stdin: noStdin()});
    expect(inline).toMatchObject({
      ok: true,
      reason: null,
      jti: t.jti,
      scopes: ['memory:read', 'tools:call'],
      key_fingerprint: key.fingerprint,
    });
    expect(inline.claims?.sub).toBe('agent.researcher');

    fs.writeFileSync(path.join(dir, 'tok'), `${t.token}\n`);
    expect((await verifyToken(ctx, {token: 'tok', trustedKeys: [], stdin: noStdin()})).ok).toBe(true);
    const piped = await verifyToken(ctx, {token: '-', audience: DEFAULT_TOKEN_SETTINGS.audience, trustedKeys: [], stdin: stdinOf(t.token)});
    expect(piped.ok).toBe(true);

    const text = renderTokenCheck(inline, new Date((t.iat + 30) * 1000));
    expect(text.split('\n')[0]).toBe('Valid agent token for agent.researcher');
    expect(text).toContain(`jti:      ${t.jti}`);
    expect(text).toContain('issuer:   lab');
    expect(text).toContain('scopes:   memory:read tools:call');
    expect(text).toMatch(/issued: {3}\S+ \(30s ago\)/);
    expect(text).toMatch(/expires: {2}\S+ \(in \d+(h\d+m|d|m)\)/);
    expect(text).toContain(`key:      ${key.fingerprint}`);
    // the token itself is never part of what is shown
    expect(text).not.toContain(t.token);
  });

  it('refuses a token for another audience, one the ledger never recorded, and input that is no token', async () => {
    const t = await issue('agent.a');
    const ctx = context(dir);
    const aud = await verifyToken(ctx, {token: t.token, audience: 'someone-else', trustedKeys: [], stdin: noStdin()});
    expect(aud).toMatchObject({ok: false, code: 'audience'});
    expect(renderTokenCheck(aud).split('\n')[0]).toBe(`INVALID token: ${aud.reason}`);

    const unrecorded = await issueAgentToken(key, {workspace: 'lab', address: 'agent.a', settings: DEFAULT_TOKEN_SETTINGS});
    const unknown = await verifyToken(ctx, {token: unrecorded.token, trustedKeys: [], stdin: noStdin()});
    expect(unknown).toMatchObject({ok: false, code: 'unknown'});

    expect((await caughtAsync(verifyToken(ctx, {token: 'no-such-file', trustedKeys: [], stdin: noStdin()}))).code).toBe('invalid_input');
    expect((await caughtAsync(verifyToken(ctx, {token: '-', trustedKeys: [], stdin: stdinOf('  \n')}))).message).toBe('no token on stdin');
    const garbage = await verifyToken(ctx, {token: '-', trustedKeys: [], stdin: stdinOf('a.b')});
    expect(garbage).toMatchObject({ok: false, code: 'malformed', claims: null});
    expect(renderTokenCheck(garbage)).toBe(`INVALID token: ${garbage.reason}`);
  });
});

describe('token revoke', () => {
  it('revokes by jti once, says so the second time, and verify then refuses it', async () => {
    const t = await issue('agent.a');
    const ctx = context(dir);
    const first = await revokeToken(ctx, {jti: t.jti, reason: 'leaked in a log'});
    expect(first).toMatchObject({
      selector: {jti: t.jti},
      matched: 1,
      revoked: [t.jti],
      already_revoked: [],
      expired: [],
      reason: 'leaked in a log',
    });
    expect(first.revocation).toMatchObject({revoked_by: 'test', reason: 'leaked in a log'});
    expect(renderRevoke(first)).toBe(`Revoked token ${t.jti}.`);

    const second = await revokeToken(ctx, {jti: t.jti, reason: 'again'});
    expect(second.revoked).toEqual([]);
    expect(second.already_revoked).toEqual([t.jti]);
    const text = renderRevoke(second);
    expect(text).toContain(`Token ${t.jti} was already revoked at ${first.revocation!.revoked_at} by test: leaked in a log`);
    expect(text).toContain('Nothing new to revoke.');

    const check = await verifyToken(ctx, {token: t.token, trustedKeys: [], stdin: noStdin()});
    expect(check).toMatchObject({ok: false, code: 'revoked'});
    expect(check.revocation?.reason).toBe('leaked in a log');
    expect(renderTokenCheck(check)).toMatch(/revoked: {2}\S+ \(leaked in a log\)/);
  });

  it("revokes an agent's live tokens and leaves its expired ones as they are", async () => {
    const old = await issue('agent.b', {now: new Date(Date.now() - 400 * 86_400_000)});
    const live = [await issue('agent.b'), await issue('agent.b')];
    await issue('agent.c');
    const r = await revokeToken(context(dir), {agent: 'b', reason: 'rotated'});
    expect(r.selector).toEqual({address: 'agent.b'});
    expect(r.matched).toBe(3);
    expect(r.revoked.sort()).toEqual(live.map((t) => t.jti).sort());
    expect(r.expired).toEqual([old.jti]);
    expect(r.revocation).toBeNull();
    const text = renderRevoke(r);
    expect(text).toContain('Revoked 2 token(s) of agent.b');
    expect(text).toContain('Expired (left as they are): 1 token(s)');
    const again = renderRevoke(await revokeToken(context(dir), {agent: 'agent.b', reason: 'again'}));
    expect(again).toContain('Already revoked: 2 token(s)');
  });

  it('says what is wrong with the selector, never echoing a token', async () => {
    const t = await issue('agent.a');
    const ctx = context(dir);
    expect((await caughtAsync(revokeToken(ctx, {reason: 'x'}))).code).toBe('usage');
    expect((await caughtAsync(revokeToken(ctx, {jti: 'j', agent: 'a', reason: 'x'}))).code).toBe('usage');
    const jwt = await caughtAsync(revokeToken(ctx, {jti: t.token, reason: 'x'}));
    expect(jwt.message).toBe('that is a token, not a jti');
    expect(JSON.stringify(jwt.toJSON())).not.toContain(t.token);
    const noJti = await caughtAsync(revokeToken(ctx, {jti: 'nope', reason: 'x'}));
    expect(noJti.code).toBe('not_found');
    expect(noJti.message).toContain('no token with jti nope');
    const noAgent = await caughtAsync(revokeToken(ctx, {agent: 'ghost', reason: 'x'}));
    expect(noAgent.message).toBe('no token was ever issued to agent.ghost in this workspace');
  });
});
