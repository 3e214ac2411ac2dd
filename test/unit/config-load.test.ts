// loadConfig against real files: missing, oversized, and build contexts that try to leave the workspace.
import {afterAll, describe, expect, it} from 'vitest';
import {createHash} from 'node:crypto';
import {chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {spawnSync} from 'node:child_process';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {loadConfig, MAX_CONFIG_BYTES} from '../../src/config/load.js';
import {OrxError} from '../../src/errors.js';
import {cpuMs} from '../helpers/cpu-time.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, {recursive: true, force: true})));

function workspace(config?: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'orx-config-load-')));
  made.push(dir);
  if (config !== undefined) writeFileSync(join(dir, 'orchestration.yml'), config);
  return dir;
}

function loadError(dir: string, file?: string): OrxError {
  try {
    loadConfig(dir, file === undefined ? {} : {file});
  } catch (err) {
    expect(err).toBeInstanceOf(OrxError);
    return err as OrxError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('loads, digests and labels the file', () => {
    const text = 'workspace: lab\nagents: {}\n';
    const dir = workspace(text);
    const loaded = loadConfig(dir);
    expect(loaded).toEqual({
      dir,
      file: join(dir, 'orchestration.yml'),
      file_digest: createHash('sha256').update(text).digest('hex'),
      config: expect.objectContaining({workspace: 'lab'}),
    });
  });

  it('accepts a UTF-8 byte order mark and digests the bytes as they are', () => {
    const dir = workspace();
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('workspace: lab\n')]);
    writeFileSync(join(dir, 'orchestration.yml'), bytes);
    const loaded = loadConfig(dir);
    expect(loaded.config.workspace).toBe('lab');
    expect(loaded.file_digest).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('takes another file, relative to the workspace, and names it that way in errors', () => {
    const dir = workspace();
    mkdirSync(join(dir, 'envs'));
    writeFileSync(join(dir, 'envs', 'prod.yml'), 'workspace: lab\nautonomy: 9\n');
    const e = loadError(dir, 'envs/prod.yml');
    expect(e.message).toBe('envs/prod.yml:2:11: autonomy must be between 0 and 3 (got 9)');
    expect(e.diagnostics[0].file).toBe('envs/prod.yml');
  });

  it('a missing file says to run orx init', () => {
    const dir = workspace();
    const e = loadError(dir);
    expect(e.code).toBe('config_missing');
    expect(e.kind).toBe('user');
    expect(e.exit).toBe(1);
    expect(e.message).toBe(`orchestration.yml not found in ${dir}`);
    expect(e.actions.join(' ')).toMatch(/orx init/);
  });

  it('a directory in place of the file is refused', () => {
    const dir = workspace();
    mkdirSync(join(dir, 'orchestration.yml'));
    const e = loadError(dir);
    expect(e.code).toBe('config_invalid');
    expect(e.message).toBe('orchestration.yml: orchestration.yml is a directory, not a file');
  });

  it('refuses a FIFO instead of blocking on it', () => {
    const dir = workspace();
    const made = spawnSync('mkfifo', [join(dir, 'orchestration.yml')]);
    if (made.status !== 0) return; // no mkfifo on this system
    const e = loadError(dir);
    expect(e.message).toBe('orchestration.yml: orchestration.yml is a FIFO (named pipe), not a regular file; orx reads only regular files');
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable file is a user error, not a crash (not as root: root reads anything)', () => {
    const dir = workspace('workspace: lab\n');
    chmodSync(join(dir, 'orchestration.yml'), 0o000);
    try {
      const e = loadError(dir);
      expect(e.code).toBe('config_unreadable');
      expect(e.message).toBe('cannot read orchestration.yml: EACCES');
    } finally {
      chmodSync(join(dir, 'orchestration.yml'), 0o644);
    }
  });

  it('a symlink loop is reported as unreadable', () => {
    const dir = workspace();
    symlinkSync('orchestration.yml', join(dir, 'orchestration.yml'));
    const e = loadError(dir);
    expect(e.code).toBe('config_unreadable');
    expect(e.kind).toBe('user');
    expect(e.message).toBe('cannot read orchestration.yml: ELOOP');
  });

  it('refuses a file over 2 MiB without parsing it', () => {
    const dir = workspace();
    // Would be a YAML syntax error if it were parsed.
    writeFileSync(join(dir, 'orchestration.yml'), `workspace: [${'x,'.repeat(MAX_CONFIG_BYTES)}`);
    const {value: e, ms} = cpuMs(() => loadError(dir));
    expect(ms).toBeLessThan(300);
    expect(e.code).toBe('config_invalid');
    expect(e.message).toMatch(/^orchestration\.yml: orchestration\.yml is too large \(\d+ bytes; at most 2097152 bytes, 2 MiB\)$/);
  });

  it('refuses a 10 MB string quickly and briefly', () => {
    const dir = workspace(
      `workspace: lab\nimages:\n  i: {ref: alpine}\nagents:\n  a:\n    image: i\n    command: "${'A'.repeat(10_000_000)}"\n`,
    );
    const {value: e, ms} = cpuMs(() => loadError(dir));
    expect(ms).toBeLessThan(300);
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).not.toMatch(/AAAA/);
    expect(e.message).toMatch(/too large/);
  });

  it('a file of exactly 2 MiB is still read', () => {
    const dir = workspace();
    const head = 'workspace: lab\n#';
    writeFileSync(join(dir, 'orchestration.yml'), head + 'x'.repeat(MAX_CONFIG_BYTES - head.length));
    expect(loadConfig(dir).config.workspace).toBe('lab');
  });

  it('refuses a relative workspace directory (it would depend on the process cwd)', () => {
    expect(() => loadConfig('some/dir')).toThrow(/must be absolute/);
  });
});

