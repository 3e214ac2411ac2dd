// Tests of the process-boundary stand-ins for kind and kubectl (test/fixtures/bin): they
// are what orx drives in tests where real kind cannot run, so their contract
// (test/fixtures/bin/README.md) is pinned here. They talk to the real Docker engine;
// ports are only ever published on 127.0.0.1.
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {describe, it, expect, beforeAll, afterAll} from 'vitest';
import YAML from 'yaml';
import {ensureStandinNodeImage, makeStandin, removeKindClusters, standinBin, type Standin} from '../helpers/kube.js';
import {docker, repoRoot} from '../helpers/workspace.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const RUN_PREFIX = `orx-st-${randomBytes(3).toString('hex')}`;
const clusterName = (tag: string) => `${RUN_PREFIX}-${tag}`;

/** The environment minus anything that could point the stand-ins at a real kubeconfig or other state. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'KUBECONFIG' && !k.startsWith('ORX_')) env[k] = v;
  return env;
}

function run(tool: 'kind' | 'kubectl', args: string[], opts: {env?: Record<string, string>; input?: string} = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(standinBin[tool], args, {env: {...baseEnv(), ...opts.env}, stdio: ['pipe', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({code, stdout, stderr}));
    child.stdin.end(opts.input ?? '');
  });
}

async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

const APPLY = ['apply', '--server-side', '--field-manager=orchestrix', '--force-conflicts', '-f', '-', '-o', 'json'];
const DIFF = ['diff', '--server-side', '--field-manager=orchestrix', '--force-conflicts', '-f', '-'];
const DELETE = ['delete', '--ignore-not-found=true', '--wait=false', '-f', '-'];

const toYaml = (...objs: unknown[]) => objs.map((o) => YAML.stringify(o)).join('---\n');

const configMap = (name: string, data: Record<string, string>, namespace?: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {name, ...(namespace ? {namespace} : {}), labels: {'app.kubernetes.io/managed-by': 'orchestrix', test: 'standin'}},
  data,
});

const deployment = (name: string, image: string, replicas = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {name, labels: {'app.kubernetes.io/managed-by': 'orchestrix', test: 'standin'}},
  spec: {
    replicas,
    selector: {matchLabels: {app: name}},
    template: {metadata: {labels: {app: name}}, spec: {containers: [{name, image, imagePullPolicy: 'IfNotPresent'}]}},
  },
});

describe('stand-in kind and kubectl (not the real tools)', () => {
  let s: Standin;
  let env: Record<string, string>;
  const main = clusterName('main');
  let kubeconfig: string;
  let appPort: number;
  let created: Result;

  beforeAll(async () => {
    s = makeStandin();
    env = s.env;
    await ensureStandinNodeImage();
    appPort = await freeLoopbackPort();
    kubeconfig = path.join(s.state, 'kube', 'config');
    const cfg = path.join(s.state, 'cluster.yaml');
    fs.writeFileSync(
      cfg,
      YAML.stringify({
        kind: 'Cluster',
        apiVersion: 'kind.x-k8s.io/v1alpha4',
        nodes: [
          {role: 'control-plane', extraPortMappings: [{containerPort: 80, hostPort: appPort, listenAddress: '127.0.0.1'}]},
          {role: 'worker', extraMounts: [{hostPath: s.state, containerPath: '/state', readOnly: true}]},
        ],
      }),
    );
    created = await run(
      'kind',
      ['create', 'cluster', '--name', main, '--config', cfg, '--image=kindest/node:v1.31.0', '--wait', '300s', '--kubeconfig', kubeconfig],
      {env},
    );
  });

  afterAll(async () => {
    await s?.cleanup();
    await removeKindClusters(RUN_PREFIX);
  });

  it('refuses arguments outside the documented forms with exit 2', async () => {
    const cases: Array<['kind' | 'kubectl', string[]]> = [
      ['kind', ['get', 'nodes']],
      ['kind', ['create', 'cluster', '--name', 'x']],
      ['kind', ['delete', 'cluster', '--name', 'x', '--retain']],
      ['kind', ['version', '-v', '3']],
      ['kubectl', ['apply', '-f', '-']],
      ['kubectl', ['apply', '--server-side', '--field-manager=someone', '-f', '-', '-o', 'json']],
      ['kubectl', ['apply', '--server-side', '--field-manager=orchestrix', '-f', 'manifest.yaml', '-o', 'json']],
      ['kubectl', ['get', 'pods', '-o', 'json']],
      ['kubectl', ['get', 'pods', '-A', '-l', 'app!=x', '-o', 'json']],
      ['kubectl', ['delete', '-f', '-']],
      ['kubectl', ['rollout', 'status', 'statefulset/x', '-n', 'default', '--timeout=1s']],
      ['kubectl', ['version']],
    ];
    for (const [tool, args] of cases) {
      const r = await run(tool, args, {env});
      expect(r.code, `${tool} ${args.join(' ')}`).toBe(2);
      expect(r.stderr).toBe(`stand-in ${tool}: unsupported arguments: ${args.join(' ')}\n`);
    }
    const noState = await run('kubectl', ['version', '--client', '-o', 'json']);
    expect(noState.code).toBe(2);
    expect(noState.stderr).toContain('stand-in kubectl: ORX_STANDIN_STATE is not set');
    const logged = s.calls().filter((c) => c.argv.join(' ') === 'apply -f -');
    expect(logged).toEqual([{tool: 'kubectl', argv: ['apply', '-f', '-'], kubeconfig_env: null}]);
  });

  it('reports versions, overridable to test "too old"', async () => {
    expect((await run('kind', ['version'], {env})).stdout).toBe('kind v0.24.0 go1.22.6 linux/amd64\n');
    expect((await run('kind', ['version'], {env: {...env, ORX_STANDIN_KIND_VERSION: '0.9.0'}})).stdout).toBe(
      'kind v0.9.0 go1.22.6 linux/amd64\n',
    );
    const k = await run('kubectl', ['version', '--client', '-o', 'json'], {env});
    expect(k.code).toBe(0);
    expect(JSON.parse(k.stdout)).toMatchObject({
      clientVersion: {major: '1', minor: '31', gitVersion: 'v1.31.0', platform: 'linux/amd64'},
      kustomizeVersion: 'v5.4.2',
    });
    const old = await run('kubectl', ['version', '--client', '--output=json'], {env: {...env, ORX_STANDIN_KUBECTL_VERSION: '1.20.0'}});
    expect(JSON.parse(old.stdout).clientVersion).toMatchObject({major: '1', minor: '20', gitVersion: 'v1.20.0'});
  });

  it('plans node containers like kind: names, binds, port bindings (default listenAddress 0.0.0.0)', async () => {
    const lib = (await import(pathToFileURL(path.join(repoRoot, 'test/fixtures/bin/standin-lib.mjs')).href)) as {
      nodePlan(
        name: string,
        config: unknown,
        cwd?: string,
      ): Array<{name: string; role: string; Binds: string[]; PortBindings: Record<string, unknown>; labels: Record<string, string>}>;
      validateKindConfig(config: unknown): unknown;
    };
    const plan = lib.nodePlan(
      'c',
      {
        kind: 'Cluster',
        apiVersion: 'kind.x-k8s.io/v1alpha4',
        networking: {apiServerPort: 6443},
        nodes: [
          {
            role: 'control-plane',
            extraPortMappings: [
              {containerPort: 80, hostPort: 8080},
              {containerPort: 53, protocol: 'UDP', listenAddress: '127.0.0.1'},
            ],
          },
          {role: 'control-plane'},
          {role: 'worker', extraMounts: [{hostPath: 'data', containerPath: '/data', readOnly: true}]},
          {role: 'worker'},
        ],
      },
      '/srv',
    );
    expect(plan.map((n) => n.name)).toEqual(['c-control-plane', 'c-control-plane2', 'c-worker', 'c-worker2']);
    expect(plan[0].labels).toEqual({'io.x-k8s.kind.cluster': 'c', 'io.x-k8s.kind.role': 'control-plane'});
    expect(plan[0].PortBindings).toEqual({
      '80/tcp': [{HostIp: '0.0.0.0', HostPort: '8080'}],
      '53/udp': [{HostIp: '127.0.0.1', HostPort: ''}],
      '6443/tcp': [{HostIp: '127.0.0.1', HostPort: '6443'}],
    });
    expect(plan[1].PortBindings).toEqual({});
    expect(plan[2].Binds).toEqual(['/srv/data:/data:ro']);
    expect(lib.nodePlan('d', {kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4'}).map((n) => n.name)).toEqual(['d-control-plane']);
    expect(() =>
      lib.validateKindConfig({kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', nodes: [{role: 'worker', ports: []}]}),
    ).toThrow('ERROR: failed to create cluster: unknown field "ports"');
    expect(() => lib.validateKindConfig({kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha3'})).toThrow('unknown apiVersion');
  });

  it('creates a cluster as labelled node containers with the requested loopback port and a 0600 kubeconfig', async () => {
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(`Creating cluster "${main}" ...`);
    expect(created.stderr.trimEnd().split('\n').at(-1)).toBe(`Set kubectl context to "kind-${main}"`);
    const list = await docker.listContainers({all: true, filters: {label: [`io.x-k8s.kind.cluster=${main}`]}});
    expect(list.map((c) => c.Names[0]).sort()).toEqual([`/${main}-control-plane`, `/${main}-worker`]);
    const cp = await docker.getContainer(`${main}-control-plane`).inspect();
    expect(cp.State.Running).toBe(true);
    expect(cp.Config.Labels).toEqual({'io.x-k8s.kind.cluster': main, 'io.x-k8s.kind.role': 'control-plane'});
    expect(cp.Config.Hostname).toBe(`${main}-control-plane`);
    expect(cp.HostConfig.PortBindings).toEqual({
      '80/tcp': [{HostIp: '127.0.0.1', HostPort: String(appPort)}],
      '6443/tcp': [{HostIp: '127.0.0.1', HostPort: ''}],
    });
    const apiPort = cp.NetworkSettings.Ports['6443/tcp'][0].HostPort;
    const worker = await docker.getContainer(`${main}-worker`).inspect();
    expect(worker.Config.Labels).toEqual({'io.x-k8s.kind.cluster': main, 'io.x-k8s.kind.role': 'worker'});
    expect(worker.HostConfig.Binds).toEqual([`${s.state}:/state:ro`]);

    expect(fs.statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const kc = YAML.parse(fs.readFileSync(kubeconfig, 'utf8'));
    expect(kc['current-context']).toBe(`kind-${main}`);
    expect(kc.clusters[0].cluster.server).toBe(`https://127.0.0.1:${apiPort}`);

    const got = await run('kind', ['get', 'kubeconfig', '--name', main], {env});
    expect(got.code).toBe(0);
    expect(YAML.parse(got.stdout)).toEqual(kc);
    const rec = JSON.parse(fs.readFileSync(path.join(s.state, 'kind', `${main}.json`), 'utf8'));
    expect(rec).toMatchObject({name: main, image: 'kindest/node:v1.31.0', loaded_images: []});
    expect(s.objects(`kind-${main}`)).toEqual([]);
  });

  it('lists clusters, refuses to create one twice, and reports a missing one like kind', async () => {
    const clusters = await run('kind', ['get', 'clusters'], {env});
    expect(clusters.stdout.split('\n')).toContain(main);
    const again = await run(
      'kind',
      [
        'create',
        'cluster',
        '--name',
        main,
        '--config',
        path.join(s.state, 'cluster.yaml'),
        '--image',
        'x',
        '--wait',
        '5m',
        '--kubeconfig',
        kubeconfig,
      ],
      {
        env,
      },
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${main}"`);
    const missing = await run('kind', ['get', 'kubeconfig', '--name', `${main}-nope`], {env});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`ERROR: could not locate any control plane nodes for cluster named '${main}-nope'`);
  });

  it('applies, lists by label, diffs, and deletes objects in the kind cluster', async () => {
    const e = {...env, KUBECONFIG: kubeconfig};
    const objs = [configMap('cfg', {a: '1'}), deployment('web', 'orx-test-kind-node:standin', 2)];
    const applied = await run('kubectl', APPLY, {env: e, input: toYaml(...objs)});
    expect(applied.code, applied.stderr).toBe(0);
    const list = JSON.parse(applied.stdout);
    expect(list.kind).toBe('List');
    expect(list.items.map((o: any) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'ConfigMap/default/cfg',
      'Deployment/default/web',
    ]);
    expect(list.items[0].metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.calls().at(-1)).toEqual({tool: 'kubectl', argv: APPLY, kubeconfig_env: kubeconfig});
    expect(s.objects(`kind-${main}`)[0].metadata.managedFields).toEqual([{manager: 'orchestrix', operation: 'Apply'}]);

    const get = await run(
      'kubectl',
      ['get', 'configmap,deployment.v1.apps', '-A', '-l', 'app.kubernetes.io/managed-by=orchestrix,test=standin', '-o', 'json'],
      {env: e},
    );
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).items.map((o: any) => o.metadata.name)).toEqual(['cfg', 'web']);
    const none = await run('kubectl', ['get', 'secret', '--all-namespaces', '--selector=test=standin', '-o', 'json'], {env: e});
    expect(JSON.parse(none.stdout)).toEqual({apiVersion: 'v1', items: [], kind: 'List', metadata: {resourceVersion: ''}});

    const same = await run('kubectl', DIFF, {env: e, input: toYaml(...objs)});
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toBe('');

    const changed = await run('kubectl', DIFF, {env: e, input: toYaml(configMap('cfg', {a: '2'}), objs[1])});
    expect(changed.code).toBe(1);
    const lines = changed.stdout.split('\n');
    expect(lines[0]).toMatch(/^diff -u -N \/tmp\/LIVE-\d+\/v1\.ConfigMap\.default\.cfg \/tmp\/MERGED-\d+\/v1\.ConfigMap\.default\.cfg$/);
    expect(lines[1]).toMatch(/^--- \/tmp\/LIVE-\d+\/v1\.ConfigMap\.default\.cfg\t\d{4}-\d\d-\d\d /);
    expect(lines[2]).toMatch(/^\+\+\+ \/tmp\/MERGED-\d+\/v1\.ConfigMap\.default\.cfg\t/);
    expect(lines[3]).toMatch(/^@@ -\d+(,\d+)? \+\d+(,\d+)? @@$/);
    expect(lines).toContain('-  a: "1"');
    expect(lines).toContain('+  a: "2"');
    expect(changed.stdout).not.toContain('Deployment');

    const added = await run('kubectl', DIFF, {
      env: e,
      input: toYaml({apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: {name: 'reader'}, rules: []}),
    });
    expect(added.code).toBe(1);
    expect(added.stdout).toMatch(/^diff -u -N \/tmp\/LIVE-\d+\/rbac\.authorization\.k8s\.io\.v1\.ClusterRole\.\.reader /);
    expect(added.stdout).toMatch(/\n@@ -0,0 \+1,\d+ @@\n/);

    const del = await run('kubectl', DELETE, {env: e, input: toYaml(...objs, configMap('never-there', {}))});
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toBe('configmap "cfg" deleted\ndeployment.apps "web" deleted\n');
    expect(s.objects(`kind-${main}`)).toEqual([]);
  });

  it('fails on a missing namespace like the API server (apply keeps the others; diff prints nothing)', async () => {
    const e = {...env, KUBECONFIG: kubeconfig};
    const ns = {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'team'}};
    const r = await run('kubectl', APPLY, {env: e, input: toYaml(configMap('before', {}), configMap('lost', {}, 'nowhere'))});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error from server (NotFound): namespaces "nowhere" not found');
    expect(r.stdout).toBe('');
    expect(s.objects(`kind-${main}`).map((o) => o.metadata.name)).toEqual(['before']);

    const d = await run('kubectl', DIFF, {env: e, input: toYaml(configMap('before', {x: 'y'}), configMap('lost', {}, 'nowhere'))});
    expect(d.code).toBe(2); // kubectl diff: >1 = error
    expect(d.stdout).toBe('');
    expect(d.stderr).toContain('Error from server (NotFound): namespaces "nowhere" not found');

    // in order: a Namespace applied first makes the objects after it possible
    const ok = await run('kubectl', APPLY, {env: e, input: toYaml(ns, configMap('inside', {}, 'team'))});
    expect(ok.code, ok.stderr).toBe(0);
    const gone = await run('kubectl', DELETE, {env: e, input: toYaml(ns, configMap('before', {}))});
    expect(gone.stdout).toBe('namespace "team" deleted\nconfigmap "before" deleted\n');
    expect(s.objects(`kind-${main}`)).toEqual([]);
  });

  it('rolls out only images that a kind node has (after kind load docker-image)', async () => {
    const e = {...env, KUBECONFIG: kubeconfig};
    const image = await ensureStandinNodeImage();
    expect((await run('kubectl', APPLY, {env: e, input: toYaml(deployment('api', image))})).code).toBe(0);
    const t0 = Date.now();
    const waiting = await run('kubectl', ['rollout', 'status', 'deployment/api', '-n', 'default', '--timeout=1s'], {env: e});
    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toContain('error: timed out waiting for the condition');
    expect(Date.now() - t0).toBeLessThan(5000);
    const missing = await run('kubectl', ['rollout', 'status', 'deployment/nope', '-n', 'default', '--timeout=1s'], {env: e});
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');

    const notLocal = await run('kind', ['load', 'docker-image', 'orx-no-such-image:1', '--name', main], {env});
    expect(notLocal.code).toBe(1);
    expect(notLocal.stderr).toContain('ERROR: image: "orx-no-such-image:1" not present locally');
    const load = await run('kind', ['load', 'docker-image', image, '--name', main], {env});
    expect(load.code, load.stderr).toBe(0);
    expect(load.stderr).toMatch(
      new RegExp(`Image: "${image}" with ID "sha256:[0-9a-f]+" not yet present on node "${main}-control-plane", loading...`),
    );
    expect(JSON.parse(fs.readFileSync(path.join(s.state, 'kind', `${main}.json`), 'utf8')).loaded_images).toEqual([image]);

    const ready = await run('kubectl', ['rollout', 'status', 'deployment/api', '-n', 'default', '--timeout=10s'], {env: e});
    expect(ready.code, ready.stderr).toBe(0);
    expect(ready.stdout).toBe('deployment "api" successfully rolled out\n');
    const unready = await run('kubectl', ['rollout', 'status', 'deployment/api', '-n', 'default', '--timeout=300ms'], {
      env: {...e, ORX_STANDIN_UNREADY_IMAGES: image},
    });
    expect(unready.code).toBe(1);
    await run('kubectl', DELETE, {env: e, input: toYaml(deployment('api', image))});
  });

  it('serves a non-kind cluster from its store alone, and deletes kubeconfig entries', async () => {
    const file = path.join(s.state, 'remote.kubeconfig');
    fs.writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{name: 'remote', cluster: {server: 'https://10.0.0.1:6443'}}],
        contexts: [{name: 'ops', context: {cluster: 'remote', user: 'me'}}],
        'current-context': 'ops',
        users: [{name: 'me', user: {token: 'x'}}],
      }),
    );
    const g = ['get', 'deployment.v1.apps', '-A', '-o', 'json', '--kubeconfig', file];
    const down = await run('kubectl', g, {env});
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?');
    s.writeObjects('remote', []);
    expect((await run('kubectl', g, {env})).code).toBe(0);
    const noCtx = await run('kubectl', [...g, '--context', 'dev'], {env});
    expect(noCtx.stderr).toContain('error: context "dev" does not exist');

    const apply = await run('kubectl', ['--kubeconfig', file, ...APPLY, '--request-timeout=30s'], {
      env,
      input: toYaml(deployment('svc', 'ghcr.io/example/svc:1')),
    });
    expect(apply.code, apply.stderr).toBe(0);
    expect(JSON.parse(apply.stdout).status).toMatchObject({readyReplicas: 1, availableReplicas: 1, observedGeneration: 1});
    const rs = ['rollout', 'status', 'deployment/svc', '-n', 'default', '--timeout=1s', '--kubeconfig', file];
    expect((await run('kubectl', rs, {env})).code).toBe(0);
    expect((await run('kubectl', rs, {env: {...env, ORX_STANDIN_UNREADY_IMAGES: 'ghcr.io/example/svc:1'}})).code).toBe(1);

    const del = await run('kubectl', ['config', 'delete-context', 'ops', '--kubeconfig', file], {env});
    expect(del.code).toBe(0);
    expect(del.stdout).toBe(`deleted context ops from ${file}\n`);
    expect(YAML.parse(fs.readFileSync(file, 'utf8')).contexts).toEqual([]);
    const again = await run('kubectl', ['config', 'delete-context', 'ops', '--kubeconfig', file], {env});
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`error: cannot delete context ops, not in ${file}`);
    expect((await run('kubectl', ['config', 'delete-cluster', 'remote', '--kubeconfig', file], {env})).stdout).toBe(
      `deleted cluster remote from ${file}\n`,
    );
    expect((await run('kubectl', ['config', 'delete-user', 'me', '--kubeconfig', file], {env})).code).toBe(0);
  });

  it('lands every object of concurrent applies', async () => {
    const e = {...env, KUBECONFIG: kubeconfig};
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => run('kubectl', APPLY, {env: e, input: toYaml(configMap(`par-${i}`, {i: String(i)}))})),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const objs = s.objects(`kind-${main}`).filter((o) => o.metadata.name.startsWith('par-'));
    expect(objs.map((o) => o.metadata.name).sort()).toEqual(['par-0', 'par-1', 'par-2', 'par-3']);
    expect(new Set(objs.map((o) => o.metadata.resourceVersion)).size).toBe(4);
  });

  it('fails a create on request or on a missing hostPath, leaving no containers', async () => {
    const name = clusterName('fail');
    const cfg = path.join(s.state, 'fail.yaml');
    fs.writeFileSync(cfg, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n');
    const args = [
      'create',
      'cluster',
      '--name',
      name,
      '--config',
      cfg,
      '--image',
      'kindest/node:v1.31.0',
      '--wait',
      '60s',
      '--kubeconfig',
      path.join(s.state, 'fail.kubeconfig'),
    ];
    const r = await run('kind', args, {env: {...env, ORX_STANDIN_KIND_FAIL_CREATE: '1'}});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERROR: failed to create cluster: stand-in failure requested (ORX_STANDIN_KIND_FAIL_CREATE)');
    expect(await docker.listContainers({all: true, filters: {label: [`io.x-k8s.kind.cluster=${name}`]}})).toEqual([]);
    expect(fs.existsSync(path.join(s.state, 'fail.kubeconfig'))).toBe(false);

    fs.writeFileSync(
      cfg,
      YAML.stringify({
        kind: 'Cluster',
        apiVersion: 'kind.x-k8s.io/v1alpha4',
        nodes: [{role: 'control-plane'}, {role: 'worker', extraMounts: [{hostPath: '/nonexistent/orx', containerPath: '/x'}]}],
      }),
    );
    const m = await run('kind', args, {env});
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/ERROR: failed to create cluster: .*hostPath "\/nonexistent\/orx".* does not exist/);
    expect(await docker.listContainers({all: true, filters: {label: [`io.x-k8s.kind.cluster=${name}`]}})).toEqual([]);

    fs.writeFileSync(cfg, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n  extraPortMapping: []\n');
    const strict = await run('kind', args, {env});
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('ERROR: failed to create cluster: unknown field "extraPortMapping"');
  });

  it('holds the nodes running without a kubeconfig during ORX_STANDIN_KIND_CREATE_DELAY_MS', async () => {
    const name = clusterName('slow');
    const cfg = path.join(s.state, 'slow.yaml');
    fs.writeFileSync(cfg, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n');
    const kc = path.join(s.state, 'slow.kubeconfig');
    const pending = run(
      'kind',
      ['create', 'cluster', '--name', name, '--config', cfg, '--image', 'kindest/node:v1.31.0', '--wait', '60s', '--kubeconfig', kc],
      {
        env: {...env, ORX_STANDIN_KIND_CREATE_DELAY_MS: '1500'},
      },
    );
    const t0 = Date.now();
    let running = false;
    while (!running && Date.now() - t0 < 10_000) {
      const list = await docker.listContainers({filters: {label: [`io.x-k8s.kind.cluster=${name}`]}});
      running = list.length === 1;
      if (!running) await new Promise((r) => setTimeout(r, 50));
    }
    expect(running).toBe(true);
    expect(fs.existsSync(kc)).toBe(false);
    const r = await pending;
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(kc)).toBe(true);
    // export into the default kubeconfig: $HOME/.kube/config (HOME is inside the state dir)
    const exp = await run('kind', ['export', 'kubeconfig', '--name', name], {env});
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stderr).toContain(`Set kubectl context to "kind-${name}"`);
    const home = path.join(env.HOME, '.kube', 'config');
    expect(fs.statSync(home).mode & 0o777).toBe(0o600);
    expect(YAML.parse(fs.readFileSync(home, 'utf8'))['current-context']).toBe(`kind-${name}`);
    const del = await run('kind', ['delete', 'cluster', '--name', name, '--kubeconfig', kc], {env});
    expect(del.code).toBe(0);
    expect(YAML.parse(fs.readFileSync(kc, 'utf8')).contexts).toEqual([]);
    // without --kubeconfig: the default file
    await run('kind', ['delete', 'cluster', '--name', name], {env});
    expect(YAML.parse(fs.readFileSync(home, 'utf8')).contexts).toEqual([]);
  });

  it('is unreachable once the control-plane container is gone; delete removes nodes, state and kubeconfig entries', async () => {
    const e = {...env, KUBECONFIG: kubeconfig};
    const server = YAML.parse(fs.readFileSync(kubeconfig, 'utf8')).clusters[0].cluster.server as string;
    await docker.getContainer(`${main}-control-plane`).remove({force: true});
    const r = await run('kubectl', ['get', 'configmap', '-A', '-o', 'json'], {env: e});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `The connection to the server ${new URL(server).host} was refused - did you specify the right host or port?`,
    );

    const del = await run('kind', ['delete', 'cluster', '--name', main], {env: e});
    expect(del.code, del.stderr).toBe(0);
    expect(del.stderr).toContain(`Deleting cluster "${main}" ...`);
    expect(await docker.listContainers({all: true, filters: {label: [`io.x-k8s.kind.cluster=${main}`]}})).toEqual([]);
    const kc = YAML.parse(fs.readFileSync(kubeconfig, 'utf8'));
    expect(kc.clusters).toEqual([]);
    expect(kc.contexts).toEqual([]);
    expect(kc.users).toEqual([]);
    expect(kc['current-context']).toBe('');
    expect(fs.existsSync(path.join(s.state, 'kind', `${main}.json`))).toBe(false);
    expect(fs.existsSync(path.join(s.state, 'k8s', `kind-${main}.json`))).toBe(false);
    const again = await run('kind', ['delete', 'cluster', '--name', main], {env: e});
    expect(again.code).toBe(0);
  });
});
