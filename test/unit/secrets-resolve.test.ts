// env:// and file:// against the real environment object and real files in a temp workspace.
import {execFileSync, spawn} from 'node:child_process';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {MAX_SECRET_FILE_BYTES} from '../../src/secrets/providers.js';
import {resolveSecrets, type SecretRequest, type SecretResult} from '../../src/secrets/resolve.js';

let root: string; // holds the workspace and files "outside" it
let ws: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'orx-secrets-'));
  ws = path.join(root, 'ws');
  mkdirSync(ws);
});

afterEach(() => {
  rmSync(root, {recursive: true, force: true});
});

function secretFile(file: string, content: string, mode = 0o600): string {
  mkdirSync(path.dirname(file), {recursive: true});
  writeFileSync(file, content);
  chmodSync(file, mode); // explicit: the umask must not decide what the test checks
  return file;
}

async function one(ref: string, env: NodeJS.ProcessEnv = {}): Promise<SecretResult> {
  const [r] = await resolveSecrets([{address: 'agent.x', key: 'DB_PASSWORD', ref}], {dir: ws, env, version: '0.0.0-test'});
  return r;
}

describe('env://', () => {
  it('reads the variable from the environment it is given', async () => {
    expect(await one('env://DB_PASSWORD', {DB_PASSWORD: 'pg-s3cret-value'})).toEqual({
      address: 'agent.x',
      key: 'DB_PASSWORD',
      ref: 'env://DB_PASSWORD',
      provider: 'env',
      ok: true,
      value: 'pg-s3cret-value',
    });
  });

  it('takes the value verbatim: no newline stripping, no trimming', async () => {
    expect((await one('env://K', {K: ' spaced s3cret\n'})).value).toBe(' spaced s3cret\n');
  });

  it('defaults to process.env', async () => {
    process.env.ORX_TEST_SECRET_DEFAULT_ENV = 'from-process-env';
    try {
      const [r] = await resolveSecrets([{address: 'agent.x', key: 'K', ref: 'env://ORX_TEST_SECRET_DEFAULT_ENV'}], {dir: ws, version: '0'});
      expect(r.value).toBe('from-process-env');
    } finally {
      delete process.env.ORX_TEST_SECRET_DEFAULT_ENV;
    }
  });

  it('a missing variable names the variable, the key and the agent, and says how to set it', async () => {
    const r = await one('env://DB_PASSWORD', {OTHER: 'x'});
    expect(r.ok).toBe(false);
    expect(r.value).toBeUndefined();
    expect(r.error).toMatch(/^agent\.x secret DB_PASSWORD: env:\/\/DB_PASSWORD is not set in the environment/);
    expect(r.error).toMatch(/export DB_PASSWORD/);
    expect(r.error).toMatch(/direnv/);
  });

  it('a malformed name is a syntax error, not a lookup', async () => {
    const r = await one('env://1BAD', {'1BAD': 'would-be-value'});
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/agent\.x secret DB_PASSWORD: env:\/\/1BAD: "1BAD" is not an environment variable name/);
  });
});

