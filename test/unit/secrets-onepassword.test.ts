// op:// resolution. 1Password itself is a network service this machine cannot reach, so most
// cases use a stand-in for the SDK client at the process boundary (named FakeOnePassword below):
// it answers the way the SDK does, and the tests check what orx makes of each answer. The real
// SDK is exercised where it works offline: its reference validator (secrets-reference.test.ts),
// client creation with an invalid token and desktop auth without the app (below), and a real
// lookup in test/integration/secrets-onepassword.test.ts when credentials are provided.
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {AuthExpiredError, DesktopSessionExpiredError, RateLimitExceededError} from '@1password/sdk';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {
  sdkFailure,
  type OpClientFactory,
  type OpClientSettings,
  type OpResolveAllResponse,
  type OpResolveError,
} from '../../src/secrets/onepassword.js';
import {resolveSecrets, type ResolveOptions, type SecretRequest} from '../../src/secrets/resolve.js';

const TOKEN = 'ops_fake-service-account-token-for-tests';

type Answer = {secret: string} | OpResolveError;

/** Stand-in for the SDK client: records every createClient and resolveAll call, answers from a table. */
class FakeOnePassword {
  readonly created: OpClientSettings[] = [];
  readonly resolveCalls: string[][] = [];
  constructor(
    private readonly answers: Record<string, Answer> = {},
    private readonly fail: {create?: unknown; resolve?: unknown; hang?: 'create' | 'resolve'} = {},
  ) {}

  readonly factory: OpClientFactory = async (settings) => {
    this.created.push(settings);
    if (this.fail.hang === 'create') return new Promise(() => {});
    // the SDK throws plain strings and objects, not Errors: the fake must too
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (this.fail.create !== undefined) throw this.fail.create;
    return {
      secrets: {
        resolveAll: async (refs: string[]): Promise<OpResolveAllResponse> => {
          this.resolveCalls.push(refs);
          if (this.fail.hang === 'resolve') return new Promise(() => {});
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          if (this.fail.resolve !== undefined) throw this.fail.resolve;
          const individualResponses: OpResolveAllResponse['individualResponses'] = {};
          for (const ref of refs) {
            const a = this.answers[ref] ?? {type: 'itemNotFound'};
            individualResponses[ref] = 'secret' in a ? {content: {secret: a.secret}} : {error: a};
          }
          return {individualResponses};
        },
      },
    };
  };
}

let ws: string;
beforeEach(() => {
  ws = mkdtempSync(path.join(tmpdir(), 'orx-op-'));
});
afterEach(() => {
  rmSync(ws, {recursive: true, force: true});
});

function opts(fake: FakeOnePassword | null, extra: Partial<ResolveOptions> = {}): ResolveOptions {
  return {dir: ws, env: {OP_SERVICE_ACCOUNT_TOKEN: TOKEN}, version: '9.8.7', ...(fake ? {onePasswordClient: fake.factory} : {}), ...extra};
}

const req = (ref: string, key = 'DB_PASSWORD', address = 'agent.researcher'): SecretRequest => ({address, key, ref});

