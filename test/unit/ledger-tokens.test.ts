import {generateKeyPairSync} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {LATEST_SCHEMA_VERSION, MIGRATIONS} from '../../src/ledger/migrations.js';
import {
  listTokens,
  recordToken,
  revokeTokens,
  revokeTokensDetailed,
  tokenRecord,
  tokenRevocation,
  type TokenIssue,
} from '../../src/ledger/tokens.js';
import {DEFAULT_TOKEN_SETTINGS, issueAgentToken, verifyAgentToken} from '../../src/trust/agent-token.js';
import {trustedKeyOf, workspaceKeyFromPem} from '../../src/trust/keys.js';
import {rawSqlite} from '../helpers/ledger-sql.js';

let dir: string;
let ledger: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-tokens-'));
  ledger = Ledger.open(dir);
});
afterEach(() => {
  ledger.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

const NOW = new Date('2030-06-01T12:00:00.000Z');
const NOW_SEC = NOW.getTime() / 1000;
let n = 0;
function tok(o: Partial<TokenIssue> = {}): TokenIssue {
  n++;
  return {
    jti: `jti-${n}`,
    address: 'agent.researcher',
    workspace: 'lab',
    audience: 'orchestrix',
    scopes: ['ledger:read'],
    iat: NOW_SEC - 60,
    exp: NOW_SEC + 3540,
    ...o,
  };
}
const by = {actor: 'alice', reason: 'agent deleted', now: NOW};
const events = () => ledger.listEvents();
const caught = (fn: () => unknown): OrxError => {
  try {
    fn();
  } catch (err) {
    return err as OrxError;
  }
  throw new Error('did not throw');
};

describe('migration 6: the tokens table', () => {
  it('is the latest migration and creates the table with its index', () => {
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(MIGRATIONS[5].version).toBe(6);
    expect(ledger.meta().schema_version).toBe(LATEST_SCHEMA_VERSION);
    const cols = (rawSqlite(ledger).prepare("SELECT name FROM pragma_table_info('tokens')").all() as {name: string}[]).map((c) => c.name);
    expect(cols).toEqual([
      'jti',
      'address',
      'workspace',
      'audience',
      'scopes',
      'iat',
      'exp',
      'run_id',
      'issued_at',
      'revoked_at',
      'revoked_by',
      'reason',
    ]);
    const idx = rawSqlite(ledger)
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens' AND name = 'tokens_address'")
      .get();
    expect(idx).toBeDefined();
  });

  it('upgrades a schema-5 ledger in place, and re-running it keeps the rows', () => {
    recordToken(ledger, tok({jti: 'keep-me'}));
    ledger.close();
    const raw = new Database(Ledger.fileFor(dir));
    raw.pragma('user_version = 5');
    raw.close();
    ledger = Ledger.open(dir);
    expect(ledger.meta().schema_version).toBe(LATEST_SCHEMA_VERSION);
    expect(tokenRecord(ledger, 'keep-me')).not.toBeNull();

    rawSqlite(ledger).exec('DROP TABLE tokens');
    rawSqlite(ledger).pragma('user_version = 5');
    ledger.close();
    ledger = Ledger.open(dir);
    expect(listTokens(ledger)).toEqual([]);
    recordToken(ledger, tok());
    expect(listTokens(ledger)).toHaveLength(1);
  });

  it('a ledger built from migration 1 upward gets the table', () => {
    const d2 = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-tokens-old-'));
    fs.mkdirSync(path.join(d2, '.orx'));
    const raw = new Database(Ledger.fileFor(d2));
    MIGRATIONS[0].up(raw);
    raw.pragma('user_version = 1');
    raw.close();
    const l = Ledger.open(d2);
    recordToken(l, tok());
    expect(listTokens(l)).toHaveLength(1);
    l.close();
    fs.rmSync(d2, {recursive: true, force: true});
  });
});

describe('recordToken', () => {
  it('stores the jti and claims with an event in the hash chain', () => {
    const run = ledger.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 't'});
    const t = tok({scopes: ['a', 'b']});
    recordToken(ledger, t, run.id);
    const rec = tokenRecord(ledger, t.jti)!;
    expect(rec).toMatchObject({...t, run_id: run.id, revoked_at: null, revoked_by: null, reason: null});
    expect(Date.parse(rec.issued_at)).not.toBeNaN();
    const ev = events().at(-1)!;
    expect(ev.run_id).toBe(run.id);
    expect(ev.level).toBe('info');
    expect(ev.message).toBe(`token ${t.jti} issued to agent.researcher (expires ${new Date(t.exp * 1000).toISOString()})`);
    expect(ev.payload).toEqual({
      token: {jti: t.jti, address: t.address, workspace: 'lab', audience: 'orchestrix', scopes: ['a', 'b'], iat: t.iat, exp: t.exp},
    });
    expect(ledger.verifyChain().ok).toBe(true);
    recordToken(ledger, tok());
    expect(tokenRecord(ledger, `jti-${n}`)!.run_id).toBeNull();
  });

  it('refuses a duplicate jti and leaves no trace of the attempt', () => {
    const t = tok();
    recordToken(ledger, t);
    const before = events().length;
    const err = caught(() => recordToken(ledger, {...t, address: 'agent.other'}));
    expect(err.code).toBe('token_exists');
    expect(events()).toHaveLength(before);
    expect(tokenRecord(ledger, t.jti)!.address).toBe('agent.researcher');
  });

  it('refuses bad records: empty or control characters, exp not after iat, non-integer times', () => {
    const bad: Array<Partial<TokenIssue>> = [
      {jti: ''},
      {address: 'a\nb'},
      {workspace: ''},
      {audience: 'x'.repeat(300)},
      {scopes: 'a' as unknown as string[]},
      {scopes: ['']},
      {iat: 1.5},
      {exp: -1},
      {exp: NOW_SEC - 60},
      {iat: '1' as unknown as number},
    ];
    for (const b of bad) expect(() => recordToken(ledger, tok(b)), JSON.stringify(b)).toThrow(OrxError);
    expect(listTokens(ledger)).toEqual([]);
    expect(events()).toEqual([]);
  });

  it('refuses anything shaped like the token itself, without repeating it, so the credential never enters the ledger', async () => {
    const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
    const key = workspaceKeyFromPem(privateKey.export({type: 'pkcs8', format: 'pem'}).toString(), 'k');
    const issued = await issueAgentToken(key, {workspace: 'lab', address: 'agent.researcher', settings: DEFAULT_TOKEN_SETTINGS});
    for (const field of ['jti', 'address', 'workspace', 'audience'] as const) {
      const err = caught(() => recordToken(ledger, {...issued.record, [field]: issued.token}));
      expect(err.message).toMatch(/looks like a JWT/);
      expect(err.message).not.toContain(issued.token);
    }
    expect(() => recordToken(ledger, {...issued.record, scopes: [issued.token]})).toThrow(/looks like a JWT/);
    recordToken(ledger, issued.record);
    revokeTokens(ledger, {jti: issued.jti}, by);
    rawSqlite(ledger).pragma('wal_checkpoint(TRUNCATE)');
    ledger.close();
    for (const f of fs.readdirSync(path.join(dir, '.orx'))) {
      const bytes = fs.readFileSync(path.join(dir, '.orx', f));
      expect(bytes.includes(issued.token), f).toBe(false);
      expect(bytes.includes(issued.token.split('.')[2]), f).toBe(false);
    }
    ledger = Ledger.open(dir);
    expect(tokenRecord(ledger, issued.jti)!.revoked_at).not.toBeNull();
  });
});

