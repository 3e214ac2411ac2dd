// checkFileSecret (what validate and plan use) refuses exactly the files readFileSecret (what
// apply uses) refuses, for the same reasons, without opening them.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {checkFileSecret, readFileSecret} from '../../src/secrets/providers.js';

let dir: string;
let outside: string;
beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orx-filecheck-')));
  outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orx-filecheck-out-')));
  const put = (name: string, mode: number) => {
    fs.mkdirSync(path.dirname(path.join(dir, name)), {recursive: true});
    fs.writeFileSync(path.join(dir, name), 'a-secret-value-0123456789\n');
    fs.chmodSync(path.join(dir, name), mode);
  };
  put('ok.key', 0o600);
  put('group.key', 0o640);
  put('world.key', 0o604);
  put('linked.key', 0o600);
  fs.linkSync(path.join(dir, 'linked.key'), path.join(dir, 'linked-twice.key'));
  fs.mkdirSync(path.join(dir, 'adir'));
  execFileSync('mkfifo', ['-m', '600', path.join(dir, 'pipe')]);
  fs.writeFileSync(path.join(outside, 'far.key'), 'x', {mode: 0o600});
  fs.symlinkSync(path.join(outside, 'far.key'), path.join(dir, 'escape.key'));
  fs.symlinkSync('ok.key', path.join(dir, 'alias.key'));
  fs.mkdirSync(path.join(dir, '.orx/keys'), {recursive: true});
  fs.writeFileSync(path.join(dir, '.orx/keys/signing.key'), 'k', {mode: 0o600});
});
afterAll(() => {
  fs.rmSync(dir, {recursive: true, force: true});
  fs.rmSync(outside, {recursive: true, force: true});
});

const CASES: Array<[string, RegExp | null]> = [
  ['ok.key', null],
  ['alias.key', null],
  ['missing.key', /names a file that does not exist/],
  ['group.key', /readable or writable by group or others \(mode 0640\).*chmod 600 /],
  ['world.key', /mode 0604/],
  ['linked.key', /has 2 names \(hard links\)/],
  ['adir', /is not a regular file/],
  ['pipe', /is not a regular file/],
  ['escape.key', /leads outside the workspace through a symbolic link/],
  ['../x.key', /resolves outside the workspace/],
  ['.orx/keys/signing.key', /inside an orx state directory/],
  ['/proc/self/environ', /is under \/proc/],
];

describe('checkFileSecret', () => {
  it.each(CASES)('%s: the same verdict and reason as the read at apply', async (target, reason) => {
    const [checked, read] = await Promise.all([checkFileSecret(target, dir), readFileSecret(target, dir)]);
    expect(checked.ok, JSON.stringify(checked)).toBe(reason === null);
    expect(read.ok).toBe(reason === null);
    if (reason) {
      expect(!checked.ok && checked.reason).toMatch(reason);
      expect(!checked.ok && !read.ok && checked.reason).toBe(!read.ok && read.reason);
    }
  });

  it('refuses a protected file under another name, as the read does', async () => {
    const protect = [{path: path.join(dir, 'ok.key'), what: 'the workspace signing key (signing.key)'}];
    const r = await checkFileSecret('alias.key', dir, {protect});
    expect(r).toEqual({ok: false, reason: 'is the workspace signing key (signing.key), which orx never hands out'});
  });

  it.skipIf(process.getuid?.() === 0)('says when orx may not read a file it did not open (owner without read permission)', async () => {
    fs.writeFileSync(path.join(dir, 'writeonly.key'), 'x');
    fs.chmodSync(path.join(dir, 'writeonly.key'), 0o200);
    expect(await checkFileSecret('writeonly.key', dir)).toEqual({
      ok: false,
      reason: `cannot be read: permission denied (${path.join(dir, 'writeonly.key')})`,
    });
  });
});