describe('file://', () => {
  it('reads a 0600 file relative to the workspace and strips exactly one trailing newline', async () => {
    secretFile(path.join(ws, 'secrets/db.txt'), 'file-s3cret\n');
    expect(await one('file://secrets/db.txt')).toMatchObject({ok: true, provider: 'file', value: 'file-s3cret'});
  });

  it.each([
    ['crlf\r\n', 'crlf'],
    ['two-newlines\n\n', 'two-newlines\n'],
    ['no-newline', 'no-newline'],
    ['multi\nline\nkey\n', 'multi\nline\nkey'],
  ])('content %j -> %j', async (content, want) => {
    secretFile(path.join(ws, 'f'), content);
    expect((await one('file://f')).value).toBe(want);
  });

  it('./ paths and a symlink that stays inside the workspace are fine', async () => {
    secretFile(path.join(ws, 'real/db.txt'), 'inside-value');
    symlinkSync(path.join(ws, 'real/db.txt'), path.join(ws, 'link.txt'));
    expect((await one('file://./real/db.txt')).value).toBe('inside-value');
    expect((await one('file://link.txt')).value).toBe('inside-value');
  });

  it('an absolute path may point anywhere', async () => {
    const outside = secretFile(path.join(root, 'elsewhere/db.txt'), 'absolute-value\n');
    expect(await one(`file://${outside}`)).toMatchObject({ok: true, value: 'absolute-value'});
  });

  it.each(['0644', '0640', '0604', '0666', '0620', '0602', '0622'])(
    'a file with mode %s (group or world readable or writable) is refused with chmod 600 as the fix',
    async (octal) => {
      const mode = parseInt(octal, 8);
      const file = secretFile(path.join(ws, 'db.txt'), 'leaky-s3cret', mode);
      const r = await one('file://db.txt');
      expect(r.ok).toBe(false);
      expect(r.value).toBeUndefined();
      expect(r.error).toContain(`agent.x secret DB_PASSWORD: file://db.txt is readable or writable by group or others (mode ${octal})`);
      expect(r.error).toContain(`chmod 600 ${file}`);
      expect(r.error).not.toContain('leaky-s3cret');
    },
  );

  it.each(['0400', '0600', '0700'])('mode %s (the owner only) is accepted', async (octal) => {
    secretFile(path.join(ws, 'db.txt'), 'owner-only', parseInt(octal, 8));
    expect((await one('file://db.txt')).value).toBe('owner-only');
  });

  it('a relative path that leaves the workspace through .. is refused, even though the file exists', async () => {
    secretFile(path.join(root, 'outside.txt'), 'outside-s3cret');
    const r = await one('file://../outside.txt');
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/file:\/\/\.\.\/outside\.txt resolves outside the workspace/);
    expect(r.error).not.toContain('outside-s3cret');
  });

  it('.. that comes back inside is fine', async () => {
    secretFile(path.join(ws, 'a/db.txt'), 'roundtrip');
    expect((await one('file://a/../a/db.txt')).value).toBe('roundtrip');
  });

  it('a relative path that leaves the workspace through a symbolic link is refused', async () => {
    const target = secretFile(path.join(root, 'outside.txt'), 'linked-s3cret');
    symlinkSync(target, path.join(ws, 'escape.txt'));
    mkdirSync(path.join(ws, 'sub'));
    symlinkSync(root, path.join(ws, 'sub/up'));
    for (const ref of ['file://escape.txt', 'file://sub/up/outside.txt']) {
      const r = await one(ref);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/leads outside the workspace through a symbolic link/);
      expect(r.error).not.toContain('linked-s3cret');
    }
  });

  it('a missing file is a clear error', async () => {
    const r = await one('file://nope/db.txt');
    expect(r.ok).toBe(false);
    expect(r.error).toBe(
      `agent.x secret DB_PASSWORD: file://nope/db.txt names a file that does not exist (${path.join(ws, 'nope/db.txt')})`,
    );
  });

  it('a dangling symlink is reported as missing', async () => {
    symlinkSync(path.join(ws, 'gone'), path.join(ws, 'dangling'));
    expect((await one('file://dangling')).error).toMatch(/does not exist/);
  });

  it('a directory is not a secret file', async () => {
    mkdirSync(path.join(ws, 'dir'), {mode: 0o700});
    expect((await one('file://dir')).error).toMatch(/is not a regular file/);
  });

  it.skipIf(process.platform === 'win32')('a FIFO is refused without hanging', async () => {
    const fifo = path.join(ws, 'pipe');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    expect((await one('file://pipe')).error).toMatch(/is not a regular file/);
  });

  it('an empty path is a syntax error', async () => {
    expect((await one('file://')).error).toMatch(/file path is empty/);
  });
});

