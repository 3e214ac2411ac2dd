import {describe, expect, it} from 'vitest';
import {secretRefSyntaxError} from '../../src/secrets/reference.js';
import {parseSecretRef, secretKeyError, unknownSchemeHint, type SecretRef} from '../../src/config/secret-ref.js';
import {stripOneNewline} from '../../src/secrets/providers.js';

describe('parseSecretRef', () => {
  it.each([
    ['op://Private/db/password', {provider: 'op', target: 'op://Private/db/password'}],
    ['op://vault/item/section/field?attribute=otp', {provider: 'op', target: 'op://vault/item/section/field?attribute=otp'}],
    ['env://DB_PASSWORD', {provider: 'env', target: 'DB_PASSWORD'}],
    ['env://', {provider: 'env', target: ''}],
    ['file://secrets/db.txt', {provider: 'file', target: 'secrets/db.txt'}],
    ['file://./db.txt', {provider: 'file', target: './db.txt'}],
    ['file:///etc/orx/db.txt', {provider: 'file', target: '/etc/orx/db.txt'}],
    ['file://../outside', {provider: 'file', target: '../outside'}],
    ['file://', {provider: 'file', target: ''}],
    ['file://with\nnewline', {provider: 'file', target: 'with\nnewline'}],
  ])('%j', (value, want) => {
    expect(parseSecretRef(value)).toEqual({ref: value, ...want});
  });

  it.each([
    'hunter22',
    '',
    'OP://vault/item/field',
    'Env://X',
    'env:/X',
    ' env://X',
    'vault://a/b',
    'https://example.com',
    'op:vault/item',
    'envX://Y',
  ])('a literal is not a reference: %j', (value) => {
    expect(parseSecretRef(value)).toBeNull();
  });
});

describe('unknownSchemeHint', () => {
  it('names only the scheme of a reference-looking literal, never the rest', () => {
    const hint = unknownSchemeHint('vault://team/s3cr3t-value-here');
    expect(hint).toMatch(/"vault:\/\/" is not a secret provider/);
    expect(hint).not.toContain('s3cr3t');
    expect(unknownSchemeHint('OP://a/b/c')).toMatch(/lower case/);
  });

  it('says nothing for a plain literal', () => {
    expect(unknownSchemeHint('correct horse battery staple')).toBeNull();
  });
});

const ref = (value: string): SecretRef => {
  const r = parseSecretRef(value);
  if (!r) throw new Error(`not a reference: ${value}`);
  return r;
};

describe('secretRefSyntaxError', () => {
  it.each([
    'env://DB_PASSWORD',
    'env://_x',
    'env://A1',
    'file://db.txt',
    'file:///abs/db',
    'file://a/../x',
    'file://.orxfile',
    'file:///devices/x',
  ])('%j is well formed', async (value) => {
    expect(await secretRefSyntaxError(ref(value))).toBeNull();
  });

  it.each([
    ['env://', /"" is not an environment variable name/],
    ['env://1ABC', /"1ABC" is not an environment variable name/],
    ['env://DB-PASSWORD', /not an environment variable name/],
    ['env://DB PASSWORD', /not an environment variable name/],
    ['env://X/Y', /not an environment variable name/],
    ['file://', /file path is empty/],
    ['file://a\u0000b', /NUL/],
    ['file://../x', /^file:\/\/\.\.\/x resolves outside the workspace/],
    ['file://.orx/keys/signing.key', /^file:\/\/\.orx\/keys\/signing\.key is inside an orx state directory/],
    ['file://./a/../.orx/ledger.db', /inside an orx state directory/],
    ['file:///home/me/other-ws/.orx/keys/signing.key', /inside an orx state directory/],
    ['file:///proc/self/environ', /^file:\/\/\/proc\/self\/environ is under \/proc/],
    ['file:///proc', /is under \/proc/],
    ['file:///sys/kernel/x', /is under \/sys/],
    ['file:///dev/stdin', /is under \/dev/],
    ['file:///etc/../dev/fd/0', /is under \/dev/],
  ])('%j is refused', async (value, re) => {
    expect(await secretRefSyntaxError(ref(value))).toMatch(re);
  });

  // the SDK's own offline validator, not a copy of its rules
  it.each([
    'op://vault/item/field',
    'op://vault/item/section/field',
    'op://Private Vault/My Item/password',
    'op://vault/item/one-time password?attribute=otp',
    'op://vault/ssh key/private key?ssh-format=openssh',
  ])('the 1Password SDK accepts %j', async (value) => {
    expect(await secretRefSyntaxError(ref(value))).toBeNull();
  });

  it.each([
    ['op://vault/item', /op:\/\/vault\/item is not a valid 1Password reference.*could not be parsed: secret reference has invalid format/],
    ['op://a/b/c/d/e', /could not be parsed/],
    ['op://vault/item/field?foo=bar', /invalid query parameter/],
    ['op://', /could not be parsed/],
  ])('the 1Password SDK refuses %j with its own reason', async (value, re) => {
    const msg = await secretRefSyntaxError(ref(value));
    expect(msg).toMatch(re);
    // the validator throws a JSON string; the message is the sentence inside it, not the JSON
    expect(msg).not.toContain('{"name"');
    expect(msg).not.toMatch(/\n|\bat .*:\d+:\d+/);
  });

  it('a hostile reference is shortened in the message', async () => {
    const msg = await secretRefSyntaxError(ref(`env://${'-'.repeat(5000)}`));
    expect(msg!.length).toBeLessThan(300);
  });
});

describe('secretKeyError', () => {
  it.each(['DB_PASSWORD', 'db.password', 'tls-cert.pem', '_x', 'a', `a${'b'.repeat(127)}`, 'orx-token2', 'orx_token'])(
    '%j is a valid key',
    (key) => {
      expect(secretKeyError(key)).toBeNull();
    },
  );

  it('orx-token is reserved', () => {
    expect(secretKeyError('orx-token')).toMatch(/reserved/);
  });

  it.each(['', '1password', '.hidden', '..', '-x', 'a/b', 'a b', 'a\u0000', `a${'b'.repeat(128)}`, 'ключ'])(
    '%j is not a valid key',
    (key) => {
      expect(secretKeyError(key)).toMatch(/not a valid file name in \/run\/secrets/);
    },
  );
});

describe('stripOneNewline', () => {
  it.each([
    ['s3cret\n', 's3cret'],
    ['s3cret\r\n', 's3cret'],
    ['s3cret\n\n', 's3cret\n'],
    ['s3cret', 's3cret'],
    ['line1\nline2\n', 'line1\nline2'],
    ['s3cret ', 's3cret '],
    ['\n', ''],
  ])('%j -> %j', (text, want) => {
    expect(stripOneNewline(text)).toBe(want);
  });
});
