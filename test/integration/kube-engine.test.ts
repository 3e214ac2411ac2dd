// Clusters, manifests and Kubernetes agents planned and applied in-process (the engine's own
// functions, so src/ counts for coverage), against the real Docker engine and the
// process-boundary stand-ins for kind and kubectl (test/fixtures/bin: real kind cannot run
// here). The stand-ins run as children of this process: their environment (state directory,
// node image, HOME, KUBECONFIG) is set on process.env for each test and restored after.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {parse} from 'yaml';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {connectDocker} from '../../src/drivers/docker.js';
import {haltWorkspace, liftHalt} from '../../src/app/halt.js';
import type {PlanDocument} from '../../src/engine/planfile.js';
import {objectId} from '../../src/k8s/objects.js';
import {clusterAction} from '../../src/resources/cluster.js';
import {LIVE_MARK} from '../../src/resources/manifests.js';
import {Ledger} from '../../src/ledger/ledger.js';
import type {ApplyContext, PlannedStep} from '../../src/resources/types.js';
import {silentLogger} from '../../src/ui/logger.js';
import {actions, apply, context, converge, plan, withLedger} from '../helpers/engine.js';
import {
  ensureStandinNodeImage,
  makeStandin,
  STANDIN_NODE_IMAGE,
  standinBin,
  type Standin,
  MANIFEST,
  writeManifests as writeManifestFiles,
} from '../helpers/kube.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

const NODE_IMAGE = `kindest/node:v1.31.0@sha256:${'ab'.repeat(32)}`;
const SECRET_ENV = 'ORX_TEST_KUBE_ENGINE_API_KEY';
const SECRET_VALUE = 'kube-engine-canary-7c2e91';

let ws: TestWorkspace;
let standin: Standin;
let savedEnv: Record<string, string | undefined>;

beforeAll(async () => {
  await ensureStandinNodeImage();
});

beforeEach(() => {
  ws = makeWorkspace('kube-eng');
  standin = makeStandin();
  const env: Record<string, string | undefined> = {
    ...standin.env,
    KUBECONFIG: path.join(standin.env.HOME, '.kube/config'),
    [SECRET_ENV]: SECRET_VALUE,
  };
  savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  setEnv(env);
});

afterEach(async () => {
  try {
    await standin.cleanup();
    await ws.cleanup();
  } finally {
    setEnv(savedEnv);
  }
});