describe('op:// through the SDK client', () => {
  it('resolves every op:// reference of the call in one resolveAll call, deduplicated', async () => {
    const fake = new FakeOnePassword({
      'op://Prod/db/password': {secret: 'db-s3cret-value'},
      'op://Prod/api/token': {secret: 'api-s3cret-value'},
      'op://Prod/tls/section/key': {secret: '-----BEGIN KEY-----\nabc\n-----END KEY-----'},
    });
    const results = await resolveSecrets(
      [
        req('op://Prod/db/password', 'DB', 'agent.a'),
        req('op://Prod/api/token', 'API', 'agent.a'),
        req('env://LOCAL', 'LOCAL', 'agent.a'),
        req('op://Prod/db/password', 'DB', 'agent.b'),
        req('op://Prod/tls/section/key', 'TLS', 'agent.c'),
      ],
      opts(fake, {env: {OP_SERVICE_ACCOUNT_TOKEN: TOKEN, LOCAL: 'local-value'}}),
    );
    expect(fake.created).toHaveLength(1);
    expect(fake.resolveCalls).toEqual([['op://Prod/db/password', 'op://Prod/api/token', 'op://Prod/tls/section/key']]);
    expect(results.map((r) => [r.address, r.key, r.provider, r.ok, r.value])).toEqual([
      ['agent.a', 'DB', 'op', true, 'db-s3cret-value'],
      ['agent.a', 'API', 'op', true, 'api-s3cret-value'],
      ['agent.a', 'LOCAL', 'env', true, 'local-value'],
      ['agent.b', 'DB', 'op', true, 'db-s3cret-value'],
      ['agent.c', 'TLS', 'op', true, '-----BEGIN KEY-----\nabc\n-----END KEY-----'],
    ]);
  });

  it('signs in with OP_SERVICE_ACCOUNT_TOKEN as integration "orchestrix" at the orx version', async () => {
    const fake = new FakeOnePassword({'op://v/i/f': {secret: 'value-1234'}});
    await resolveSecrets([req('op://v/i/f')], opts(fake));
    expect(fake.created).toEqual([{auth: TOKEN, integrationName: 'orchestrix', integrationVersion: '9.8.7'}]);
  });

  it('does not load or call 1Password when there is no op:// reference', async () => {
    const fake = new FakeOnePassword();
    await resolveSecrets([req('env://X')], opts(fake, {env: {X: 'xxxx'}}));
    expect(fake.created).toHaveLength(0);
  });

  it('a syntactically bad op:// reference is reported by the offline validator and never sent', async () => {
    const fake = new FakeOnePassword({'op://v/i/f': {secret: 'good-value'}});
    const [bad, good] = await resolveSecrets([req('op://v/only-two', 'BAD'), req('op://v/i/f', 'GOOD')], opts(fake));
    expect(bad.error).toMatch(/^agent\.researcher secret BAD: op:\/\/v\/only-two is not a valid 1Password reference .*could not be parsed/);
    expect(good.value).toBe('good-value');
    expect(fake.resolveCalls).toEqual([['op://v/i/f']]);
  });

  it('a value shorter than 4 characters from 1Password is refused', async () => {
    const fake = new FakeOnePassword({'op://v/i/pin': {secret: '42!'}});
    const [r] = await resolveSecrets([req('op://v/i/pin', 'PIN')], opts(fake));
    expect(r).toMatchObject({ok: false, provider: 'op'});
    expect(r).not.toHaveProperty('value');
    expect(r.error).toBe(
      'agent.researcher secret PIN: op://v/i/pin resolves to fewer than 4 characters; orx refuses it as a secret because redacting it would redact too much',
    );
  });

  it('an answer missing from the response is an error, not a crash', async () => {
    const fake = new FakeOnePassword();
    const factory: OpClientFactory = async () => ({secrets: {resolveAll: async () => ({individualResponses: {}})}});
    const [r] = await resolveSecrets([req('op://v/i/f')], opts(fake, {onePasswordClient: factory}));
    expect(r.error).toBe('agent.researcher secret DB_PASSWORD: op://v/i/f cannot be resolved: 1Password returned no value for it');
  });
});