describe("file:// never reaches orx's own secrets or the kernel", () => {
  /** `value`: what the file holds, which the message must not contain (null: nothing distinctive to look for) */
  const refused = async (
    ref: string,
    value: string | null,
    re: RegExp,
    opts: {protect?: Array<{path: string; what: string}>} = {},
  ): Promise<void> => {
    const [r] = await resolveSecrets([{address: 'agent.x', key: 'K', ref}], {dir: ws, env: {}, version: '0', ...opts});
    expect(r.ok, `${ref} was accepted`).toBe(false);
    expect(r).not.toHaveProperty('value');
    expect(r.error).toMatch(re);
    if (value !== null) expect(r.error).not.toContain(value);
  };

  it('.orx/ (keys, ledger) by any spelling, and through a symbolic link inside the workspace or from anywhere', async () => {
    const key = secretFile(path.join(ws, '.orx/keys/signing.key'), 'PRIVATE-KEY-canary-1');
    secretFile(path.join(ws, '.orx/ledger.db'), 'LEDGER-canary-2');
    symlinkSync(path.join(ws, '.orx/keys'), path.join(ws, 'keys'));
    symlinkSync(key, path.join(root, 'innocent'));
    for (const ref of [
      'file://.orx/keys/signing.key',
      'file://./sub/../.orx/ledger.db',
      `file://${key}`,
      'file://keys/signing.key',
      `file://${path.join(root, 'innocent')}`,
    ]) {
      await refused(ref, 'canary', /inside an orx state directory/);
    }
  });

  it('/proc, /sys and /dev, named or reached through a link; /proc/self/pagemap fails at once instead of reading', async () => {
    symlinkSync('/proc/self/environ', path.join(root, 'env-link'));
    symlinkSync('/proc/self', path.join(ws, 'self'));
    const t0 = Date.now();
    await refused('file:///proc/self/environ', 'PATH=', /is under \/proc/);
    await refused(`file://${path.join(root, 'env-link')}`, 'PATH=', /is under \/proc/);
    await refused('file://self/environ', 'PATH=', /leads outside the workspace/);
    await refused('file:///proc/self/pagemap', null, /is under \/proc/);
    await refused('file:///sys/kernel/mm/transparent_hugepage/enabled', null, /is under \/sys/);
    await refused('file:///dev/zero', null, /is under \/dev/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a FIFO is refused at once, not waited on', async () => {
    execFileSync('mkfifo', ['-m', '600', path.join(ws, 'fifo')]);
    const t0 = Date.now();
    await refused('file://fifo', null, /is not a regular file/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a file with a second name (hard link) is refused: it could be the signing key under another name', async () => {
    const file = secretFile(path.join(ws, 'a.txt'), 'two-names-canary');
    linkSync(file, path.join(ws, 'b.txt'));
    await refused('file://b.txt', 'two-names-canary', /has 2 names \(hard links\)/);
  });

  it('the signing key kept outside .orx/ is refused by identity, whatever path names it', async () => {
    const key = secretFile(path.join(root, 'ci/signing.pem'), 'CI-KEY-canary');
    symlinkSync(key, path.join(root, 'other-name'));
    for (const ref of [`file://${key}`, `file://${path.join(root, 'other-name')}`]) {
      await refused(ref, 'CI-KEY-canary', /is the workspace signing key \(signing\.key\), which orx never hands out/, {
        protect: [{path: key, what: 'the workspace signing key (signing.key)'}],
      });
    }
  });

  it('reads at most the size limit plus one byte, whatever the file claims', async () => {
    const big = secretFile(path.join(ws, 'big'), '');
    truncateSync(big, 10 * 1024 ** 3); // 10 GiB, sparse
    const t0 = Date.now();
    await refused('file://big', null, /holds more than a secret file may/);
    expect(Date.now() - t0).toBeLessThan(1000);
    secretFile(path.join(ws, 'exact'), 'k'.repeat(MAX_SECRET_FILE_BYTES));
    expect((await one('file://exact')).value).toHaveLength(MAX_SECRET_FILE_BYTES);
    secretFile(path.join(ws, 'over'), 'k'.repeat(MAX_SECRET_FILE_BYTES + 1));
    await refused('file://over', 'kkkk', /holds more than a secret file may/);
  });

  // Another account that can write a directory on the path swaps it for a symbolic link while
  // orx resolves: the descriptor orx opened is checked, not the path, so it never gets the
  // file the link leads to. The swapping runs in a separate process (a real race, two cores).
  it('a directory swapped for a symbolic link in a loop never yields the file the link leads to', async () => {
    secretFile(path.join(ws, 'd/secret'), 'inside-value');
    secretFile(path.join(root, 'outside/secret'), 'OUTSIDE-canary');
    secretFile(path.join(ws, '.orx/keys/secret'), 'STATE-canary');
    symlinkSync(path.join(root, 'outside'), path.join(ws, 'd-rel'));
    symlinkSync(path.join(ws, '.orx/keys'), path.join(ws, 'd-abs'));
    const stop = path.join(root, 'stop');
    const counter = path.join(root, 'swaps');
    // swaps d with each link in turn: d -> d.real, link -> d, d -> link, d.real -> d
    const script = `
      const fs = require('node:fs'); const [ws, stop, counter] = process.argv.slice(1);
      const j = (n) => ws + '/' + n; let n = 0; const t0 = Date.now();
      const mv = (a, b) => { try { fs.renameSync(j(a), j(b)); } catch {} };
      while (n < 2e6 && Date.now() - t0 < 30000 && !fs.existsSync(stop)) {
        const link = n % 2 ? 'd-rel' : 'd-abs';
        mv('d', 'd.real'); mv(link, 'd'); mv('d', link); mv('d.real', 'd'); n++;
        if (n % 500 === 0) fs.writeFileSync(counter, String(n));
      }
      fs.writeFileSync(counter, String(n));`;
    const child = spawn(process.execPath, ['-e', script, ws, stop, counter], {stdio: 'ignore'});
    const exited = new Promise((r) => child.on('exit', r));
    const seen = {inside: 0, refused: 0, leaked: 0};
    try {
      const t0 = Date.now();
      for (let i = 0; i < 4000 && Date.now() - t0 < 15_000; i++) {
        const [rel, abs] = await resolveSecrets(
          [
            {address: 'agent.x', key: 'REL', ref: 'file://d/secret'},
            {address: 'agent.x', key: 'ABS', ref: `file://${path.join(ws, 'd/secret')}`},
          ],
          {dir: ws, env: {}, version: '0'},
        );
        // an absolute path may lead anywhere but into .orx/; a relative one only inside the workspace
        for (const [r, allowed] of [
          [rel, ['inside-value']],
          [abs, ['inside-value', 'OUTSIDE-canary']],
        ] as const) {
          if (!r.ok) seen.refused++;
          else if ((allowed as readonly string[]).includes(r.value!)) seen.inside++;
          else seen.leaked++;
        }
      }
    } finally {
      writeFileSync(stop, '');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill();
    }
    const swaps = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 0;
    expect(seen.leaked, JSON.stringify({...seen, swaps})).toBe(0);
    // the race really ran: the swapper swapped, and both outcomes happened
    expect(swaps).toBeGreaterThan(100);
    expect(seen.inside).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  }, 30_000);
});

describe('every provider', () => {
  it('a value shorter than 4 characters is refused as a secret, with no value in the result', async () => {
    secretFile(path.join(ws, 'short'), 'x9!\n');
    const results = await resolveSecrets(
      [
        {address: 'agent.a', key: 'PIN', ref: 'env://PIN'},
        {address: 'agent.a', key: 'EMPTY', ref: 'env://EMPTY'},
        {address: 'agent.b', key: 'SHORT', ref: 'file://short'},
        {address: 'agent.b', key: 'FOUR', ref: 'env://FOUR'},
      ],
      {dir: ws, env: {PIN: '123', EMPTY: '', FOUR: 'abcd'}, version: '0'},
    );
    expect(results.map((r) => r.ok)).toEqual([false, false, false, true]);
    expect(results[0].error).toBe(
      'agent.a secret PIN: env://PIN resolves to fewer than 4 characters; orx refuses it as a secret because redacting it would redact too much',
    );
    expect(results[2].error).toMatch(/^agent\.b secret SHORT: file:\/\/short resolves to fewer than 4 characters/);
    for (const r of results.slice(0, 3)) expect(r).not.toHaveProperty('value');
    expect(results[3].value).toBe('abcd');
  });

  it('a literal is refused without repeating it', async () => {
    const [plain, scheme] = await resolveSecrets(
      [
        {address: 'agent.a', key: 'K', ref: 'hunter2-literal-password'},
        {address: 'agent.a', key: 'L', ref: 'vault://team/hunter3-in-a-uri'},
      ],
      {dir: ws, env: {}, version: '0'},
    );
    expect(plain).toMatchObject({provider: null, ok: false});
    expect(plain.error).toMatch(/^agent\.a secret K: is not a secret reference \(the value is not shown\); write where the secret lives/);
    expect(plain.error).not.toContain('hunter2');
    expect(scheme.error).toMatch(/"vault:\/\/" is not a secret provider/);
    expect(scheme.error).not.toContain('hunter3');
  });

  it('results come back in request order, duplicates included, and an empty request list is fine', async () => {
    secretFile(path.join(ws, 'f'), 'file-value');
    const reqs: SecretRequest[] = [
      {address: 'agent.b', key: 'F', ref: 'file://f'},
      {address: 'agent.a', key: 'E', ref: 'env://E'},
      {address: 'agent.c', key: 'F', ref: 'file://f'},
    ];
    const results = await resolveSecrets(reqs, {dir: ws, env: {E: 'env-value'}, version: '0'});
    expect(results.map((r) => [r.address, r.key, r.value])).toEqual([
      ['agent.b', 'F', 'file-value'],
      ['agent.a', 'E', 'env-value'],
      ['agent.c', 'F', 'file-value'],
    ]);
    expect(await resolveSecrets([], {dir: ws, version: '0'})).toEqual([]);
  });

  it('no error message of a mixed call contains any value the call saw', async () => {
    const values = ['alpha-s3cret-1', 'bravo-s3cret-2', 'charlie-s3cret-3', 'delta-s3cret-4', 'echo-s3cret-5'];
    secretFile(path.join(ws, 'ok.txt'), `${values[0]}\n`);
    secretFile(path.join(ws, 'open.txt'), `${values[1]}\n`, 0o644);
    secretFile(path.join(root, 'out.txt'), `${values[2]}\n`);
    symlinkSync(path.join(root, 'out.txt'), path.join(ws, 'out-link'));
    const results = await resolveSecrets(
      [
        {address: 'agent.a', key: 'OK', ref: 'file://ok.txt'},
        {address: 'agent.a', key: 'OPEN', ref: 'file://open.txt'},
        {address: 'agent.a', key: 'UP', ref: 'file://../out.txt'},
        {address: 'agent.a', key: 'LINK', ref: 'file://out-link'},
        {address: 'agent.b', key: 'ENV', ref: 'env://GOOD'},
        {address: 'agent.b', key: 'MISSING', ref: 'env://MISSING'},
        {address: 'agent.b', key: 'LITERAL', ref: values[4]},
        {address: 'agent.b', key: 'OP', ref: 'op://vault/item/field'},
      ],
      {dir: ws, env: {GOOD: values[3]}, version: '0'},
    );
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, true, false, false, false]);
    const failed = results.filter((r) => !r.ok);
    for (const r of failed) expect(r).not.toHaveProperty('value');
    // `ref` is the caller's own request echoed back (for the literal it is that literal); errors are what gets shown
    const errors = failed.map((r) => r.error).join('\n');
    for (const v of values) expect(errors).not.toContain(v);
    for (const r of results) if (!r.ok) expect(r.error).toMatch(new RegExp(`^agent\\.[ab] secret ${r.key}: `));
  });
});