describe('revoking', () => {
  it('by jti: sets revoked_at, revoked_by and reason with one warn event; a second call changes nothing', () => {
    const t = tok();
    recordToken(ledger, t);
    expect(tokenRevocation(ledger, t.jti)).toBeNull();
    const before = events().length;
    expect(revokeTokens(ledger, {jti: t.jti}, by)).toEqual([t.jti]);
    expect(tokenRecord(ledger, t.jti)).toMatchObject({revoked_at: NOW.toISOString(), revoked_by: 'alice', reason: 'agent deleted'});
    expect(tokenRevocation(ledger, t.jti)).toEqual({revoked_at: NOW.toISOString(), reason: 'agent deleted'});
    const evs = events().slice(before);
    expect(evs).toHaveLength(1);
    expect(evs[0].level).toBe('warn');
    expect(evs[0].message).toBe(`token ${t.jti} revoked by alice: agent deleted`);
    expect(evs[0].payload).toEqual({
      tokens_revoked: {selector: {jti: t.jti}, jtis: [t.jti], actor: 'alice', reason: 'agent deleted', at: NOW.toISOString()},
    });

    const later = new Date(NOW.getTime() + 60_000);
    expect(revokeTokensDetailed(ledger, {jti: t.jti}, {actor: 'bob', reason: 'again', now: later})).toEqual({
      matched: 1,
      revoked: [],
      already_revoked: [t.jti],
      expired: [],
    });
    expect(tokenRecord(ledger, t.jti)).toMatchObject({revoked_at: NOW.toISOString(), revoked_by: 'alice', reason: 'agent deleted'});
    expect(events().slice(before)).toHaveLength(1);
    expect(ledger.verifyChain().ok).toBe(true);
  });

  it('by jti also revokes an expired token (asked for by name)', () => {
    const t = tok({iat: NOW_SEC - 7200, exp: NOW_SEC - 3600});
    recordToken(ledger, t);
    expect(revokeTokens(ledger, {jti: t.jti}, by)).toEqual([t.jti]);
  });

  it('an unknown jti matches nothing and writes nothing', () => {
    const before = events().length;
    expect(revokeTokensDetailed(ledger, {jti: 'nope'}, by)).toEqual({matched: 0, revoked: [], already_revoked: [], expired: []});
    expect(tokenRevocation(ledger, 'nope')).toBeNull();
    expect(events()).toHaveLength(before);
  });

  it('by address: every live token of that agent in one event; revoked and expired ones are reported, others untouched', () => {
    const live1 = tok();
    const live2 = tok({iat: NOW_SEC - 30});
    const expired = tok({iat: NOW_SEC - 7200, exp: NOW_SEC - 3600});
    const gone = tok();
    const otherAgent = tok({address: 'agent.planner'});
    for (const t of [live1, live2, expired, gone, otherAgent]) recordToken(ledger, t);
    revokeTokens(ledger, {jti: gone.jti}, {actor: 'x', reason: 'earlier'});
    const before = events().length;
    const r = revokeTokensDetailed(ledger, {address: 'agent.researcher'}, by);
    expect(r).toEqual({matched: 4, revoked: [live1.jti, live2.jti], already_revoked: [gone.jti], expired: [expired.jti]});
    expect(tokenRevocation(ledger, otherAgent.jti)).toBeNull();
    expect(tokenRevocation(ledger, expired.jti)).toBeNull();
    expect(tokenRecord(ledger, gone.jti)!.reason).toBe('earlier');
    const evs = events().slice(before);
    expect(evs).toHaveLength(1);
    expect(evs[0].message).toBe('2 tokens of agent.researcher revoked by alice: agent deleted');
    expect(evs[0].payload).toMatchObject({tokens_revoked: {selector: {address: 'agent.researcher'}, jtis: [live1.jti, live2.jti]}});
    expect(revokeTokens(ledger, {address: 'agent.researcher'}, by)).toEqual([]);
    expect(events().slice(before)).toHaveLength(1);
    expect(revokeTokensDetailed(ledger, {address: 'agent.nobody'}, by).matched).toBe(0);
  });

  it('all (halt): every live token of the workspace', () => {
    const a = tok();
    const b = tok({address: 'agent.planner'});
    const old = tok({iat: NOW_SEC - 7200, exp: NOW_SEC - 3600});
    for (const t of [a, b, old]) recordToken(ledger, t);
    expect(revokeTokens(ledger, {all: true}, {actor: 'alice', reason: 'workspace halted', now: NOW})).toEqual([a.jti, b.jti]);
    expect(events().at(-1)!.message).toBe('2 tokens (every live token of the workspace) revoked by alice: workspace halted');
    expect(listTokens(ledger, {live: true, now: NOW})).toEqual([]);
  });

  it('needs exactly one selector, an actor and a reason', () => {
    recordToken(ledger, tok());
    for (const sel of [{}, {jti: 'a', address: 'b'}, {address: 'b', all: true}, {all: false}])
      expect(() => revokeTokens(ledger, sel, by), JSON.stringify(sel)).toThrow(/exactly one/);
    const noReason = caught(() => revokeTokens(ledger, {all: true}, {actor: 'a', reason: '  '}));
    expect(noReason).toMatchObject({code: 'invalid_input', kind: 'user'});
    expect(() => revokeTokens(ledger, {all: true}, {actor: ' ', reason: 'r'})).toThrow(/actor/);
    expect(listTokens(ledger, {live: true, now: NOW})).toHaveLength(1);
  });

  it('is one transaction with its event: if the event cannot be written, nothing is revoked', () => {
    const t = tok();
    recordToken(ledger, t);
    const append = ledger.appendEvent.bind(ledger);
    ledger.appendEvent = () => {
      throw new Error('disk full');
    };
    try {
      expect(() => revokeTokens(ledger, {jti: t.jti}, by)).toThrow('disk full');
      expect(() => recordToken(ledger, tok())).toThrow('disk full');
    } finally {
      ledger.appendEvent = append;
    }
    expect(tokenRevocation(ledger, t.jti)).toBeNull();
    expect(listTokens(ledger)).toHaveLength(1);
  });

  it('a second process sees the revocation at once, and its own revoke is a no-op', () => {
    const t = tok();
    recordToken(ledger, t);
    const second = Ledger.open(dir);
    try {
      expect(revokeTokens(ledger, {jti: t.jti}, by)).toEqual([t.jti]);
      expect(tokenRevocation(second, t.jti)).toMatchObject({reason: 'agent deleted'});
      expect(revokeTokens(second, {jti: t.jti}, by)).toEqual([]);
    } finally {
      second.close();
    }
  });
});

