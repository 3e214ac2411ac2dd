// Where secret values are written: only a RAM-backed filesystem, one directory per agent,
// files 0400 owned by the agent's uid, replaced atomically, and removed whole.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {
  agentSecretsDir,
  assertRamBacked,
  ensureSecretsRoot,
  isAgentSecretsDir,
  removeSecretFiles,
  removeWorkspaceSecrets,
  secretsOwner,
  secretsRoot,
  writeSecretFiles,
} from '../../src/secrets/delivery.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

function shmRoot(): string {
  const root = fs.mkdtempSync('/dev/shm/orx-delivery-test-');
  made.push(root);
  return path.join(root, 'orchestrix');
}

describe('secrets delivery', () => {
  it('lives under $XDG_RUNTIME_DIR when set, else /dev/shm, in a directory per workspace path and agent', () => {
    expect(secretsRoot({XDG_RUNTIME_DIR: '/run/user/1000'})).toBe('/run/user/1000/orchestrix');
    expect(secretsRoot({})).toBe('/dev/shm/orchestrix');
    expect(secretsRoot({XDG_RUNTIME_DIR: 'relative'})).toBe('/dev/shm/orchestrix');
    const a = agentSecretsDir('/r', '/home/me/lab', 'lab', 'orx-lab-x');
    expect(a).toMatch(/^\/r\/lab-[0-9a-f]{8}\/orx-lab-x$/);
    expect(agentSecretsDir('/r', '/home/me/other/lab', 'lab', 'orx-lab-x')).not.toBe(a);
  });

  it('refuses a directory that is not on tmpfs', () => {
    const disk = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-delivery-disk-'));
    made.push(disk);
    if (fs.statfsSync(disk).type === 0x01021994) return; // the checkout itself is on tmpfs here: nothing to refuse
    expect(() => assertRamBacked(disk)).toThrow(/is not on a tmpfs/);
    expect(() => writeSecretFiles(path.join(disk, 'orchestrix', 'ws-1', 'agent'), {K: 'value'}, {uid: 0, gid: 0})).toThrow(
      /not on a tmpfs/,
    );
    expect(fs.existsSync(path.join(disk, 'orchestrix', 'ws-1'))).toBe(false);
  });

  it('writes 0400 files owned by the agent, keeps exactly the current set, and removes the directory whole', () => {
    const root = shmRoot();
    const dir = agentSecretsDir(root, '/ws', 'lab', 'orx-lab-a');
    const self = {uid: process.getuid!(), gid: process.getgid!()};
    const owner = self.uid === 0 ? {uid: 1000, gid: 1000} : self;
    writeSecretFiles(dir, {API_KEY: 'first-value', OLD: 'going-away'}, owner);
    writeSecretFiles(dir, {API_KEY: 'second-value', 'orx-token': 'tok.en.value'}, owner);
    expect(fs.readdirSync(dir).sort()).toEqual(['API_KEY', 'orx-token']);
    expect(fs.readFileSync(path.join(dir, 'API_KEY'), 'utf8')).toBe('second-value');
    for (const f of ['API_KEY', 'orx-token']) {
      const st = fs.statSync(path.join(dir, f));
      expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o400, owner.uid, owner.gid]);
    }
    const d = fs.statSync(dir);
    expect([d.mode & 0o777, d.uid]).toEqual([0o500, owner.uid]);
    // the directories above the agent's are orx's alone: the agent's uid on the host cannot reach it
    for (const up of [path.dirname(dir), root]) {
      const st = fs.lstatSync(up);
      expect([st.mode & 0o777, st.uid]).toEqual([0o700, self.uid]);
    }
    removeSecretFiles(dir);
    expect(fs.existsSync(dir)).toBe(false);
    removeSecretFiles(dir); // gone already: nothing to do
  });

  it('halt removes every agent directory of the workspace, found by name or by path digest alone', () => {
    const root = shmRoot();
    const owner = {uid: process.getuid!(), gid: process.getgid!()};
    for (const n of ['orx-lab-a', 'orx-lab-b']) writeSecretFiles(agentSecretsDir(root, '/ws/lab', 'lab', n), {K: 'value-1234'}, owner);
    writeSecretFiles(agentSecretsDir(root, '/ws/other', 'other', 'orx-other-a'), {K: 'value-1234'}, owner);
    expect(removeWorkspaceSecrets(root, '/ws/lab', null)).toHaveLength(2);
    expect(fs.readdirSync(root)).toEqual([path.basename(path.dirname(agentSecretsDir(root, '/ws/other', 'other', 'x')))]);
    expect(removeWorkspaceSecrets(root, '/ws/other', 'other')).toHaveLength(1);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('the root must be a real directory of the user running orx: a planted link or a foreign directory is refused and left as it is', () => {
    const root = shmRoot();
    const elsewhere = path.join(path.dirname(root), 'elsewhere');
    fs.mkdirSync(elsewhere, {mode: 0o755});
    fs.chmodSync(elsewhere, 0o755);
    fs.symlinkSync(elsewhere, root);
    const dir = agentSecretsDir(root, '/ws', 'lab', 'orx-lab-a');
    expect(() => writeSecretFiles(dir, {K: 'value-1234'}, {uid: process.getuid!(), gid: process.getgid!()})).toThrow(
      /the secrets directory .*orchestrix is a symbolic link \(to .*elsewhere\), perhaps planted by another account; orx will not deliver secrets through it/,
    );
    expect(fs.statSync(elsewhere).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    // removal and halt do not follow it either
    fs.mkdirSync(path.join(elsewhere, path.basename(path.dirname(dir)), 'orx-lab-a'), {recursive: true});
    removeSecretFiles(dir);
    expect(removeWorkspaceSecrets(root, '/ws', 'lab')).toEqual([]);
    expect(fs.existsSync(path.join(elsewhere, path.basename(path.dirname(dir)), 'orx-lab-a'))).toBe(true);
    fs.rmSync(root);
    fs.writeFileSync(root, '');
    expect(() => ensureSecretsRoot(root)).toThrow(/is not a directory/);
    fs.rmSync(root);
    if (process.getuid!() === 0) {
      fs.mkdirSync(root, {mode: 0o711});
      fs.chownSync(root, 4242, 4242);
      expect(() => ensureSecretsRoot(root)).toThrow(/is owned by uid 4242, not by uid 0 that runs orx/);
      expect(fs.statSync(root).mode & 0o777).toBe(0o711);
      fs.rmdirSync(root);
    }
    // absent: created 0700; an own root left 0711 by an older orx is tightened
    ensureSecretsRoot(root);
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    fs.chmodSync(root, 0o711);
    ensureSecretsRoot(root);
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
  });

  it('a directory from an earlier root is recognised only by its exact shape', () => {
    const dir = agentSecretsDir('/run/user/1000/orchestrix', '/ws/lab', 'lab', 'orx-lab-a');
    expect(isAgentSecretsDir(dir, '/ws/lab', 'lab', 'orx-lab-a')).toBe(true);
    expect(isAgentSecretsDir(agentSecretsDir('/dev/shm/orchestrix', '/ws/lab', 'lab', 'orx-lab-a'), '/ws/lab', 'lab', 'orx-lab-a')).toBe(
      true,
    );
    expect(isAgentSecretsDir(dir, '/ws/lab', 'lab', 'orx-lab-b')).toBe(false);
    expect(isAgentSecretsDir(dir, '/ws/other', 'lab', 'orx-lab-a')).toBe(false);
    expect(isAgentSecretsDir(agentSecretsDir('/home/me', '/ws/lab', 'lab', 'orx-lab-a'), '/ws/lab', 'lab', 'orx-lab-a')).toBe(false);
    expect(isAgentSecretsDir(`${path.dirname(dir)}/x/../orx-lab-a`, '/ws/lab', 'lab', 'orx-lab-a')).toBe(false);
    expect(isAgentSecretsDir('relative/orchestrix/x/orx-lab-a', '/ws/lab', 'lab', 'orx-lab-a')).toBe(false);
  });

  it('owner: numeric user, root for an image without USER, and a clear refusal for names', () => {
    expect(secretsOwner('agent.a', '1000:1001')).toEqual({uid: 1000, gid: 1001});
    expect(secretsOwner('agent.a', '')).toEqual({uid: 0, gid: 0});
    expect(() => secretsOwner('agent.a', 'nobody')).toThrow(
      /agent\.a: orx cannot tell which uid the agent runs as \(user "nobody" is not numeric\)/,
    );
  });
});
