// What a hostile repository, a planted file or a lying registry can make the built CLI do:
// run a program from the workspace (never), hang or fill memory on a special or endless file
// (never: refused within 2 s), or connect to a metadata or internal address (never: refused
// before connecting). Registries here are STAND-INS (node http servers on 127.0.0.1), and
// the CLI runs with the test net guard preloaded (test/fixtures/net-guard.mjs), which fails
// and logs any connect that is not loopback or a unix socket: nothing leaves the machine.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx, type CliResult} from '../helpers/cli.js';
import {makeWorkspace, repoRoot, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('inputs');
});
afterEach(async () => {
  await ws.cleanup();
});

const MARKER = 'ran-from-the-repository';

/** A script that would prove it ran by writing a marker file into the workspace. */
function plantScript(rel: string): void {
  const file = path.join(ws.dir, rel);
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(
    file,
    `#!/bin/sh\ntouch '${path.join(ws.dir, MARKER)}'\necho '{"clientVersion":{"gitVersion":"v1.31.0"}}'\necho 'kind v0.24.0'\n`,
    {mode: 0o755},
  );
}

/** Manifests on a kubeconfig context: planning them would run kubectl. */
function kubeWorkspace(extra = ''): void {
  fs.mkdirSync(path.join(ws.dir, 'k8s'), {recursive: true});
  fs.writeFileSync(
    path.join(ws.dir, 'k8s/cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {a: "1"}\n',
  );
  fs.writeFileSync(
    path.join(ws.dir, 'remote.kubeconfig'),
    'apiVersion: v1\nkind: Config\nclusters: [{name: remote, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: ops, context: {cluster: remote, user: ops}}]\nusers: [{name: ops, user: {token: not-a-real-token}}]\ncurrent-context: ops\n',
    {mode: 0o600},
  );
  ws.write(`workspace: __WS__\nautonomy: 3\n${extra}manifests:\n  ops: {context: ops, kubeconfig: remote.kubeconfig, path: k8s}\n`);
}

function mkfifo(p: string): void {
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${String(r.stderr)}`);
}

async function timed(args: string[], env: Record<string, string> = {}): Promise<CliResult & {ms: number}> {
  const t0 = performance.now();
  const r = await orx(args, {cwd: ws.dir, env});
  return {...r, ms: performance.now() - t0};
}

/**
 * How long "fails at once" may take: 2 s, or on a machine so loaded that the CLI's own
 * start-up (measured now, on a command that fails on a missing file) takes longer, twice that
 * plus 1 s. A hang, or reading /dev/zero until memory runs out, still fails it; the memory
 * itself is measured separately.
 */
async function atOnce(): Promise<{bound: number; note: string}> {
  const startup = await timed(['show', 'missing.plan.json']);
  expect(startup.code).toBe(1);
  return {bound: Math.max(2000, 2 * startup.ms + 1000), note: `start-up alone: ${Math.round(startup.ms)} ms`};
}

describe('planning runs no program from the repository', () => {
  it('tools: in orchestration.yml is a validate error at file:line:col saying how to set it; plan fails and runs nothing', async () => {
    plantScript('x.sh');
    kubeWorkspace('tools: {kubectl: ./x.sh, kind: ./x.sh}\n');
    const v = await orx(['validate'], {cwd: ws.dir});
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^Error: orchestration\.yml:3:1: tools: is not read from orchestration\.yml: /);
    expect(v.stderr).toContain('--tool-kind / --tool-kubectl or ORX_KIND / ORX_KUBECTL');
    expect(noStack(v.stderr)).toBe(true);
    const json = JSON.parse((await orx(['validate', '--json'], {cwd: ws.dir})).stdout);
    expect(json.error.diagnostics).toEqual([expect.objectContaining({file: 'orchestration.yml', line: 3, col: 1})]);

    const p = await orx(['plan'], {cwd: ws.dir});
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('tools: is not read from orchestration.yml');
    expect(fs.existsSync(path.join(ws.dir, MARKER))).toBe(false);
  });

  it('a relative ORX_KUBECTL or --tool-kubectl is refused before anything runs', async () => {
    plantScript('x.sh');
    kubeWorkspace();
    for (const [args, env] of [
      [['plan'], {ORX_KUBECTL: './x.sh'}],
      [['plan', '--tool-kubectl', 'x.sh'], {}],
      [['apply', '--auto-approve', '--tool-kind', 'bin/kind'], {}],
    ] as Array<[string[], Record<string, string>]>) {
      const r = await orx(args, {cwd: ws.dir, env});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /--tool-kub(ectl|e) \(ORX_KUBECTL\) is "\.?\/?x\.sh", not an absolute path|--tool-kind \(ORX_KIND\) is "bin\/kind", not an absolute path/,
      );
      expect(r.stderr).toContain('Give an absolute path such as /usr/local/bin/');
    }
    expect(fs.existsSync(path.join(ws.dir, MARKER))).toBe(false);
  });

  it('a relative PATH entry (the checked-out repository) is not searched for kubectl', async () => {
    plantScript('bin/kubectl');
    kubeWorkspace();
    const r = await orx(['plan'], {cwd: ws.dir, env: {PATH: `bin${path.delimiter}.${path.delimiter}${path.delimiter}/nonexistent`}});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kubectl not found/);
    expect(fs.existsSync(path.join(ws.dir, MARKER))).toBe(false);
  });
});

describe('bad files fail fast', () => {
  it('orx apply /dev/zero fails within 2 s with flat memory; so do a 10 GB sparse plan and a FIFO', async () => {
    const sparse = path.join(ws.dir, 'huge.plan.json');
    const fd = fs.openSync(sparse, 'w');
    fs.ftruncateSync(fd, 10 * 1024 ** 3);
    fs.closeSync(fd);
    mkfifo(path.join(ws.dir, 'pipe.plan.json'));
    ws.write('workspace: __WS__\nautonomy: 3\n');
    const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
    for (const [file, why] of [
      ['/dev/zero', 'plan file /dev/zero is a character device, not a regular file'],
      ['huge.plan.json', 'larger than 64 MiB'],
      ['pipe.plan.json', 'is a FIFO (named pipe), not a regular file'],
    ]) {
      const {bound, note} = await atOnce();
      const r = await timed(['apply', file]);
      expect(r.ms, `apply ${file} (${note})`).toBeLessThan(bound);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(why);
      expect(noStack(r.stderr)).toBe(true);
      if (timeBin) {
        // peak resident memory of the whole CLI run: a read of /dev/zero would be gigabytes
        const m = spawnSync(timeBin, ['-f', '%M', process.execPath, path.join(repoRoot, 'bin/run.js'), 'apply', file], {
          cwd: ws.dir,
          encoding: 'utf8',
          timeout: 10_000,
        });
        const kb = Number(m.stderr.trim().split('\n').pop());
        expect(kb, `peak RSS of apply ${file}`).toBeLessThan(300 * 1024);
      }
    }
  }, 180_000);

  it('a FIFO or device passed as any file argument is refused at once, naming it', async () => {
    mkfifo(path.join(ws.dir, 'pipe'));
    ws.write('workspace: __WS__\nautonomy: 3\n');
    await orx(['keys', 'init'], {cwd: ws.dir});
    fs.writeFileSync(path.join(ws.dir, 'blob.txt'), 'hello');
    for (const args of [
      ['show', 'pipe'],
      ['approve', 'pipe', '--all', '--reason', 'x'],
      ['audit', 'verify-bundle', 'pipe'],
      ['audit', 'verify-bundle', '/dev/zero'],
      ['verify-blob', 'blob.txt', '--bundle', 'pipe'],
      ['sign-blob', '/dev/zero', '--bundle', 'b.json'],
      ['token', 'verify', 'pipe'],
    ]) {
      const {bound, note} = await atOnce();
      const r = await timed(args);
      expect(r.ms, `${args.join(' ')} (${note})`).toBeLessThan(bound);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/(pipe is a FIFO \(named pipe\)|\/dev\/zero is a character device), not a regular file/);
    }
  }, 180_000);

  it('a FIFO in a build context fails validate and plan within 2 s, with its path', async () => {
    ws.write('workspace: __WS__\nautonomy: 3\nimages:\n  base:\n    build: {context: images/agent-base}\n');
    mkfifo(path.join(ws.dir, 'images/agent-base/sub-pipe'));
    for (const cmd of ['validate', 'plan']) {
      // before, plan waited on the FIFO forever
      const {bound, note} = await atOnce();
      const r = await timed([cmd]);
      expect(r.ms, `${cmd} (${note})`).toBeLessThan(bound);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'orchestration.yml:5:22: build context "images/agent-base" cannot be sent to Docker (images.base.build.context): "images/agent-base/sub-pipe" is a FIFO (named pipe)',
      );
    }
  });

  it('a FIFO as a manifest or kind config is refused by validate at once', async () => {
    fs.mkdirSync(path.join(ws.dir, 'k8s'));
    mkfifo(path.join(ws.dir, 'k8s/a.yaml'));
    mkfifo(path.join(ws.dir, 'kind.yaml'));
    ws.write(
      `workspace: __WS__\nautonomy: 3\nclusters:\n  dev: {config: kind.yaml, node_image: "kindest/node@sha256:${'a'.repeat(64)}"}\nmanifests:\n  base: {cluster: dev, path: k8s}\n`,
    );
    const {bound, note} = await atOnce();
    const r = await timed(['validate']);
    expect(r.ms, note).toBeLessThan(bound);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"kind\.yaml" is not a file or a directory/);
    expect(r.stderr).toMatch(/"k8s\/a\.yaml" is not a file or a directory/);
  });
});

describe('registry requests go only where they should (built CLI, net guard preloaded)', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  function guardEnv(): {env: Record<string, string>; attempts: () => string[]} {
    const log = path.join(ws.dir, 'net-attempts.log');
    const guard = pathToFileURL(path.join(repoRoot, 'test/fixtures/net-guard.mjs')).href;
    return {
      env: {NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${guard}`.trim(), ORX_TEST_NET_LOG: log},
      attempts: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    };
  }

  it('a registry host of 169.254.169.254 (in any spelling) is refused before any connection', async () => {
    ws.write('workspace: __WS__\nautonomy: 3\n');
    await orx(['keys', 'init'], {cwd: ws.dir});
    const g = guardEnv();
    for (const host of ['169.254.169.254', '2852039166:443', '[fd00:ec2::254]']) {
      const r = await orx(['image', 'sign', `${host}/team/app:1`], {cwd: ws.dir, env: g.env});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/refusing to contact the registry (169\.254\.169\.254|fd00:ec2::254): it is a cloud metadata address/);
    }
    expect(g.attempts()).toEqual([]);
  });

  it('a loopback registry that redirects to a non-loopback address is refused, naming it; nothing connects there', async () => {
    const seen: string[] = [];
    const srv = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.statusCode = 302;
      res.setHeader('Location', 'http://10.11.12.13:5000/v2/team/app/manifests/1');
      res.end();
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    ws.write('workspace: __WS__\nautonomy: 3\n');
    await orx(['keys', 'init'], {cwd: ws.dir});
    const g = guardEnv();
    const r = await orx(['image', 'sign', `${host}/team/app:1`], {cwd: ws.dir, env: g.env});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      'refusing to follow a redirect to http://10.11.12.13: it is a private address, and a registry on loopback is followed only to loopback',
    );
    expect(noStack(r.stderr)).toBe(true);
    expect(seen).toEqual(['HEAD /v2/team/app/manifests/1']);
    expect(g.attempts()).toEqual([]);
  });

  it('the preloaded guard does block a non-loopback connect of the CLI (so the checks above mean something)', async () => {
    const g = guardEnv();
    const probe = path.join(ws.dir, 'probe.mjs');
    fs.writeFileSync(
      probe,
      "import http from 'node:http';\nimport {lookup} from 'node:dns/promises';\nawait new Promise((r) => http.get('http://10.11.12.13:5000/').on('error', (e) => r(console.log(e.message))));\nawait lookup('registry.invalid').catch((e) => console.log(e.message));\n",
    );
    const r = spawnSync(process.execPath, [probe], {env: {...process.env, ...g.env}, encoding: 'utf8', timeout: 10_000});
    expect(r.stdout).toMatch(/blocked by the test net guard: 10\.11\.12\.13:5000/);
    expect(r.stdout).toMatch(/blocked by the test net guard: DNS lookup of registry\.invalid/);
    expect(g.attempts()).toEqual(['10.11.12.13:5000', 'dns:registry.invalid']);
  });
});
