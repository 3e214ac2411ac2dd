// kind clusters, manifests and Kubernetes agents end to end through the built CLI, with the
// process-boundary stand-ins for kind and kubectl (test/fixtures/bin: kind cannot run on CI
// machines). Node containers are real Docker containers; the API server is a JSON file.
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {parse} from 'yaml';
import {noStack, orx, orxApproved, startOrx, until, type CliResult} from '../helpers/cli.js';
import {ensureStandinNodeImage, makeStandin, standinBin, MANIFEST, writeManifests as writeManifestFiles} from '../helpers/kube.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

const NODE_IMAGE = `kindest/node:v1.31.0@sha256:${'ab'.repeat(32)}`;

let ws: TestWorkspace;
let standin: ReturnType<typeof makeStandin>;
beforeAll(async () => {
  await ensureStandinNodeImage();
});
beforeEach(() => {
  ws = makeWorkspace('kube');
  standin = makeStandin();
});
afterEach(async () => {
  await standin.cleanup();
  await ws.cleanup();
});

const hostPort = 20_000 + Math.floor(Math.random() * 20_000);

function workspaceYaml(opts: {agent?: boolean; cluster?: string; extra?: string} = {}): string {
  return `workspace: __WS__
autonomy: 3
images:
  base:
    build: {context: images/agent-base}
clusters:
  dev:
    node_image: "${NODE_IMAGE}"
    wait: 30s
    config:
      kind: Cluster
      apiVersion: kind.x-k8s.io/v1alpha4
      nodes:
        - role: control-plane
          extraPortMappings: [{containerPort: 30080, hostPort: ${hostPort}}]
${opts.cluster ?? '        - role: worker'}
manifests:
  base: {cluster: dev, path: k8s}
${
  opts.agent === false
    ? ''
    : `agents:
  worker:
    image: base
    target: kubernetes
    cluster: dev
    namespace: lab
    user: "1000:1000"
    command: ["/bin/sh", "-c", "sleep 3600"]
    env: {LOG_LEVEL: info}
    resources: {cpus: 0.5, memory: 128m}
    secrets: {API_KEY: env://ORX_TEST_API_KEY}
`
}${opts.extra ?? ''}`;
}

const writeManifests = (files: Record<string, string | null>): void => writeManifestFiles(ws.dir, files);
const {namespace: NAMESPACE, settings: CONFIGMAP, extra: EXTRA} = MANIFEST;

const SECRET_VALUE = 'kube-canary-4f9a1c0e7d';

const cliEnv = (env: Record<string, string>) => ({
  ...standin.env,
  KUBECONFIG: path.join(standin.env.HOME, '.kube/config'),
  ORX_TEST_API_KEY: SECRET_VALUE,
  ...env,
});

async function run(args: string[], expectCode = 0, env: Record<string, string> = {}): Promise<CliResult> {
  const r = await orx(args, {cwd: ws.dir, env: cliEnv(env)});
  expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(expectCode);
  return r;
}

/** Saved, approved by a human, then applied: a new agent's pod network has a route out, and deletes always need a human. */
async function approvedRun(kind: 'apply' | 'destroy', expectCode = 0, env: Record<string, string> = {}): Promise<CliResult> {
  const r = await orxApproved(kind, {cwd: ws.dir, env: cliEnv(env)});
  expect(r.code, `orx ${kind} (approved)\n${r.stdout}\n${r.stderr}`).toBe(expectCode);
  return r;
}

const clusterName = () => `orx-${ws.name}-dev`;

async function nodes(): Promise<
  Array<{Names: string[]; Labels: Record<string, string>; Ports: Array<{IP?: string; PublicPort?: number; PrivatePort: number}>}>
> {
  return await docker.listContainers({all: true, filters: {label: [`io.x-k8s.kind.cluster=${clusterName()}`]}});
}

function store(): Array<{
  kind: string;
  metadata: {name: string; namespace?: string; labels?: Record<string, string>};
  data?: Record<string, string>;
  spec?: any;
}> {
  return standin.objects(`kind-${clusterName()}`);
}

describe('kind clusters, manifests and Kubernetes agents (stand-in kind and kubectl)', () => {
  it('plans, applies, converges, prunes, notices drift and destroys, never touching ~/.kube/config', {timeout: 180_000}, async () => {
    writeManifests({'namespace.yaml': NAMESPACE, 'settings.yaml': CONFIGMAP('a'), 'extra.yaml': EXTRA});
    ws.write(workspaceYaml());

    const planned = await run(['plan']);
    expect(planned.stdout).toMatch(/cluster\.dev will be created/);
    expect(planned.stdout).toMatch(/\+ Namespace lab \(v1\)/);
    expect(planned.stdout).toMatch(/\+ ConfigMap lab\/settings \(v1\)/);
    // the rendered Deployment is in the plan; the secret value never is
    expect(planned.stdout).toMatch(/readOnlyRootFilesystem: true/);
    expect(planned.stdout).not.toContain(SECRET_VALUE);
    const doc = JSON.parse((await run(['plan', '--json'])).stdout);
    const order = doc.steps.map((s: {address: string}) => s.address);
    expect(order.indexOf('cluster.dev')).toBeLessThan(order.indexOf('manifests.base'));
    expect(order.indexOf('manifests.base')).toBeLessThan(order.indexOf('agent.worker'));
    const clusterStep = doc.steps.find((s: {address: string}) => s.address === 'cluster.dev');
    // orx never binds kind's 0.0.0.0 default silently
    expect(clusterStep.after.config.nodes[0].extraPortMappings[0].listenAddress).toBe('127.0.0.1');

    const applied = await approvedRun('apply');
    expect(applied.stdout + applied.stderr).not.toContain(SECRET_VALUE);

    // the nodes are Docker containers, marked by orx's owner mount, ports on loopback only
    const ns = await nodes();
    expect(ns.map((n) => n.Labels['io.x-k8s.kind.role']).sort()).toEqual(['control-plane', 'worker']);
    const published = ns.flatMap((n) => n.Ports).filter((p) => p.PublicPort === hostPort);
    expect(published.length).toBeGreaterThan(0);
    for (const p of published) expect(p.IP).toBe('127.0.0.1');

    // kubeconfigs: the workspace's, 0600, and ~/.kube/config untouched
    const kc = (await run(['kubeconfig', 'dev'])).stdout.trim();
    expect(kc).toBe(path.join(ws.dir, '.orx/kube/dev.kubeconfig'));
    expect(fs.statSync(kc).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(ws.dir, '.orx/kubeconfig')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(standin.env.HOME, '.kube/config'))).toBe(false);
    const creates = standin.calls().filter((c) => c.tool === 'kind' && c.argv[0] === 'create');
    expect(creates).toHaveLength(1);
    expect(creates[0].argv).toContain('--kubeconfig');
    expect(creates[0].argv[creates[0].argv.indexOf('--kubeconfig') + 1]).toContain(path.join(ws.dir, '.orx'));

    // the objects, labelled; the agent's Deployment, ServiceAccount and Secret
    const objs = store();
    const byName = (kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
    expect(byName('ConfigMap', 'settings')?.metadata.labels).toMatchObject({
      'io.orchestrix.workspace': ws.name,
      'io.orchestrix.address': 'manifests.base',
    });
    const deployment = byName('Deployment', `orx-${ws.name}-worker`);
    expect(deployment?.metadata.namespace).toBe('lab');
    expect(deployment?.spec.template.spec.containers[0].securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: {drop: ['ALL']},
    });
    // its pods are isolated: the NetworkPolicy went in with the Deployment
    expect(byName('NetworkPolicy', `orx-${ws.name}-worker`)?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const secret = byName('Secret', `orx-${ws.name}-worker`);
    expect(Buffer.from(secret!.data!.API_KEY, 'base64').toString()).toBe(SECRET_VALUE);
    expect(secret!.data!['orx-token']).toBeTruthy();
    // the built image was loaded into the cluster's nodes before the rollout
    expect(standin.calls().some((c) => c.tool === 'kind' && c.argv[0] === 'load')).toBe(true);
    // the kind and kubectl versions are asked once per orx process
    const versions = standin.calls().filter((c) => c.argv[0] === 'version');
    expect(versions.length).toBeLessThanOrEqual(4);

    // converged: kubectl diff finds nothing and Docker shows the same nodes
    await run(['plan', '--detailed-exitcode']);

    // a file edit is an update of that object; an object removed from the files is deleted
    writeManifests({'settings.yaml': CONFIGMAP('b'), 'extra.yaml': null});
    const edit = await run(['plan', '--detailed-exitcode'], 2);
    expect(edit.stdout).toMatch(/~ ConfigMap lab\/settings \(v1\) will be updated/);
    expect(edit.stdout).toMatch(/- ConfigMap lab\/extra \(v1\)/);
    await run(['apply', '--auto-approve']);
    expect(store().find((o) => o.metadata.name === 'settings')?.data).toEqual({mode: 'b'});
    expect(store().find((o) => o.metadata.name === 'extra')).toBeUndefined();
    await run(['plan', '--detailed-exitcode']);

    // changed on the cluster behind orx's back: drift, and an update puts it back
    standin.writeObjects(
      `kind-${clusterName()}`,
      store().map((o) => (o.metadata.name === 'settings' ? {...o, data: {mode: 'hand-edited'}} : o)),
    );
    const drift = await run(['plan', '--detailed-exitcode'], 2);
    expect(drift.stdout).toMatch(/~ ConfigMap lab\/settings \(v1\) will be updated/);
    await run(['apply', '--auto-approve']);
    expect(store().find((o) => o.metadata.name === 'settings')?.data).toEqual({mode: 'b'});

    // render shows what plan showed, offline
    const rendered = await run(['render', 'agent', 'worker', '--json']);
    expect(JSON.parse(rendered.stdout).objects.map((o: {kind: string}) => o.kind)).toEqual([
      'ServiceAccount',
      'Deployment',
      'NetworkPolicy',
    ]);
    expect(rendered.stdout).not.toContain(SECRET_VALUE);

    // halt: no pod and no secret left in the cluster; resume's apply brings both back
    await run(['halt', '--reason', 'kube test']);
    const deploymentName = `orx-${ws.name}-worker`;
    expect(store().find((o) => o.kind === 'Deployment' && o.metadata.name === deploymentName)?.spec.replicas).toBe(0);
    expect(store().find((o) => o.kind === 'Secret')).toBeUndefined();
    const resumed = await run(['resume', '--reason', 'kube test over', '--auto-approve']);
    expect(resumed.stdout).toMatch(/~ Deployment lab\/orx-\S+-worker \(apps\/v1\) will be updated/);
    expect(store().find((o) => o.kind === 'Deployment' && o.metadata.name === deploymentName)?.spec.replicas).toBe(1);
    expect(store().find((o) => o.kind === 'Secret')).toBeTruthy();
    await run(['plan', '--detailed-exitcode']);

    // a removed node is drift Docker shows: the cluster must be replaced, and everything on it re-applied
    await docker.getContainer(`${clusterName()}-worker`).remove({force: true});
    const replaced = JSON.parse((await run(['plan', '--json'])).stdout);
    const byAddr = (a: string) => replaced.steps.find((s: {address: string}) => s.address === a);
    expect(byAddr('cluster.dev').action).toBe('replace');
    expect(byAddr('manifests.base').action).toBe('update');
    expect(byAddr('manifests.base').reasons.join()).toMatch(/cluster\.dev is replaced/);

    // destroy removes the agent, the objects and the cluster, and the kubeconfigs
    await approvedRun('destroy');
    expect(await nodes()).toHaveLength(0);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kubeconfig'))).toBe(false);
    expect(fs.existsSync(kc)).toBe(false);
  });

  it('render agent prints the NetworkPolicies and the egress gateway of an agent with egress, offline', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(
      workspaceYaml({
        extra: `    egress: [api.example.com]
    talks_to: [helper]
  helper: {image: base, target: kubernetes, cluster: dev, namespace: lab, user: "1000:1000"}
egress_gateway: {image: "registry.example/squid:6"}
`,
      }),
    );
    const human = (await run(['render', 'agent', 'worker'])).stdout;
    const docs = human
      .split(/^---$/m)
      .filter((d) => d.trim())
      .map((d) => parse(d) as {kind: string; metadata: {name: string}; spec?: any; data?: Record<string, string>});
    const w = `orx-${ws.name}-worker`;
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      `ServiceAccount/${w}`,
      `Deployment/${w}`,
      `NetworkPolicy/${w}`,
      `ConfigMap/${w}-egress`,
      `Service/${w}-egress`,
      `NetworkPolicy/${w}-egress`,
      `Deployment/${w}-egress`,
    ]);
    const policy = docs[2].spec;
    expect(policy.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.egress.map((r: {ports?: Array<{port: number}>}) => r.ports?.map((p) => p.port) ?? 'any')).toEqual([
      [53, 53],
      [3128],
      'any',
    ]);
    expect(policy.egress[2].to[0].podSelector.matchLabels['io.orchestrix.address']).toBe('agent.helper');
    expect(docs[3].data!['squid.conf']).toContain('dstdomain -n api.example.com');
    expect(docs[6].spec.template.spec.containers[0].image).toBe('registry.example/squid:6');
    // the peer admits the worker's pods, and nothing else
    const helper = JSON.parse((await run(['render', 'agent', 'helper', '--json'])).stdout).objects;
    expect(helper.map((o: {kind: string}) => o.kind)).toEqual(['ServiceAccount', 'Deployment', 'NetworkPolicy']);
    expect(helper[2].spec.ingress).toEqual([
      {from: [{podSelector: {matchLabels: {'io.orchestrix.workspace': ws.name, 'io.orchestrix.address': 'agent.worker'}}}]},
    ]);
    // offline: nothing ran kubectl or kind
    expect(standin.calls()).toEqual([]);
  });

  it('writes the context into the user kubeconfig only with export_kubeconfig, and takes it out again', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    const userConfig = path.join(standin.env.HOME, '.kube/config');
    ws.write(workspaceYaml({agent: false}).replace('    wait: 30s\n', '    wait: 30s\n    export_kubeconfig: true\n'));
    await run(['apply', '--auto-approve']);
    expect(fs.readFileSync(userConfig, 'utf8')).toContain(`kind-${clusterName()}`);

    ws.write(workspaceYaml({agent: false}));
    const plan = await run(['plan', '--detailed-exitcode'], 2);
    expect(plan.stdout).toMatch(/~ export_kubeconfig = true -> false/);
    expect(plan.stdout).not.toMatch(/forces replacement/);
    await run(['apply', '--auto-approve']);
    // as `kubectl config delete-context` leaves it: the entries go, current-context is the user's to change
    const after = parse(fs.readFileSync(userConfig, 'utf8')) as Record<string, Array<{name: string}>>;
    for (const list of ['clusters', 'contexts', 'users']) expect(after[list].map((e) => e.name)).not.toContain(`kind-${clusterName()}`);
    // the workspace's own kubeconfig is there all along
    expect(fs.readFileSync(path.join(ws.dir, '.orx/kubeconfig'), 'utf8')).toContain(`kind-${clusterName()}`);
  });

  it(
    'a saved plan is stale once a manifest file changes; a rotated secret rolls the agent with a new Secret',
    {timeout: 120_000},
    async () => {
      writeManifests({'namespace.yaml': NAMESPACE, 'settings.yaml': CONFIGMAP('a')});
      ws.write(workspaceYaml());
      await run(['plan', '-out', 'plans/first.plan.json']);
      writeManifests({'settings.yaml': CONFIGMAP('edited')});
      const stale = await run(['apply', 'plans/first.plan.json', '--auto-approve'], 5);
      expect(stale.stderr).toMatch(/stale|changed/i);
      expect(standin.calls().some((c) => c.tool === 'kind' && c.argv[0] === 'create')).toBe(false);
      await approvedRun('apply');

      const name = `orx-${ws.name}-worker`;
      const revision = () =>
        store().find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.spec.template.metadata.annotations?.[
          'io.orchestrix/secrets-revision'
        ];
      const before = revision();
      expect(before).toBeTruthy();
      await run(['plan', '--detailed-exitcode']);
      const rotated = await run(['plan', '--refresh-secrets', '--detailed-exitcode'], 2, {ORX_TEST_API_KEY: 'kube-canary-rotated-91b2'});
      expect(rotated.stdout).toMatch(/~ secret API_KEY \(sensitive\) \(rotated\)/);
      await run(['apply', '--auto-approve'], 0, {ORX_TEST_API_KEY: 'kube-canary-rotated-91b2'});
      const secret = store().find((o) => o.kind === 'Secret' && o.metadata.name === name);
      expect(Buffer.from(secret!.data!.API_KEY, 'base64').toString()).toBe('kube-canary-rotated-91b2');
      expect(revision()).not.toBe(before);
      await run(['plan', '--detailed-exitcode'], 0, {ORX_TEST_API_KEY: 'kube-canary-rotated-91b2'});
    },
  );

  it('refuses a same-named cluster orx did not create, and never deletes it', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(workspaceYaml({agent: false}));
    const cfg = path.join(standin.state, 'foreign.yaml');
    fs.writeFileSync(cfg, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n');
    const made = await import('node:child_process').then((cp) =>
      cp.spawnSync(
        standinBin.kind,
        [
          'create',
          'cluster',
          '--name',
          clusterName(),
          '--config',
          cfg,
          '--image',
          NODE_IMAGE,
          '--wait',
          '30s',
          '--kubeconfig',
          path.join(standin.state, 'foreign.kubeconfig'),
        ],
        {env: {...process.env, ...standin.env}, encoding: 'utf8'},
      ),
    );
    expect(made.status, made.stderr).toBe(0);
    const r = await run(['apply', '--auto-approve'], 6);
    expect(r.stderr).toContain(`a kind cluster named "${clusterName()}" already exists and orx did not create it`);
    expect(r.stderr).toContain(`kind delete cluster --name ${clusterName()}`);
    expect(noStack(r.stderr)).toBe(true);
    expect(await nodes()).toHaveLength(1);
    expect(standin.calls().some((c) => c.tool === 'kind' && c.argv[0] === 'delete')).toBe(false);
  });

  it('adopts the cluster an interrupted apply left, without creating it again', {timeout: 120_000}, async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(workspaceYaml({agent: false}));
    const env = {...standin.env, ORX_STANDIN_KIND_CREATE_DELAY_MS: '4000'};
    const {child, done} = startOrx(['apply', '--auto-approve'], {cwd: ws.dir, env});
    await until('the node containers', async () => (await nodes()).length === 2, 60_000);
    child.kill('SIGKILL');
    await done;
    // the stand-in kind goes on after orx died, like the real one would
    await until(
      'kind create to finish',
      () => standin.calls().length > 0 && fs.existsSync(path.join(standin.state, 'kind', `${clusterName()}.json`)),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 4500));
    const planned = JSON.parse((await run(['plan', '--json'])).stdout);
    const step = planned.steps.find((s: {address: string}) => s.address === 'cluster.dev');
    expect(step.action).toBe('create');
    expect(step.reasons.join()).toMatch(/left by an interrupted apply/);
    // the killed apply's lock is stale: lifted by hand, as for any killed apply
    const locked = await run(['apply', '--auto-approve'], 4);
    const lockId = /lock (lock-[0-9a-z]+) is STALE/.exec(locked.stderr)?.[1];
    await run(['force-unlock', lockId!, '--reason', 'the apply was killed in a test']);
    await run(['apply', '--auto-approve']);
    expect(standin.calls().filter((c) => c.tool === 'kind' && c.argv[0] === 'create')).toHaveLength(1);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kube/dev.kubeconfig'))).toBe(true);
    await run(['plan', '--detailed-exitcode']);
  });

  it('says what is wrong with the tools: missing, too old, failing (redacted, with the command line)', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(workspaceYaml({agent: false}));
    const missing = await run(['apply', '--auto-approve'], 6, {ORX_KIND: '/nonexistent/kind'});
    expect(missing.stderr).toMatch(/kind not found \(\/nonexistent\/kind\)/);
    expect(noStack(missing.stderr)).toBe(true);

    const old = await run(['apply', '--auto-approve'], 6, {ORX_STANDIN_KIND_VERSION: '0.9.0'});
    expect(old.stderr).toMatch(/orx needs kind 0\.20\.0 or newer/);

    const failed = await run(['apply', '--auto-approve'], 6, {ORX_STANDIN_KIND_FAIL_CREATE: '1'});
    expect(failed.stderr).toMatch(/kind create cluster --name \S+ --config .* failed \(exit 1\)/);
    expect(failed.stderr).toMatch(/stand-in failure requested/);
    expect(await nodes()).toHaveLength(0);
  });

  it('an agent whose pods never become ready fails the apply (exit 6) after its rollout timeout', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(
      workspaceYaml().replace(
        '    secrets: {API_KEY: env://ORX_TEST_API_KEY}\n',
        '    secrets: {API_KEY: env://ORX_TEST_API_KEY}\n    budget: {time: 15s}\n',
      ),
    );
    const tag = JSON.parse((await run(['plan', '--json'])).stdout).steps.find((s: {address: string}) => s.address === 'agent.worker').after
      .image_ref;
    const r = await approvedRun('apply', 6, {ORX_STANDIN_UNREADY_IMAGES: tag});
    expect(r.stderr).toMatch(/rollout status deployment\/orx-\S+-worker .*failed/);
    expect(r.stderr).toMatch(/timed out waiting for the condition/);
    expect(r.stderr).not.toContain(SECRET_VALUE);
  });

  it('applies manifests to a context of another kubeconfig, and refuses to plan against an unreachable one without --refresh=false', async () => {
    writeManifests({'settings.yaml': CONFIGMAP('x').replace('namespace: lab', 'namespace: default')});
    const kubeconfig = path.join(ws.dir, 'remote.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: remote, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: ops, context: {cluster: remote, user: ops}}]\nusers: [{name: ops, user: {token: not-a-real-token}}]\ncurrent-context: ops\n',
      {mode: 0o600},
    );
    ws.write(`workspace: __WS__\nautonomy: 3\nmanifests:\n  ops: {context: ops, kubeconfig: remote.kubeconfig, path: k8s}\n`);
    const unreachable = await run(['plan'], 1);
    expect(unreachable.stderr).toMatch(/cannot refresh manifests\.ops on context ops/);
    expect(unreachable.stderr).toMatch(/--refresh=false/);
    expect(noStack(unreachable.stderr)).toBe(true);

    standin.writeObjects('remote', []);
    await run(['apply', '--auto-approve']);
    expect(standin.objects('remote').map((o: {metadata: {name: string}}) => o.metadata.name)).toEqual(['settings']);
    await run(['plan', '--detailed-exitcode']);

    // unreachable again: the ledger's record stands in with --refresh=false
    fs.rmSync(path.join(standin.state, 'k8s', 'remote.json'));
    writeManifests({'settings.yaml': CONFIGMAP('y').replace('namespace: lab', 'namespace: default')});
    const offline = await run(['plan', '--refresh=false', '--detailed-exitcode'], 2);
    expect(offline.stdout).toMatch(/~ ConfigMap default\/settings \(v1\) will be updated/);
  });
});