describe('listTokens', () => {
  it('lists by address, oldest first; live filters out revoked and expired', () => {
    const a1 = tok({iat: NOW_SEC - 100});
    const a2 = tok({iat: NOW_SEC - 200});
    const b = tok({address: 'agent.planner'});
    const dead = tok({iat: NOW_SEC - 7200, exp: NOW_SEC - 1});
    for (const t of [a1, a2, b, dead]) recordToken(ledger, t);
    revokeTokens(ledger, {jti: a1.jti}, by);
    expect(listTokens(ledger, {address: 'agent.researcher'}).map((r) => r.jti)).toEqual([dead.jti, a2.jti, a1.jti]);
    expect(listTokens(ledger, {address: 'agent.researcher', live: true, now: NOW}).map((r) => r.jti)).toEqual([a2.jti]);
    expect(listTokens(ledger).map((r) => r.jti)).toHaveLength(4);
    expect(listTokens(ledger, {address: 'agent.planner'})[0].scopes).toEqual(['ledger:read']);
  });
});

describe('issue, record, verify, revoke: the whole path', () => {
  it('a recorded token verifies against the ledger until it is revoked', async () => {
    const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
    const key = workspaceKeyFromPem(privateKey.export({type: 'pkcs8', format: 'pem'}).toString(), 'k');
    const issued = await issueAgentToken(key, {
      workspace: 'lab',
      address: 'agent.researcher',
      settings: {...DEFAULT_TOKEN_SETTINGS, scopes: ['x']},
    });
    const check = () =>
      verifyAgentToken(issued.token, {
        keys: [trustedKeyOf(key)],
        workspace: 'lab',
        isRevoked: (jti) => tokenRevocation(ledger, jti),
        lookup: (jti) => tokenRecord(ledger, jti),
      });
    expect(await check()).toMatchObject({ok: false, code: 'unknown'});
    recordToken(ledger, issued.record);
    expect(await check()).toMatchObject({ok: true, jti: issued.jti, scopes: ['x']});
    expect(revokeTokens(ledger, {address: 'agent.researcher'}, {actor: 'op', reason: 'agent deleted'})).toEqual([issued.jti]);
    expect(await check()).toMatchObject({ok: false, code: 'revoked', reason: expect.stringMatching(/: agent deleted$/)});
    for (const e of events()) expect(JSON.stringify(e)).not.toContain(issued.token);
  });
});