describe('per-reference errors from resolveAll', () => {
  it.each([
    ['vaultNotFound', undefined, /cannot be resolved: no vault matches it \(check the vault name or ID/],
    ['itemNotFound', undefined, /cannot be resolved: no item in that vault matches it/],
    ['fieldNotFound', undefined, /cannot be resolved: the item has no such field/],
    ['tooManyVaults', undefined, /ambiguous: more than one vault has that name; use the vault ID/],
    ['tooManyItems', undefined, /ambiguous: more than one item in the vault has that name; use the item ID/],
    ['tooManyMatchingFields', undefined, /ambiguous: more than one field/],
    ['noMatchingSections', undefined, /the item has no section by that name/],
    ['parsing', 'secret reference has invalid format', /1Password could not parse it: secret reference has invalid format/],
    ['unsupportedFileFormat', undefined, /1Password reported "unsupportedFileFormat"/],
    ['unableToGenerateTotpCode', 'bad otp\nsecret', /1Password reported "unableToGenerateTotpCode": bad otp secret/],
    ['someFutureType', undefined, /1Password reported "someFutureType"/],
  ])('%s', async (type, message, re) => {
    const fake = new FakeOnePassword({
      'op://Prod/db/password': message === undefined ? {type} : {type, message},
      'op://Prod/ok/field': {secret: 'other-s3cret'},
    });
    const [r, ok] = await resolveSecrets([req('op://Prod/db/password'), req('op://Prod/ok/field', 'OK')], opts(fake));
    expect(r).toMatchObject({ok: false, provider: 'op'});
    expect(r.error).toMatch(/^agent\.researcher secret DB_PASSWORD: op:\/\/Prod\/db\/password cannot be resolved: /);
    expect(r.error).toMatch(re);
    expect(r.error).not.toContain('other-s3cret');
    // one reference failing does not fail the others
    expect(ok.value).toBe('other-s3cret');
  });
});

describe('failures of the whole 1Password call land on every op:// request', () => {
  const refs = [req('op://v/a/f', 'A', 'agent.one'), req('op://v/b/f', 'B', 'agent.two'), req('env://LOCAL', 'LOCAL', 'agent.two')];
  const env = {OP_SERVICE_ACCOUNT_TOKEN: TOKEN, LOCAL: 'local-value'};

  it.each([
    [
      'an auth failure thrown by createClient (as the SDK throws it)',
      {
        create: new Error(
          'invalid service account token, please make sure you provide a valid service account token as parameter: service account deserialization failed',
        ),
      },
      /1Password sign-in failed: invalid service account token, please make sure .*deserialization failed \(check OP_SERVICE_ACCOUNT_TOKEN/,
    ],
    [
      'an expired token (AuthExpiredError)',
      {resolve: new AuthExpiredError('the service account token has expired')},
      /1Password lookup failed: the service account token has expired \(the credentials have expired or were revoked/,
    ],
    [
      'a rate limit (RateLimitExceededError)',
      {resolve: new RateLimitExceededError('rate limit exceeded (too many requests)')},
      /1Password lookup failed: rate limit exceeded \(too many requests\) \(rate limit exceeded; wait and retry/,
    ],
    [
      'a desktop session that expired',
      {create: new DesktopSessionExpiredError('session expired')},
      /1Password sign-in failed: session expired \(the desktop app session expired; unlock 1Password/,
    ],
    [
      'JSON in a thrown string',
      {resolve: '{"name":"RateLimitExceeded","message":"daily request limit reached"}'},
      /1Password lookup failed: daily request limit reached \(rate limit exceeded/,
    ],
    [
      'a plain thrown string',
      {create: 'error sending request: dns error: failed to lookup address information'},
      /1Password sign-in failed: error sending request: dns error: failed to lookup address information$/,
    ],
    ['a thrown non-error', {resolve: 42}, /1Password lookup failed: 42$/],
    [
      'a multi-line message',
      {create: new Error('first line\n    at frame (file.js:1:2)\nthird')},
      /1Password sign-in failed: first line at frame \(file\.js:1:2\) third$/,
    ],
  ])('%s', async (_name, fail, re) => {
    const fake = new FakeOnePassword({}, fail);
    const results = await resolveSecrets(refs, opts(fake, {env}));
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
    expect(results[0].error).toMatch(/^agent\.one secret A: op:\/\/v\/a\/f cannot be resolved: /);
    expect(results[1].error).toMatch(/^agent\.two secret B: op:\/\/v\/b\/f cannot be resolved: /);
    for (const r of results.slice(0, 2)) expect(r.error).toMatch(re);
    expect(results[2].value).toBe('local-value');
    expect(fake.created).toHaveLength(1);
  });

  it.each(['create', 'resolve'] as const)('a 1Password that never answers (hang in %s) fails within the timeout', async (hang) => {
    const fake = new FakeOnePassword({}, {hang});
    const started = Date.now();
    const results = await resolveSecrets(refs, opts(fake, {env, timeoutMs: 80}));
    expect(Date.now() - started).toBeLessThan(2000);
    const phase = hang === 'create' ? 'sign-in' : 'resolve';
    for (const r of results.slice(0, 2))
      expect(r.error).toMatch(new RegExp(`did not answer within 0\\.1 s \\(during ${phase}\\); check the network connection`));
    expect(results[2].ok).toBe(true);
  });

  it('an SDK message that quotes the token or a resolved value has it replaced', async () => {
    const fake = new FakeOnePassword({}, {create: new Error(`token ${TOKEN} rejected; saw local-value`)});
    const results = await resolveSecrets(refs, opts(fake, {env}));
    expect(results[0].error).toMatch(/token \(sensitive\) rejected; saw \(sensitive\)/);
    for (const r of results) expect(r.error ?? '').not.toContain(TOKEN);
  });
});

describe('1Password credentials', () => {
  const ref = 'op://v/i/f';
  const answers = {[ref]: {secret: 'resolved-value'}};

  it('no token and no account: every op:// request says what to set; 1Password is not called', async () => {
    const fake = new FakeOnePassword(answers);
    const results = await resolveSecrets(
      [req(ref, 'A'), req(ref, 'B', 'agent.other'), req('env://E', 'E')],
      opts(fake, {env: {E: 'env-value'}}),
    );
    expect(fake.created).toHaveLength(0);
    expect(results[0].error).toBe(
      'agent.researcher secret A: op://v/i/f cannot be resolved: there are no 1Password credentials; set OP_SERVICE_ACCOUNT_TOKEN to a service account token, or secrets.onepassword.account to sign in through the 1Password desktop app',
    );
    expect(results[1].error).toMatch(/^agent\.other secret B: .*OP_SERVICE_ACCOUNT_TOKEN.*secrets\.onepassword\.account/);
    expect(results[2].value).toBe('env-value');
  });

  it('an empty or blank OP_SERVICE_ACCOUNT_TOKEN counts as not set', async () => {
    for (const blank of ['', '  \n']) {
      const [r] = await resolveSecrets([req(ref)], opts(new FakeOnePassword(answers), {env: {OP_SERVICE_ACCOUNT_TOKEN: blank}}));
      expect(r.error).toMatch(/there are no 1Password credentials/);
    }
  });

  it('secrets.onepassword.token may name another variable', async () => {
    const fake = new FakeOnePassword(answers);
    const [r] = await resolveSecrets([req(ref)], opts(fake, {env: {MY_OP: ` ${TOKEN}\n`}, onepassword: {token: 'env://MY_OP'}}));
    expect(r.value).toBe('resolved-value');
    expect(fake.created[0].auth).toBe(TOKEN); // surrounding whitespace is a paste artefact, not part of a token
  });

  it('secrets.onepassword.token may name a 0600 file in the workspace', async () => {
    writeFileSync(path.join(ws, 'op-token'), `${TOKEN}\n`, {mode: 0o600});
    const fake = new FakeOnePassword(answers);
    const [r] = await resolveSecrets([req(ref)], opts(fake, {env: {}, onepassword: {token: 'file://op-token'}}));
    expect(r.value).toBe('resolved-value');
    expect(fake.created[0].auth).toBe(TOKEN);
  });

  it('a token file readable by others is refused like any secret file, and 1Password is not called', async () => {
    writeFileSync(path.join(ws, 'op-token'), TOKEN, {mode: 0o644});
    const fake = new FakeOnePassword(answers);
    const [r] = await resolveSecrets([req(ref)], opts(fake, {env: {}, onepassword: {token: 'file://op-token'}}));
    expect(fake.created).toHaveLength(0);
    expect(r.error).toMatch(
      /cannot be resolved: the 1Password service account token \(secrets\.onepassword\.token\) file:\/\/op-token is readable or writable by group or others \(mode 0644\).*chmod 600/,
    );
    expect(r.error).not.toContain(TOKEN);
  });

  it('a configured token variable that is not set names that variable', async () => {
    const [r] = await resolveSecrets([req(ref)], opts(new FakeOnePassword(answers), {onepassword: {token: 'env://CI_OP_TOKEN'}}));
    expect(r.error).toMatch(/\(secrets\.onepassword\.token\) env:\/\/CI_OP_TOKEN is not set in the environment/);
  });

  it.each([TOKEN, 'op://vault/item/token'])(
    'a token setting that is not an env:// or file:// reference is refused without echoing it (%s)',
    async (token) => {
      const fake = new FakeOnePassword(answers);
      const [r] = await resolveSecrets([req(ref)], opts(fake, {onepassword: {token}}));
      expect(fake.created).toHaveLength(0);
      expect(r.error).toMatch(
        /secrets\.onepassword\.token must say where the service account token lives \(env:\/\/NAME or file:\/\/PATH\)/,
      );
      expect(r.error).not.toContain(token);
    },
  );

  it('an account uses desktop-app auth, even when a token variable is set', async () => {
    const fake = new FakeOnePassword(answers);
    const [r] = await resolveSecrets([req(ref)], opts(fake, {onepassword: {account: 'my-team', token: null}}));
    expect(r.value).toBe('resolved-value');
    expect(fake.created).toEqual([{auth: {desktopAccount: 'my-team'}, integrationName: 'orchestrix', integrationVersion: '9.8.7'}]);
  });
});

describe('sdkFailure', () => {
  it.each([
    ['an Error', new Error('boom'), {kind: 'other', message: 'boom'}],
    ['a RateLimitExceededError', new RateLimitExceededError('slow down'), {kind: 'rate-limit', message: 'slow down'}],
    ['an AuthExpiredError', new AuthExpiredError('expired'), {kind: 'auth-expired', message: 'expired'}],
    ['a JSON string', '{"name":"AuthExpired","message":"token expired"}', {kind: 'auth-expired', message: 'token expired'}],
    ['JSON inside an Error', new Error('{"name":"RateLimitExceeded","message":"limit"}'), {kind: 'rate-limit', message: 'limit'}],
    [
      'the validator JSON',
      '{"name":"ParsingSecretReference","message":"could not be parsed"}',
      {kind: 'other', message: 'could not be parsed'},
    ],
    ['broken JSON', '{"name": oops', {kind: 'other', message: '{"name": oops'}],
    ['a plain object', {name: 'DesktopSessionExpired', message: 'locked'}, {kind: 'desktop-session-expired', message: 'locked'}],
    [
      'a desktop-app error',
      new Error('Native library is not available.'),
      {kind: 'desktop-unavailable', message: 'Native library is not available.'},
    ],
    ['undefined', undefined, {kind: 'other', message: 'undefined'}],
    ['JSON naming a prototype member', '{"name":"constructor","message":"odd"}', {kind: 'other', message: 'odd'}],
    ['an empty string', '', {kind: 'other', message: 'no message'}],
  ])('%s', (_name, err, want) => {
    expect(sdkFailure(err)).toEqual(want);
  });

  it('a huge message is bounded', () => {
    expect(sdkFailure(new Error('x'.repeat(100_000))).message.length).toBeLessThan(500);
  });
});

// These use the real SDK; both fail offline, before any network, which is the point: a bad
// setup must give a clean per-reference error quickly, not hang or throw out of resolveSecrets.
describe('the real 1Password SDK', () => {
  it('an obviously invalid token gives a clean error on every op:// request', async () => {
    const started = Date.now();
    const results = await resolveSecrets([req('op://vault/item/field', 'A'), req('op://vault/other/field', 'B')], {
      dir: ws,
      env: {OP_SERVICE_ACCOUNT_TOKEN: 'ops_this-is-not-a-real-token'},
      version: '0.0.0-test',
      timeoutMs: 20_000,
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(
        /^agent\.researcher secret [AB]: op:\/\/vault\/\w+\/field cannot be resolved: 1Password sign-in failed: invalid service account token/,
      );
      expect(r.error).toMatch(/check OP_SERVICE_ACCOUNT_TOKEN/);
      expect(r.error).not.toContain('ops_this-is-not-a-real-token');
      expect(r.error).not.toMatch(/\n|\bat .*:\d+:\d+/);
    }
  });

  const desktopApp = ['/usr/bin/1password', '/opt/1Password', '/Applications/1Password.app'].some((p) => existsSync(p));
  it.skipIf(desktopApp)('desktop auth without the desktop app fails cleanly and prints nothing itself', async () => {
    const printed = vi.spyOn(console, 'error');
    try {
      const [r] = await resolveSecrets([req('op://vault/item/field')], {
        dir: ws,
        env: {},
        onepassword: {account: 'orx-test-account'},
        version: '0',
        timeoutMs: 20_000,
      });
      expect(r.error).toMatch(/1Password sign-in failed: Native library is not available\. \(install and unlock the 1Password desktop app/);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
  });
});