function setEnv(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

function workspaceYaml(opts: {agent?: boolean; prune?: boolean; exportKubeconfig?: boolean} = {}): string {
  return `workspace: __WS__
autonomy: 3
images:
  base:
    build: {context: images/agent-base}
clusters:
  dev:
    node_image: "${NODE_IMAGE}"
    wait: 30s${opts.exportKubeconfig ? '\n    export_kubeconfig: true' : ''}
    config:
      kind: Cluster
      apiVersion: kind.x-k8s.io/v1alpha4
      nodes:
        - role: control-plane
manifests:
  base: {cluster: dev, path: k8s${opts.prune === false ? ', prune: false' : ''}}
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
    resources: {cpus: 0.5, memory: 128m}
    secrets: {API_KEY: env://${SECRET_ENV}}
`
}`;
}

const writeManifests = (files: Record<string, string | null>): void => writeManifestFiles(ws.dir, files);
const {namespace: NAMESPACE, settings: CONFIGMAP, extra: EXTRA} = MANIFEST;

const SETTINGS_ID = 'v1/ConfigMap/lab/settings';
const EXTRA_ID = 'v1/ConfigMap/lab/extra';

const clusterName = () => `orx-${ws.name}-dev`;
const storeName = () => `kind-${clusterName()}`;
type Stored = {
  apiVersion: string;
  kind: string;
  metadata: {name: string; namespace?: string; labels?: Record<string, string>};
  data?: Record<string, string>;
  spec?: any;
};
const store = (): Stored[] => standin.objects(storeName());
const find = (kind: string, name: string) => store().find((o) => o.kind === kind && o.metadata.name === name);
const nodes = () => docker.listContainers({all: true, filters: {label: [`io.x-k8s.kind.cluster=${clusterName()}`]}});
const stepOf = (doc: PlanDocument, address: string) => doc.steps.find((s) => s.address === address)!;
const changePaths = (s: PlannedStep) => s.changes.map((c) => `${c.before === null ? '+' : c.after === null ? '-' : '~'} ${c.path}`);
const toolCalls = () => standin.calls().filter((c) => c.argv[0] !== 'version');

describe('kind clusters, manifests and Kubernetes agents through the engine (stand-in kind and kubectl)', () => {
  it('converges; a file edit, a removal and a hand edit are per-object updates; --refresh=false plans from the ledger', async () => {
    writeManifests({'namespace.yaml': NAMESPACE, 'settings.yaml': CONFIGMAP('a'), 'extra.yaml': EXTRA});
    ws.write(workspaceYaml());

    const first = await plan(ws.dir);
    expect(actions(first)).toEqual(['create image.base', 'create cluster.dev', 'create manifests.base', 'create agent.worker']);
    expect(changePaths(stepOf(first, 'manifests.base'))).toEqual([
      `+ objects.${EXTRA_ID}`,
      `+ objects.${SETTINGS_ID}`,
      '+ objects.v1/Namespace//lab',
    ]);
    // the secret is resolved at apply, never in a plan
    expect(JSON.stringify(first)).not.toContain(SECRET_VALUE);
    await converge(ws.dir);

    expect(
      store()
        .map((o) => `${o.kind} ${o.metadata.name}`)
        .sort(),
    ).toEqual(
      [
        `Deployment orx-${ws.name}-worker`,
        'ConfigMap extra',
        'ConfigMap settings',
        'Namespace lab',
        `NetworkPolicy orx-${ws.name}-worker`,
        `Secret orx-${ws.name}-worker`,
        `ServiceAccount orx-${ws.name}-worker`,
      ].sort(),
    );
    expect(find('ConfigMap', 'settings')?.metadata.labels).toMatchObject({
      'io.orchestrix.workspace': ws.name,
      'io.orchestrix.address': 'manifests.base',
    });
    expect(Buffer.from(find('Secret', `orx-${ws.name}-worker`)!.data!.API_KEY, 'base64').toString()).toBe(SECRET_VALUE);
    const records = withLedger(ws.dir, (l) => Object.fromEntries(l.listResources().map((r) => [r.address, r])));
    expect(records['cluster.dev'].object_id).toBe(clusterName());
    expect(records['manifests.base'].object_id).toBe(storeName());
    expect(records['agent.worker'].object_id).toBe(`lab/orx-${ws.name}-worker`);
    expect(JSON.stringify(records)).not.toContain(SECRET_VALUE);
    expect(fs.statSync(path.join(ws.dir, '.orx/kube/dev.kubeconfig')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(ws.dir, '.orx/kubeconfig')).mode & 0o777).toBe(0o600);
    // kind wrote its own kubeconfig to a scratch file, since removed: ~/.kube/config was never touched
    expect(fs.existsSync(path.join(standin.env.HOME, '.kube/config'))).toBe(false);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kind', `${clusterName()}.kind-kubeconfig`))).toBe(false);

    // converged: every step a no-op, nothing to record, no drift
    const settled = await plan(ws.dir);
    expect(settled.steps.map((s) => `${s.action}${s.record ? '+record' : ''} ${s.address}`)).toEqual([
      'noop image.base',
      'noop cluster.dev',
      'noop manifests.base',
      'noop agent.worker',
    ]);
    expect(settled.drift).toEqual([]);

    // a file edit is an update of that object; an object gone from the files is deleted
    writeManifests({'settings.yaml': CONFIGMAP('b'), 'extra.yaml': null});
    const edit = await plan(ws.dir);
    expect(actions(edit)).toEqual(['update manifests.base']);
    expect(changePaths(stepOf(edit, 'manifests.base'))).toEqual([`- objects.${EXTRA_ID}`, `~ objects.${SETTINGS_ID}`]);
    expect(edit.drift).toEqual([]);
    const out = await apply(ws.dir, edit);
    expect(out.failed).toBe(false);
    expect(find('ConfigMap', 'settings')?.data).toEqual({mode: 'b'});
    expect(find('ConfigMap', 'extra')).toBeUndefined();
    expect(actions(await plan(ws.dir))).toEqual([]);

    // the workspace kubeconfig is kind's to give: a removed one is written again by refresh
    fs.rmSync(path.join(ws.dir, '.orx/kube/dev.kubeconfig'));
    fs.rmSync(path.join(ws.dir, '.orx/kubeconfig'));
    expect(actions(await plan(ws.dir))).toEqual([]);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kube/dev.kubeconfig'))).toBe(true);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kubeconfig'))).toBe(true);

    // changed on the cluster behind orx's back: drift, and an update of that object alone
    const handEdited = store().map((o) => (o.metadata.name === 'settings' ? {...o, data: {mode: 'hand-edited'}} : o));
    standin.writeObjects(storeName(), handEdited);
    const drift = await plan(ws.dir);
    expect(drift.drift.map((d) => `${d.status} ${d.address}`)).toEqual(['changed manifests.base']);
    expect(actions(drift)).toEqual(['update manifests.base']);
    const step = stepOf(drift, 'manifests.base');
    expect(changePaths(step)).toEqual([`~ objects.${SETTINGS_ID}`]);
    // refresh saw only that it differs: the live object is known by its digest, never copied into the plan
    const seen = (step.before!.objects as Record<string, Record<string, unknown>>)[SETTINGS_ID];
    expect(Object.keys(seen)).toEqual([LIVE_MARK]);
    expect(seen[LIVE_MARK]).toMatch(/^[0-9a-f]{12}$/);
    expect(JSON.stringify(drift)).not.toContain('hand-edited');
    expect((await apply(ws.dir, drift)).failed).toBe(false);
    expect(find('ConfigMap', 'settings')?.data).toEqual({mode: 'b'});

    // --refresh=false: the ledger stands in for the cluster, and neither tool is run
    standin.writeObjects(storeName(), handEdited);
    const before = toolCalls().length;
    expect(actions(await plan(ws.dir, {refresh: false}))).toEqual([]);
    writeManifests({'settings.yaml': CONFIGMAP('c')});
    const offline = await plan(ws.dir, {refresh: false});
    expect(actions(offline)).toEqual(['update manifests.base']);
    expect(changePaths(stepOf(offline, 'manifests.base'))).toEqual([`~ objects.${SETTINGS_ID}`]);
    expect(toolCalls().length).toBe(before);
  });

  it('halt scales the agent to zero and deletes its Secret; the next apply brings both back; destroy removes everything', async () => {
    writeManifests({'namespace.yaml': NAMESPACE, 'settings.yaml': CONFIGMAP('a')});
    ws.write(workspaceYaml());
    await converge(ws.dir);
    const deployment = `orx-${ws.name}-worker`;
    expect(find('Deployment', deployment)?.spec.replicas).toBe(1);

    const ledger = Ledger.open(ws.dir);
    const halted = await haltWorkspace(context(ws.dir), ledger, {reason: 'kube engine test'}).finally(() => ledger.close());
    expect(halted.failures).toEqual([]);
    expect(halted.state.stopped).toEqual([{address: 'agent.worker', object_id: `lab/${deployment}`}]);
    expect(find('Deployment', deployment)?.spec.replicas).toBe(0);
    expect(find('Secret', deployment)).toBeUndefined();
    // the rest stays: halt deletes nothing but the secret
    expect(find('ServiceAccount', deployment)).toBeTruthy();
    expect(find('ConfigMap', 'settings')).toBeTruthy();
    await withLedger(ws.dir, (l) => liftHalt(context(ws.dir), l, 'kube engine test over'));

    // the scaled-down Deployment is a change on the cluster: one object line, the rest as it was
    const resume = await plan(ws.dir);
    expect(actions(resume)).toEqual(['update agent.worker']);
    expect(changePaths(stepOf(resume, 'agent.worker'))).toEqual([`~ objects.apps/v1/Deployment/lab/${deployment}`]);
    expect((await apply(ws.dir, resume)).failed).toBe(false);
    expect(find('Deployment', deployment)?.spec.replicas).toBe(1);
    expect(find('Secret', deployment)).toBeTruthy();

    const destroy = await plan(ws.dir, {mode: 'destroy'});
    expect(destroy.steps.map((s) => `${s.action} ${s.address}`).sort()).toEqual([
      'delete agent.worker',
      'delete cluster.dev',
      'delete image.base',
      'delete manifests.base',
    ]);
    // what is on the cluster goes before the cluster
    expect(stepOf(destroy, 'manifests.base').depends_on).toContain('cluster.dev');
    expect(stepOf(destroy, 'agent.worker').depends_on).toContain('cluster.dev');
    const out = await apply(ws.dir, destroy);
    expect(out.results.map((r) => `${r.status} ${r.step.address}`).sort()).toEqual([
      'succeeded agent.worker',
      'succeeded cluster.dev',
      'succeeded image.base',
      'succeeded manifests.base',
    ]);
    expect(await nodes()).toHaveLength(0);
    expect(fs.existsSync(path.join(standin.state, 'kind', `${clusterName()}.json`))).toBe(false);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kubeconfig'))).toBe(false);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kube/dev.kubeconfig'))).toBe(false);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kind', `${clusterName()}.owner`))).toBe(false);
    expect(withLedger(ws.dir, (l) => l.listResources())).toEqual([]);
    // the agent's objects were deleted before the cluster went (kubectl delete ran for them)
    const deletes = standin.calls().filter((c) => c.tool === 'kubectl' && c.argv.includes('delete'));
    expect(deletes.length).toBeGreaterThanOrEqual(2);
    const kindDelete = standin.calls().findIndex((c) => c.tool === 'kind' && c.argv[0] === 'delete');
    expect(standin.calls().findLastIndex((c) => c.tool === 'kubectl' && c.argv.includes('delete'))).toBeLessThan(kindDelete);
  });

  it('a same-named cluster orx did not create fails the cluster step with name_conflict and is never deleted', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(workspaceYaml({agent: false}));
    const cfg = path.join(standin.state, 'foreign.yaml');
    fs.writeFileSync(cfg, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n');
    const made = spawnSync(
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
      {env: process.env, encoding: 'utf8'},
    );
    expect(made.status, made.stderr).toBe(0);

    const doc = await plan(ws.dir);
    // not ours (no owner mount): nothing to adopt, nothing recorded
    expect(stepOf(doc, 'cluster.dev')).toMatchObject({action: 'create', reasons: []});
    const out = await apply(ws.dir, doc);
    expect(out.failed).toBe(true);
    const failed = out.results.find((r) => r.step.address === 'cluster.dev')!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain(`a kind cluster named "${clusterName()}" already exists and orx did not create it`);
    expect(out.results.find((r) => r.step.address === 'manifests.base')?.status).not.toBe('succeeded');
    expect(await nodes()).toHaveLength(1);
    expect(
      standin
        .calls()
        .some(
          (c) =>
            c.tool === 'kind' &&
            (c.argv[0] === 'delete' ||
              (c.argv[0] === 'create' && c.argv.includes(path.join(ws.dir, '.orx/kind', `${clusterName()}.yaml`)))),
        ),
    ).toBe(false);
    expect(withLedger(ws.dir, (l) => l.getResource('cluster.dev'))).toBeUndefined();
    // and destroy does not touch it either: nothing is recorded
    expect((await plan(ws.dir, {mode: 'destroy'})).steps.filter((s) => s.kind === 'cluster')).toEqual([]);
  });

  it('adopts the cluster a create left unrecorded, without creating it again', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(workspaceYaml({agent: false}));
    const first = await plan(ws.dir);
    // the cluster step's work done, as if the apply died before recording it
    const ctx = {
      docker: await connectDocker(),
      workspace: ws.name,
      dir: ws.dir,
      log: silentLogger,
      memo: new Map(),
    } as unknown as ApplyContext;
    await clusterAction.apply(stepOf(first, 'cluster.dev'), ctx);
    expect(await nodes()).toHaveLength(1);
    expect(withLedger(ws.dir, (l) => l.getResource('cluster.dev'))).toBeUndefined();

    const again = await plan(ws.dir);
    expect(stepOf(again, 'cluster.dev')).toMatchObject({
      action: 'create',
      reasons: ['found (left by an interrupted apply): will be adopted'],
    });
    // a cluster orx has not recorded has none of its objects yet
    expect(stepOf(again, 'manifests.base').action).toBe('create');
    fs.rmSync(path.join(ws.dir, '.orx/kube'), {recursive: true});
    const out = await apply(ws.dir, again);
    expect(out.failed).toBe(false);
    expect(standin.calls().filter((c) => c.tool === 'kind' && c.argv[0] === 'create')).toHaveLength(1);
    expect(fs.existsSync(path.join(ws.dir, '.orx/kube/dev.kubeconfig'))).toBe(true);
    expect(find('Namespace', 'lab')).toBeTruthy();
    expect(withLedger(ws.dir, (l) => l.getResource('cluster.dev')?.object_id)).toBe(clusterName());
    expect(actions(await plan(ws.dir))).toEqual([]);

    // export_kubeconfig changes in place: the context goes into the user's kubeconfig, and out again
    const userKubeconfig = process.env.KUBECONFIG!;
    const contexts = () =>
      fs.existsSync(userKubeconfig)
        ? (parse(fs.readFileSync(userKubeconfig, 'utf8')).contexts ?? []).map((c: {name: string}) => c.name)
        : [];
    ws.write(workspaceYaml({agent: false, exportKubeconfig: true}));
    const exported = await plan(ws.dir);
    expect(actions(exported)).toEqual(['update cluster.dev']);
    expect(stepOf(exported, 'cluster.dev').changes).toEqual([
      {path: 'export_kubeconfig', before: false, after: true, forces_replacement: false},
    ]);
    expect((await apply(ws.dir, exported)).failed).toBe(false);
    expect(contexts()).toEqual([storeName()]);
    ws.write(workspaceYaml({agent: false}));
    const forgotten = await plan(ws.dir);
    expect(actions(forgotten)).toEqual(['update cluster.dev']);
    expect((await apply(ws.dir, forgotten)).failed).toBe(false);
    expect(contexts()).toEqual([]);
    expect(standin.calls().filter((c) => c.tool === 'kind' && c.argv[0] === 'create')).toHaveLength(1);
  });

  it('a cluster left half-made (kind cannot give its kubeconfig) is deleted and made anew', async () => {
    writeManifests({'namespace.yaml': NAMESPACE});
    ws.write(workspaceYaml({agent: false}));
    const first = await plan(ws.dir);
    const ctx = {
      docker: await connectDocker(),
      workspace: ws.name,
      dir: ws.dir,
      log: silentLogger,
      memo: new Map(),
    } as unknown as ApplyContext;
    await clusterAction.apply(stepOf(first, 'cluster.dev'), ctx);
    await docker.getContainer(`${clusterName()}-control-plane`).stop({t: 1});

    const again = await plan(ws.dir);
    expect(stepOf(again, 'cluster.dev')).toMatchObject({
      action: 'create',
      reasons: ['found (left by an interrupted apply): will be adopted'],
    });
    expect((await apply(ws.dir, again)).failed).toBe(false);
    const kindCalls = standin
      .calls()
      .filter((c) => c.tool === 'kind')
      .map((c) => c.argv[0]);
    expect(kindCalls.filter((a) => a === 'create')).toHaveLength(2);
    expect(kindCalls.lastIndexOf('delete')).toBeLessThan(kindCalls.lastIndexOf('create'));
    const [node] = await nodes();
    expect(node?.State).toBe('running');
    expect(find('Namespace', 'lab')).toBeTruthy();
  });

  it('manifests on a context of another kubeconfig: applied there; an unreachable one is cluster_unreachable, naming --refresh=false', async () => {
    writeManifests({'settings.yaml': CONFIGMAP('x').replace('namespace: lab', 'namespace: default')});
    const kubeconfig = path.join(ws.dir, 'remote.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: remote, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: ops, context: {cluster: remote, user: ops}}]\nusers: [{name: ops, user: {token: not-a-real-token}}]\ncurrent-context: ops\n',
      {mode: 0o600},
    );
    ws.write(`workspace: __WS__\nautonomy: 3\nmanifests:\n  ops: {context: ops, kubeconfig: remote.kubeconfig, path: k8s}\n`);
    await expect(plan(ws.dir)).rejects.toMatchObject({
      code: 'cluster_unreachable',
      message: expect.stringMatching(/^cannot refresh manifests\.ops on context ops: /),
      actions: [expect.stringContaining('--refresh=false')],
    });

    standin.writeObjects('remote', []);
    const {doc} = await converge(ws.dir);
    expect(stepOf(doc, 'manifests.ops').depends_on).toEqual([]);
    expect(standin.objects('remote').map((o: Stored) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['default/settings']);
    expect(withLedger(ws.dir, (l) => l.getResource('manifests.ops')?.object_id)).toBe('ops');
    for (const c of toolCalls()) expect(c.argv.slice(0, 2)).toEqual(['--kubeconfig', kubeconfig]);
    expect(actions(await plan(ws.dir))).toEqual([]);

    // gone from the configuration: its objects are deleted from that context
    ws.write(`workspace: __WS__\nautonomy: 3\n`);
    const removed = await plan(ws.dir);
    expect(actions(removed)).toEqual(['delete manifests.ops']);
    expect((await apply(ws.dir, removed)).failed).toBe(false);
    expect(standin.objects('remote')).toEqual([]);
  });

  it('prune: false leaves an object gone from the files on the cluster, and later plans stay clean', async () => {
    writeManifests({'namespace.yaml': NAMESPACE, 'settings.yaml': CONFIGMAP('a'), 'extra.yaml': EXTRA});
    ws.write(workspaceYaml({agent: false, prune: false}));
    await converge(ws.dir);
    writeManifests({'extra.yaml': null});
    const doc = await plan(ws.dir);
    expect(changePaths(stepOf(doc, 'manifests.base'))).toEqual(['~ files']);
    expect(stepOf(doc, 'manifests.base').reasons).toEqual([
      'ConfigMap lab/extra is no longer in the files and stays on the cluster (prune: false)',
    ]);
    expect((await apply(ws.dir, doc)).failed).toBe(false);
    expect(find('ConfigMap', 'extra')).toBeTruthy();
    expect(Object.keys(withLedger(ws.dir, (l) => l.getResource('manifests.base')!.attributes.objects as object)).sort()).toEqual([
      SETTINGS_ID,
      objectId({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'lab'}}),
    ]);
    // left alone on purpose: not a change, and not drift either
    const next = await plan(ws.dir);
    expect(actions(next)).toEqual([]);
    expect(next.drift).toEqual([]);
  });
  it("an agent's egress gateway is applied with it, converges, and is deleted when its egress goes", async () => {
    const kubeconfig = path.join(ws.dir, 'remote.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: remote, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: ops, context: {cluster: remote, user: ops}}]\nusers: [{name: ops, user: {token: not-a-real-token}}]\ncurrent-context: ops\n',
      {mode: 0o600},
    );
    standin.writeObjects('remote', []);
    const yaml = (egress: string) => `workspace: __WS__
autonomy: 3
images:
  base: {ref: "${STANDIN_NODE_IMAGE}"}
egress_gateway: {image: "registry.example/squid:6"}
agents:
  worker:
    image: base
    target: kubernetes
    context: ops
    kubeconfig: remote.kubeconfig
    namespace: default
    user: "1000:1000"
    command: ["/bin/sh", "-c", "sleep 3600"]
    resources: {cpus: 0.5, memory: 128m}
${egress}`;
    ws.write(yaml('    egress: [api.example.com]\n'));
    await converge(ws.dir);
    const live = () => (standin.objects('remote') as Stored[]).map((o) => `${o.kind}/${o.metadata.name}`).sort();
    const w = `orx-${ws.name}-worker`;
    expect(live()).toEqual(
      [
        `ConfigMap/${w}-egress`,
        `Deployment/${w}`,
        `Deployment/${w}-egress`,
        `NetworkPolicy/${w}`,
        `NetworkPolicy/${w}-egress`,
        `Secret/${w}`,
        `Service/${w}-egress`,
        `ServiceAccount/${w}`,
      ].sort(),
    );
    // the NetworkPolicies went in before the Deployments; the gateway's rollout was waited on first
    const calls = toolCalls().map((c) => c.argv.filter((a) => !a.startsWith('--') && a !== 'ops' && a !== kubeconfig));
    const rollouts = calls.filter((a) => a[0] === 'rollout').map((a) => a[2]);
    expect(rollouts).toEqual([`deployment/${w}-egress`, `deployment/${w}`]);
    // refresh finds every object under agent.worker and the same as rendered: nothing to do, no drift
    const again = await plan(ws.dir);
    expect(actions(again)).toEqual([]);
    expect(again.drift).toEqual([]);

    ws.write(yaml(''));
    const dropped = await plan(ws.dir);
    expect(actions(dropped)).toEqual(['update agent.worker']);
    expect((await apply(ws.dir, dropped)).failed).toBe(false);
    expect(live()).toEqual([`Deployment/${w}`, `NetworkPolicy/${w}`, `Secret/${w}`, `ServiceAccount/${w}`].sort());
    const policy = (standin.objects('remote') as Stored[]).find((o) => o.kind === 'NetworkPolicy')!;
    expect(policy.spec.egress).toHaveLength(1);
    expect(actions(await plan(ws.dir))).toEqual([]);
  });
});
