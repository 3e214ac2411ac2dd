// `orx init`, `orx validate` and `orx secrets check` in-process (src/app/init.ts, validate.ts),
// on real directories; secret references resolve from this process's environment and files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {initWorkspace} from '../../src/app/init.js';
import {checkWorkspaceSecrets, validateWorkspace} from '../../src/app/validate.js';
import {loadConfig} from '../../src/config/load.js';
import {OrxError} from '../../src/errors.js';
import {setColor} from '../../src/ui/color.js';
import {renderSecretChecks} from '../../src/ui/secrets-view.js';
import {context} from '../helpers/engine.js';

setColor(false);

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-app-init-'));
});
afterEach(() => {
  delete process.env.ORX_COV_SECRET;
  fs.rmSync(root, {recursive: true, force: true});
});

const AGENT_WITH_SECRETS = (secrets: string) => `workspace: sec
images:
  base:
    build: {context: images/agent-base}
agents:
  worker:
    image: base
    user: "1000:1000"
    command: ["/bin/sh"]
    secrets:
${secrets}
`;

function write(dir: string, yaml: string): void {
  fs.mkdirSync(path.join(dir, 'images/agent-base'), {recursive: true});
  fs.writeFileSync(path.join(dir, 'images/agent-base/Dockerfile'), 'FROM scratch\n');
  fs.writeFileSync(path.join(dir, 'orchestration.yml'), yaml);
}

describe('init', () => {
  it('scaffolds a workspace named after its directory that validates, and never overwrites one', async () => {
    const dir = path.join(root, 'My Lab!! 2');
    const made = initWorkspace(dir);
    expect(made.dir).toBe(dir);
    expect(made.created).toEqual(
      expect.arrayContaining([
        'orchestration.yml',
        '.gitignore',
        '.envrc.example',
        'policies/example.yaml',
        'policies/tests/example_test.yaml',
        'plans/.gitkeep',
        'templates/images/agent-base/Dockerfile',
      ]),
    );
    expect(fs.statSync(path.join(dir, '.orx')).mode & 0o777).toBe(0o700);
    const yaml = fs.readFileSync(path.join(dir, 'orchestration.yml'), 'utf8');
    expect(yaml).toMatch(/^workspace: my-lab-2$/m);
    expect(yaml).not.toContain('__SCHEMA__');
    expect(yaml).toMatch(/^# yaml-language-server: \$schema=\S+orchestration\.schema\.json$/m);
    const policy = fs.readFileSync(path.join(dir, 'policies/example.yaml'), 'utf8');
    expect(policy).toMatch(/^# yaml-language-server: \$schema=\S*policy\.schema\.json$/m);
    // a static busybox makes the starter image; without one, init says how to get it
    if (made.created.includes('templates/images/agent-base/busybox')) {
      expect(fs.statSync(path.join(dir, 'templates/images/agent-base/busybox')).mode & 0o111).not.toBe(0);
      expect(made.notes).toEqual([]);
    } else expect(made.notes[0]).toContain('static busybox');

    const v = await validateWorkspace(context(dir));
    expect(v).toEqual({
      valid: true,
      workspace: 'my-lab-2',
      counts: {networks: 1, volumes: 1, images: 1, agents: 1},
      diagnostics: [],
      warnings: [],
    });

    let err: unknown;
    try {
      initWorkspace(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OrxError);
    expect((err as OrxError).code).toBe('already_initialised');
  });

  it('keeps files that are already there and names a nameless directory "workspace"', () => {
    const dir = path.join(root, '___');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '.gitignore'), 'mine\n');
    const made = initWorkspace(dir);
    expect(made.created).not.toContain('.gitignore');
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('mine\n');
    expect(loadConfig(dir).config.workspace).toBe('workspace');
  });
});

describe('validate and secrets check', () => {
  it('refuses a reference whose syntax is wrong, at its key, without resolving anything', async () => {
    write(root, AGENT_WITH_SECRETS('      A: env://1NOT_A_NAME\n      B: file://'));
    let err: unknown;
    try {
      await validateWorkspace(context(root));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OrxError);
    const e = err as OrxError;
    expect(e.code).toBe('config_invalid');
    const messages = e.diagnostics.map((d) => d.message).join('\n');
    expect(messages).toContain('agents.worker.secrets.A');
    expect(messages).toContain('is not an environment variable name');
    expect(messages).toContain('agents.worker.secrets.B');
    expect(messages).toContain('the file path is empty');
  });

  it('resolves every reference once and reports each, never a value', async () => {
    write(
      root,
      AGENT_WITH_SECRETS('      TOKEN: env://ORX_COV_SECRET\n      KEY: file://certs/agent.key\n      GONE: file://certs/missing.key'),
    );
    fs.mkdirSync(path.join(root, 'certs'));
    fs.writeFileSync(path.join(root, 'certs/agent.key'), 'file-secret-value', {mode: 0o600});
    process.env.ORX_COV_SECRET = 'env-secret-value-123';
    // validate looks at file:// references (without reading them): the missing one is its error
    const refused = await validateWorkspace(context(root)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(OrxError);
    expect((refused as OrxError).diagnostics.map((d) => d.message)).toEqual([
      expect.stringMatching(/^agents\.worker\.secrets\.GONE: file:\/\/certs\/missing\.key names a file that does not exist/),
    ]);

    const r = await checkWorkspaceSecrets(context(root));
    expect(r.ok).toBe(false);
    expect(r.checked).toBe(3);
    expect(r.failed).toBe(1);
    const byKey = Object.fromEntries(r.secrets.map((s) => [s.key, s]));
    expect(byKey.TOKEN).toMatchObject({
      reference: 'env://ORX_COV_SECRET',
      address: 'agent.worker',
      provider: 'env',
      status: 'ok',
      error: null,
    });
    expect(byKey.KEY).toMatchObject({provider: 'file', status: 'ok'});
    expect(byKey.GONE.status).toBe('error');
    expect(byKey.GONE.error).toMatch(/\S/);
    expect(JSON.stringify(r)).not.toContain('env-secret-value-123');
    expect(JSON.stringify(r)).not.toContain('file-secret-value');

    const text = renderSecretChecks(r.secrets);
    expect(text.split('\n')[0]).toMatch(/^REFERENCE\s+AGENT\s+SECRET\s+PROVIDER\s+STATUS$/);
    expect(text).toMatch(/env:\/\/ORX_COV_SECRET\s+agent\.worker\s+TOKEN\s+env\s+ok/);
    expect(text).toContain(`  agent.worker GONE: ${byKey.GONE.error}`);
    expect(text.split('\n').at(-1)).toBe('1 of 3 references failed.');

    delete process.env.ORX_COV_SECRET;
    fs.rmSync(path.join(root, 'certs/missing.key'), {force: true});
    const unset = await checkWorkspaceSecrets(context(root));
    expect(unset.secrets.find((s) => s.key === 'TOKEN')!.status).toBe('error');
  });

  it('says when every reference resolves, or when there is none', async () => {
    write(root, AGENT_WITH_SECRETS('      TOKEN: env://ORX_COV_SECRET'));
    process.env.ORX_COV_SECRET = 'a-long-enough-value';
    const r = await checkWorkspaceSecrets(context(root));
    expect(r).toMatchObject({ok: true, checked: 1, failed: 0});
    expect(renderSecretChecks(r.secrets).split('\n').at(-1)).toBe('All 1 reference resolve.');
    expect(renderSecretChecks([])).toBe('No secret references in orchestration.yml.');
  });
});
