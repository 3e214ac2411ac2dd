// Mistakes found before anything is applied, through the built CLI: file:// secrets that are
// missing or readable by others are errors at their line (validate and plan), an unset env://
// variable is a warning, and a `ref` image that is neither on the engine nor in its registry is
// one error at its line, printed once, before any change. Registries here are 127.0.0.1 only (a real
// docker-registry, or a closed port): no test sends the engine to resolve or reach another host.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {followProgress} from '../../src/drivers/docker.js';
import {buildImage} from '../../src/drivers/image-build.js';
import {noStack, orx} from '../helpers/cli.js';
import {startRegistry, type TestRegistry} from '../helpers/registry.js';
import {docker, makeWorkspace, SLEEP_CMD, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('pre');
});
afterEach(async () => {
  await ws.cleanup();
});

const SECRETS = (refs: string) => `workspace: __WS__
autonomy: 3
images:
  base:
    build: {context: images/agent-base}
agents:
  worker:
    image: base
    command: ${SLEEP_CMD}
    resources: {cpus: 0.1, memory: 32m}
    secrets:
${refs}
`;

/** The 1-based line of the first line of orchestration.yml containing `text`. */
function lineOf(text: string): number {
  const lines = fs.readFileSync(path.join(ws.dir, 'orchestration.yml'), 'utf8').split('\n');
  return lines.findIndex((l) => l.includes(text)) + 1;
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('secret references checked at validate and plan, never read', () => {
  it('a missing file:// secret is an error at its line, in validate and plan', async () => {
    ws.write(SECRETS('      TLS_KEY: file://certs/missing.key'));
    const line = lineOf('TLS_KEY');
    for (const cmd of ['validate', 'plan']) {
      const r = await orx([cmd], {cwd: ws.dir});
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(
        `orchestration.yml:${line}:16: agents.worker.secrets.TLS_KEY: file://certs/missing.key names a file that does not exist (${path.join(ws.dir, 'certs/missing.key')})`,
      );
      expect(noStack(r.stderr)).toBe(true);
    }
    // nothing was planned against the engine or recorded
    expect(fs.existsSync(path.join(ws.dir, '.orx/ledger.db'))).toBe(false);
  });

  it('a group-readable file:// secret is an error with the chmod that fixes it; fixed, validate passes', async () => {
    fs.mkdirSync(path.join(ws.dir, 'certs'));
    const file = path.join(ws.dir, 'certs/agent.key');
    const value = 'group-readable-secret-value';
    fs.writeFileSync(file, value, {mode: 0o640});
    fs.chmodSync(file, 0o640);
    ws.write(SECRETS('      TLS_KEY: file://certs/agent.key'));
    for (const cmd of ['validate', 'plan']) {
      const r = await orx([cmd], {cwd: ws.dir});
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `orchestration\\.yml:${lineOf('TLS_KEY')}:16: agents\\.worker\\.secrets\\.TLS_KEY: file://certs/agent\\.key is readable or writable by group or others \\(mode 0640\\)`,
        ),
      );
      expect(r.stderr).toContain(`chmod 600 ${file}`);
      expect(r.stdout + r.stderr).not.toContain(value);
    }
    const json = JSON.parse((await orx(['validate', '--json'], {cwd: ws.dir})).stdout);
    expect(json.error).toMatchObject({
      code: 'config_invalid',
      diagnostics: [{file: 'orchestration.yml', line: lineOf('TLS_KEY'), col: 16}],
    });

    fs.chmodSync(file, 0o600);
    const ok = await orx(['validate'], {cwd: ws.dir});
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe('');
  });

  it('an unset env:// variable is a warning at its line (exit 0), with the variable set it is silent', async () => {
    ws.write(SECRETS('      API_KEY: env://ORX_PREFLIGHT_UNSET'));
    const r = await orx(['validate'], {cwd: ws.dir});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Success! orchestration\.yml is valid/);
    const warning = `orchestration.yml:${lineOf('API_KEY')}:16: agents.worker.secrets.API_KEY: env://ORX_PREFLIGHT_UNSET is not set in this environment`;
    expect(r.stderr).toContain(`warn: ${warning}`);
    expect(occurrences(r.stderr, warning)).toBe(1);
    const json = await orx(['validate', '--json'], {cwd: ws.dir});
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).warnings).toEqual([
      expect.objectContaining({
        file: 'orchestration.yml',
        line: lineOf('API_KEY'),
        col: 16,
        message: expect.stringContaining('ORX_PREFLIGHT_UNSET'),
      }),
    ]);
    // plan warns the same way and goes on
    const plan = await orx(['plan'], {cwd: ws.dir});
    expect(plan.code, plan.stderr).toBe(0);
    expect(occurrences(plan.stderr, warning)).toBe(1);

    const set = await orx(['validate', '--json'], {cwd: ws.dir, env: {ORX_PREFLIGHT_UNSET: 'set-in-ci-0123456789'}});
    expect(JSON.parse(set.stdout).warnings).toEqual([]);
    expect(set.stderr).toBe('');
  });
});