describe('build contexts', () => {
  function withImage(build: string, setup?: (dir: string) => void): {dir: string; load: () => ReturnType<typeof loadConfig>} {
    const dir = workspace(`workspace: lab\nimages:\n  x:\n    build: ${build}\n`);
    setup?.(dir);
    return {dir, load: () => loadConfig(dir)};
  }
  const ctx = (dir: string, name = 'ctx') => {
    mkdirSync(join(dir, name), {recursive: true});
    writeFileSync(join(dir, name, 'Dockerfile'), 'FROM scratch\n');
  };

  it('a context inside the workspace resolves to its real absolute path', () => {
    const {dir, load} = withImage('{context: templates/images/base}', (d) => ctx(d, 'templates/images/base'));
    expect(load().config.images.x).toEqual({
      build: {context: 'templates/images/base', context_path: join(dir, 'templates/images/base'), dockerfile: 'Dockerfile', args: {}},
    });
  });

  it('"." and an absolute path inside the workspace are fine', () => {
    const {dir, load} = withImage('{context: .}', (d) => writeFileSync(join(d, 'Dockerfile'), 'FROM scratch\n'));
    expect(load().config.images.x.build!.context_path).toBe(dir);
    const inner = workspace();
    ctx(inner);
    writeFileSync(
      join(inner, 'orchestration.yml'),
      `workspace: lab\nimages:\n  x: {build: {context: ${JSON.stringify(join(inner, 'ctx'))}}}\n`,
    );
    expect(loadConfig(inner).config.images.x.build!.context_path).toBe(join(inner, 'ctx'));
  });

  it.each(['../..', '..', 'ctx/../../elsewhere', '/etc', '/'])('refuses context %s', (context) => {
    const {dir} = withImage(`{context: ${JSON.stringify(context)}}`, (d) => ctx(d));
    const e = loadError(dir);
    expect(e.diagnostics).toHaveLength(1);
    expect(e.diagnostics[0]).toMatchObject({line: 4, col: 22, path: 'images.x.build.context'});
    expect(e.diagnostics[0].message).toBe(
      `build context escapes the workspace: images.x.build.context is ${JSON.stringify(context)}; use a directory inside the workspace`,
    );
  });

  it('refuses a symlink that leads outside the workspace', () => {
    const outside = workspace();
    ctx(outside, 'secret');
    const {dir} = withImage('{context: link}', (d) => symlinkSync(join(outside, 'secret'), join(d, 'link')));
    expect(loadError(dir).diagnostics[0].message).toBe(
      'build context escapes the workspace: images.x.build.context is "link", a symlink to a directory outside it',
    );
  });

  it('a symlink to a directory inside the workspace is fine', () => {
    const {dir, load} = withImage('{context: link}', (d) => {
      ctx(d, 'real');
      symlinkSync(join(d, 'real'), join(d, 'link'));
    });
    expect(load().config.images.x.build!.context_path).toBe(join(dir, 'real'));
  });

  it('a missing context directory, or a file, is refused', () => {
    expect(loadError(withImage('{context: nope}').dir).message).toBe(
      'orchestration.yml:4:22: build context directory "nope" does not exist (images.x.build.context)',
    );
    const {dir} = withImage('{context: file.txt}', (d) => writeFileSync(join(d, 'file.txt'), 'x'));
    expect(loadError(dir).message).toBe('orchestration.yml:4:22: build context "file.txt" is not a directory (images.x.build.context)');
  });

  it.each(['../Dockerfile', '/etc/passwd', '../../../../etc/passwd', '.'])('refuses dockerfile %s outside the context', (dockerfile) => {
    const {dir} = withImage(`{context: ctx, dockerfile: ${JSON.stringify(dockerfile)}}`, (d) => {
      ctx(d);
      writeFileSync(join(d, 'Dockerfile'), 'FROM scratch\n');
    });
    const e = loadError(dir);
    expect(e.diagnostics).toHaveLength(1);
    expect(e.diagnostics[0].path).toBe('images.x.build.dockerfile');
    expect(e.diagnostics[0].message).toMatch(/^dockerfile ".*" escapes the build context/);
  });

  it('refuses a Dockerfile symlinked out of the context, and a missing one', () => {
    const outside = workspace();
    writeFileSync(join(outside, 'Dockerfile'), 'FROM scratch\n');
    const {dir} = withImage('{context: ctx, dockerfile: Dfile}', (d) => {
      ctx(d);
      symlinkSync(join(outside, 'Dockerfile'), join(d, 'ctx', 'Dfile'));
    });
    expect(loadError(dir).diagnostics[0].message).toMatch(/^dockerfile "Dfile" escapes the build context through a symlink/);
    const missing = withImage('{context: ctx, dockerfile: docker/Dockerfile.dev}', (d) => ctx(d));
    expect(loadError(missing.dir).diagnostics[0].message).toBe(
      'dockerfile "docker/Dockerfile.dev" not found in build context "ctx" (images.x.build.dockerfile)',
    );
  });

  it('a Dockerfile in a subdirectory of the context is fine', () => {
    const {load} = withImage('{context: ctx, dockerfile: docker/Dockerfile.dev}', (d) => {
      ctx(d);
      mkdirSync(join(d, 'ctx', 'docker'));
      writeFileSync(join(d, 'ctx', 'docker', 'Dockerfile.dev'), 'FROM scratch\n');
    });
    expect(load().config.images.x.build!.dockerfile).toBe('docker/Dockerfile.dev');
  });
});