describe('images checked at plan: on the engine or in their registry', () => {
  let reg: TestRegistry;
  const tags: string[] = [];
  beforeAll(async () => {
    reg = await startRegistry();
  }, 60_000);
  afterAll(async () => {
    for (const t of tags)
      await docker
        .getImage(t)
        .remove({force: true})
        .catch(() => undefined);
    await reg?.stop();
  });

  /** Builds the test image under `tag`, labelled with the workspace so cleanup removes it. */
  async function buildAs(tag: string): Promise<void> {
    const ctx = path.join(ws.dir, 'images/agent-base');
    await buildImage(docker, {context: ctx, src: fs.readdirSync(ctx)}, {t: tag, labels: {'io.orchestrix.workspace': ws.name}});
    tags.push(tag);
  }

  const REF_YAML = (ref: string) => `workspace: __WS__
autonomy: 3
images:
  tools: {ref: "${ref}"}
agents:
  worker:
    image: tools
    command: ${SLEEP_CMD}
    resources: {cpus: 0.1, memory: 32m}
`;

  it('an image its registry cannot give is one error at its line, printed once, before any apply', async () => {
    ws.write(REF_YAML('127.0.0.1:9/x:1'));
    const line = lineOf('127.0.0.1:9/x:1');
    for (const args of [['plan'], ['apply', '--auto-approve']]) {
      const r = await orx(args, {cwd: ws.dir});
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^Error: orchestration\\.yml:${line}:\\d+: images\\.tools\\.ref: 127\\.0\\.0\\.1:9/x:1 \\(used by agent\\.worker\\) is not on this machine and cannot be pulled from 127\\.0\\.0\\.1:9: .*connection refused`,
        ),
      );
      expect(occurrences(r.stderr, '127.0.0.1:9/x:1 (used by')).toBe(1);
      expect(r.stderr).toContain('docker load -i');
      expect(r.stderr).toContain('docker pull 127.0.0.1:9/x:1');
      expect(noStack(r.stderr)).toBe(true);
      expect(r.stdout).toBe('');
    }
    const json = JSON.parse((await orx(['plan', '--json'], {cwd: ws.dir})).stdout);
    expect(json.error).toMatchObject({
      code: 'image_unavailable',
      diagnostics: [{file: 'orchestration.yml', line}],
      data: {images: [{image: 'tools', ref: '127.0.0.1:9/x:1', registry: '127.0.0.1:9', agents: ['agent.worker']}]},
    });
    // nothing was created, and no run was recorded
    expect(await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})).toEqual([]);
    expect(fs.existsSync(path.join(ws.dir, '.orx/ledger.db'))).toBe(false);

    // a plan made offline cannot know: its apply fails at the image step, said once on each
    // stream (the step's line, the run's summary), with the same fix
    expect((await orx(['plan', '--refresh=false', '-out', 'plans/p.json'], {cwd: ws.dir})).code).toBe(0);
    const applied = await orx(['apply', 'plans/p.json'], {cwd: ws.dir});
    expect(applied.code, applied.stderr).toBe(6);
    for (const out of [applied.stderr, applied.stdout]) {
      expect(occurrences(out, 'cannot pull 127.0.0.1:9/x:1')).toBe(1);
      expect(out).toContain('docker load -i FILE.tar');
    }
    expect(noStack(applied.stderr)).toBe(true);
  });

  it('a registry that refuses connections, a repository the registry lacks, and a metadata address are errors naming each', async () => {
    ws.write(
      REF_YAML(`127.0.0.1:1/pre/tools:1`).replace(
        'images:\n',
        `images:\n  absent: {ref: "${reg.host}/pre/absent:1"}\n  probe: {ref: "169.254.169.254/latest/meta-data:1"}\n`,
      ),
    );
    const r = await orx(['plan'], {cwd: ws.dir});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `:${lineOf('pre/absent')}:\\d+: images\\.absent\\.ref: ${reg.host}/pre/absent:1 is not on this machine and cannot be pulled from ${reg.host}: .*manifest unknown`,
      ),
    );
    expect(r.stderr).toMatch(
      new RegExp(
        `:${lineOf('127.0.0.1:1/')}:\\d+: images\\.tools\\.ref: 127\\.0\\.0\\.1:1/pre/tools:1 \\(used by agent\\.worker\\) is not on this machine and cannot be pulled from 127\\.0\\.0\\.1:1: .*connection refused`,
      ),
    );
    // a configuration from a pull request cannot make the engine reach a metadata service at plan time
    expect(r.stderr).toMatch(
      new RegExp(
        `:${lineOf('169.254.169.254')}:\\d+: images\\.probe\\.ref: .*orx does not ask the engine to contact 169\\.254\\.169\\.254: it is`,
      ),
    );
  });

  it('a registry that accepts connections but never answers is a warning after the bound, and the plan goes on', async () => {
    // a silent 127.0.0.1 listener: the engine's request hangs until orx stops waiting
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      ws.write(REF_YAML(`127.0.0.1:${port}/pre/silent:1`));
      const r = await orx(['plan'], {cwd: ws.dir});
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        `warn: image tools (127.0.0.1:${port}/pre/silent:1) is not on this machine and the engine got no answer about it within 5 s; apply will try to pull it from 127.0.0.1:${port}`,
      );
      expect(r.stdout).toContain('image.tools');
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('an image present on the engine needs no registry; one only in the registry resolves there', async () => {
    // present locally under a name whose registry (port 1) refuses every connection: a lookup would fail
    const local = `127.0.0.1:1/pre-${ws.name}/tools:1`;
    await buildAs(local);
    ws.write(REF_YAML(local));
    const r = await orx(['plan'], {cwd: ws.dir});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('image.tools');

    // in the registry, not on the engine
    const remote = `${reg.host}/pre-${ws.name}/tools:1`;
    await buildAs(remote);
    await followProgress(docker, await docker.getImage(remote).push({authconfig: {}}));
    await docker.getImage(remote).remove();
    ws.write(REF_YAML(remote));
    const p = await orx(['plan'], {cwd: ws.dir});
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toBe('');
  });
});
