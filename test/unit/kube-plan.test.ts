// The pure parts of clusters, manifests and Kubernetes agents: object identities in the forms
// orx, kubectl and `kubectl diff` use, the per-object manifests plan, the planner's cluster
// rules (adoption, re-applying what was on a replaced cluster, kind order), the plan view,
// the workspace kubeconfig files, and the tool runner (run against small scripts and the
// kubectl stand-in: processes, but no Docker engine).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';
import {parse} from 'yaml';
import {applyObjects, deleteObjects, diffObjects, listLabelled} from '../../src/drivers/kubectl.js';
import {checkTool, exec, findOnPath, operatorToolPaths, parseVersion, tool, toolFailed} from '../../src/drivers/tools.js';
import {loadConfig} from '../../src/config/load.js';
import {kubeconfigInfo, renderAgentView} from '../../src/app/kube-info.js';
import {buildPlan, type PlanInput} from '../../src/engine/planner.js';
import type {Observation} from '../../src/engine/refresh.js';
import {OrxError} from '../../src/errors.js';
import {clusterKubeconfig, removeClusterKubeconfig, saveClusterKubeconfig, workspaceKubeconfig} from '../../src/k8s/kubeconfig.js';
import {diffName, identityOnly, itemsOf, kubectlType, objectId, parseObjectId, type KubeObject} from '../../src/k8s/objects.js';
import type {KubeAgentInput} from '../../src/k8s/render-agent.js';
import type {KubeAttr} from '../../src/k8s/target.js';
import {Ledger} from '../../src/ledger/ledger.js';
import type {ResourceRecord} from '../../src/ledger/types.js';
import {clusterAction, nodeRoles, kindConfigFor, OWNER_MOUNT, ownerFile, type ClusterAttrs} from '../../src/resources/cluster.js';
import {planKubeAgent, renderedObjects} from '../../src/resources/agent/kubernetes.js';
import {LIVE_MARK, applyOrder, manifestsAction, objectDigest, type ManifestsAttrs} from '../../src/resources/manifests.js';
import type {Attrs, DesiredResource, ObservedResource, PlannedStep} from '../../src/resources/types.js';
import {clearSecrets, registerSecret} from '../../src/util/redact.js';
import {setColor} from '../../src/ui/color.js';
import {renderPlan, renderStep} from '../../src/ui/plan-view.js';
import {makeStandin, standinBin, type Standin} from '../helpers/kube.js';
import {planDocument, plannedStep} from '../helpers/plan-fixtures.js';

setColor(false);

const temps: string[] = [];
function tempDir(prefix: string): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `orx-${prefix}-`)));
  temps.push(d);
  return d;
}
afterAll(() => temps.forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

const obj = (apiVersion: string, kind: string, name: string, namespace?: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: {name, ...(namespace !== undefined ? {namespace} : {})},
  ...extra,
});
const NS = obj('v1', 'Namespace', 'lab');
const cm = (name: string, data: Record<string, string> = {a: '1'}) => obj('v1', 'ConfigMap', name, 'lab', {data});
const DEPLOY = obj('apps/v1', 'Deployment', 'web', 'lab', {spec: {replicas: 1}});
const READER = obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'reader');
const CRD = obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com');

describe('object identities', () => {
  it('objectId and parseObjectId round-trip, a grouped apiVersion (with its "/") and a cluster-scoped empty namespace included', () => {
    expect(objectId(DEPLOY)).toBe('apps/v1/Deployment/lab/web');
    expect(objectId(READER)).toBe('rbac.authorization.k8s.io/v1/ClusterRole//reader');
    expect(objectId(cm('x'))).toBe('v1/ConfigMap/lab/x');
    for (const o of [NS, cm('settings'), DEPLOY, READER, CRD]) {
      const ref = parseObjectId(objectId(o));
      expect(ref).toEqual({apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name});
      expect(objectId(identityOnly(ref))).toBe(objectId(o));
    }
    // a cluster-scoped identity carries no namespace key at all: kubectl delete would refuse one
    expect(identityOnly(parseObjectId(objectId(READER)))).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {name: 'reader'},
    });
  });

  it("diffName is kubectl diff's file name: [group.]version.Kind.namespace.name", () => {
    expect(diffName(parseObjectId(objectId(cm('settings'))))).toBe('v1.ConfigMap.lab.settings');
    expect(diffName(parseObjectId(objectId(DEPLOY)))).toBe('apps.v1.Deployment.lab.web');
    expect(diffName(parseObjectId(objectId(NS)))).toBe('v1.Namespace..lab');
    expect(diffName(parseObjectId(objectId(READER)))).toBe('rbac.authorization.k8s.io.v1.ClusterRole..reader');
  });

  it('kubectlType: a core kind bare, a grouped one as kind.version.group', () => {
    expect(kubectlType('v1', 'ConfigMap')).toBe('configmap');
    expect(kubectlType('apps/v1', 'Deployment')).toBe('deployment.v1.apps');
    expect(kubectlType('rbac.authorization.k8s.io/v1', 'ClusterRole')).toBe('clusterrole.v1.rbac.authorization.k8s.io');
  });

  it('itemsOf reads one object, a List, and nothing', () => {
    expect(itemsOf('')).toEqual([]);
    expect(itemsOf('  \n')).toEqual([]);
    expect(itemsOf(JSON.stringify(DEPLOY, null, 4))).toEqual([DEPLOY]);
    expect(itemsOf(JSON.stringify({apiVersion: 'v1', kind: 'List', items: [NS, cm('a')], metadata: {resourceVersion: ''}}))).toEqual([
      NS,
      cm('a'),
    ]);
    expect(itemsOf(JSON.stringify({apiVersion: 'v1', kind: 'List'}))).toEqual([]);
  });
});

const KUBE: KubeAttr = {cluster: 'dev', context: 'kind-orx-w-dev', kubeconfig: null};
const byId = (...objs: KubeObject[]) => Object.fromEntries(objs.map((o) => [objectId(o), o]));
const mattrs = (objs: KubeObject[], over: Partial<ManifestsAttrs> = {}): ManifestsAttrs => ({
  kube: KUBE,
  files: ['k8s/a.yaml'],
  prune: true,
  digest: 'd1',
  objects: byId(...objs),
  ...over,
});
const mdesired = (a: Attrs): DesiredResource => ({
  address: 'manifests.base',
  kind: 'manifests',
  name: 'base',
  depends_on: a.kube && (a.kube as {cluster: string | null}).cluster ? ['cluster.dev'] : [],
  attributes: a,
});
const mobserved = (a: Attrs): ObservedResource => ({
  address: 'manifests.base',
  kind: 'manifests',
  object_id: 'kind-orx-w-dev',
  attributes: a,
});
const pathsOf = (changes: Array<{path: string; before: unknown; after: unknown}>) =>
  changes.map((c) => [c.path, c.before === null ? null : 'digest', c.after === null ? null : 'digest']);

describe('manifestsAction.plan: per object', () => {
  it('create lists every object as added, with a short digest of each', () => {
    const s = manifestsAction.plan(mdesired(mattrs([NS, cm('settings')])), null);
    expect(s).toMatchObject({action: 'create', category: 'DEPLOY', before: null, object_id: null});
    expect(s.changes).toEqual([
      {path: 'objects.v1/ConfigMap/lab/settings', before: null, after: objectDigest(cm('settings')), forces_replacement: false},
      {path: 'objects.v1/Namespace//lab', before: null, after: objectDigest(NS), forces_replacement: false},
    ]);
    expect(objectDigest(cm('settings'))).toMatch(/^[0-9a-f]{12}$/);
  });

  it('delete lists every object as removed and is DESTROY', () => {
    const s = manifestsAction.plan(null, mobserved(mattrs([NS, cm('settings')])));
    expect(s).toMatchObject({action: 'delete', category: 'DESTROY', after: null, object_id: 'kind-orx-w-dev'});
    expect(pathsOf(s.changes)).toEqual([
      ['objects.v1/ConfigMap/lab/settings', 'digest', null],
      ['objects.v1/Namespace//lab', 'digest', null],
    ]);
  });

  it('the same objects are a READ no-op', () => {
    const s = manifestsAction.plan(mdesired(mattrs([NS, cm('settings')])), mobserved(mattrs([NS, cm('settings')])));
    expect(s).toMatchObject({action: 'noop', category: 'READ', changes: []});
  });

  it('an edited, a removed and an added object are one update with a change each; the rest is not mentioned', () => {
    const before = mattrs([NS, cm('settings', {mode: 'a'}), cm('old')]);
    const after = mattrs([NS, cm('settings', {mode: 'b'}), DEPLOY], {digest: 'd2'});
    const s = manifestsAction.plan(mdesired(after), mobserved(before));
    expect(s).toMatchObject({action: 'update', category: 'DEPLOY', object_id: 'kind-orx-w-dev'});
    expect(pathsOf(s.changes)).toEqual([
      ['objects.apps/v1/Deployment/lab/web', null, 'digest'],
      ['objects.v1/ConfigMap/lab/old', 'digest', null],
      ['objects.v1/ConfigMap/lab/settings', 'digest', 'digest'],
    ]);
    const settings = s.changes.find((c) => c.path.endsWith('/settings'))!;
    expect(settings.before).not.toBe(settings.after);
  });

  it('a different cluster or context is a replace naming kube', () => {
    const moved = mattrs([NS], {kube: {cluster: null, context: 'ops', kubeconfig: '/k/remote.kubeconfig'}});
    const s = manifestsAction.plan(mdesired(moved), mobserved(mattrs([NS])));
    expect(s.action).toBe('replace');
    expect(s.changes).toEqual([{path: 'kube', before: KUBE, after: moved.kube, forces_replacement: true}]);
  });

  it('prune: false leaves an object gone from the files out of the plan; what was added still shows', () => {
    const before = mattrs([NS, cm('old')], {prune: false});
    expect(manifestsAction.plan(mdesired(mattrs([NS], {prune: false})), mobserved(before)).action).toBe('noop');
    const s = manifestsAction.plan(mdesired(mattrs([NS, cm('new')], {prune: false})), mobserved(before));
    expect(s.action).toBe('update');
    expect(pathsOf(s.changes)).toEqual([['objects.v1/ConfigMap/lab/new', null, 'digest']]);
    // with pruning on, the same removal is a delete of that object
    const pruned = manifestsAction.plan(mdesired(mattrs([NS])), mobserved(mattrs([NS, cm('old')])));
    expect(pathsOf(pruned.changes)).toEqual([['objects.v1/ConfigMap/lab/old', 'digest', null]]);
  });

  it('a change of prune alone is an update that says so; a digest alone (comments in a file) is only recorded', () => {
    const s = manifestsAction.plan(mdesired(mattrs([NS], {prune: false})), mobserved(mattrs([NS])));
    expect(s).toMatchObject({action: 'update', changes: [{path: 'prune', before: true, after: false, forces_replacement: false}]});
    const digestOnly = manifestsAction.plan(mdesired({...mattrs([NS]), digest: 'f'.repeat(64)}), mobserved(mattrs([NS])));
    expect(digestOnly.action).toBe('noop');
  });

  it('an object changed on the cluster (known by its live digest) is an update of that object', () => {
    const live = {...mattrs([NS, cm('settings')]), objects: {...byId(NS), [objectId(cm('settings'))]: {[LIVE_MARK]: 'abcdef012345'}}};
    const s = manifestsAction.plan(mdesired(mattrs([NS, cm('settings')])), mobserved(live));
    expect(s.action).toBe('update');
    expect(s.changes).toEqual([
      {
        path: 'objects.v1/ConfigMap/lab/settings',
        before: objectDigest({[LIVE_MARK]: 'abcdef012345'}),
        after: objectDigest(cm('settings')),
        forces_replacement: false,
      },
    ]);
  });

  it('validate refuses a plan file whose kube is not a cluster or context', () => {
    expect(() => manifestsAction.validate({...mattrs([NS]), kube: {context: 3}})).toThrow(
      /manifests attribute "kube" must be a cluster or context/,
    );
    expect(manifestsAction.validate(mattrs([NS])).objects).toEqual(byId(NS));
  });
});

describe('applyOrder', () => {
  it("puts Namespaces and CRDs first, keeping the files' order within each group", () => {
    const ids = [cm('a'), NS, DEPLOY, CRD, READER, obj('v1', 'Namespace', 'other')].map(objectId);
    expect(applyOrder(ids)).toEqual([NS, CRD, obj('v1', 'Namespace', 'other'), cm('a'), DEPLOY, READER].map(objectId));
    // deletes run it backwards: the namespace goes after what is in it
    expect(applyOrder(ids).reverse().at(-1)).toBe(objectId(NS));
  });
});

describe('cluster helpers', () => {
  it('nodeRoles: control planes first, then workers; no nodes is one control plane', () => {
    expect(nodeRoles({nodes: [{role: 'worker'}, {role: 'control-plane'}, {}, {role: 'worker'}]})).toEqual([
      'control-plane',
      'control-plane',
      'worker',
      'worker',
    ]);
    expect(nodeRoles({})).toEqual(['control-plane']);
  });

  it("kindConfigFor mounts the owner file read-only into every node, keeping the node's own mounts", () => {
    const attrs = {
      name: 'orx-w-dev',
      config: {
        kind: 'Cluster',
        apiVersion: 'kind.x-k8s.io/v1alpha4',
        nodes: [{role: 'control-plane', extraMounts: [{hostPath: '/a', containerPath: '/b'}]}, {role: 'worker'}],
      },
    } as unknown as ClusterAttrs;
    const cfg = kindConfigFor('/ws', attrs) as {nodes: Array<{extraMounts: unknown[]}>; kind: string};
    const mount = {hostPath: ownerFile('/ws', 'orx-w-dev'), containerPath: OWNER_MOUNT, readOnly: true};
    expect(cfg.kind).toBe('Cluster');
    expect(cfg.nodes[0].extraMounts).toEqual([{hostPath: '/a', containerPath: '/b'}, mount]);
    expect(cfg.nodes[1].extraMounts).toEqual([mount]);
    expect(ownerFile('/ws', 'orx-w-dev')).toBe('/ws/.orx/kind/orx-w-dev.owner');
    const bare = kindConfigFor('/ws', {name: 'orx-w-x', config: {kind: 'Cluster'}} as unknown as ClusterAttrs) as {nodes: unknown[]};
    expect(bare.nodes).toEqual([
      {role: 'control-plane', extraMounts: [{hostPath: ownerFile('/ws', 'orx-w-x'), containerPath: OWNER_MOUNT, readOnly: true}]},
    ]);
  });
});

// -- the planner's cluster rules ---------------------------------------------------------

const clusterAttrs = (hash = 'h1', config: Record<string, unknown> = {kind: 'Cluster'}): ClusterAttrs => ({
  name: 'orx-w-dev',
  node_image: 'kindest/node@sha256:aa',
  config,
  nodes: ['control-plane'],
  wait_ms: 300_000,
  export_kubeconfig: false,
  context: 'kind-orx-w-dev',
  config_hash: hash,
});
const cluster = (a: ClusterAttrs = clusterAttrs()): DesiredResource => ({
  address: 'cluster.dev',
  kind: 'cluster',
  name: 'dev',
  depends_on: [],
  attributes: a,
});

const agentInput = (over: Partial<KubeAgentInput> = {}): Omit<KubeAgentInput, 'secrets_revision'> => ({
  workspace: 'w',
  address: 'agent.worker',
  name: 'orx-w-worker',
  namespace: 'lab',
  image: 'orx-w-base:1',
  command: ['/bin/sh'],
  env: {LOG_LEVEL: 'info'},
  user: '1000:1000',
  tier: 'basic',
  cpus: 0.5,
  memory_bytes: 128 * 1024 * 1024,
  ports: [],
  health: null,
  labels: {},
  privileged: false,
  allow_root: null,
  secret_keys: ['API_KEY'],
  network: {gateway: null, talks_to: [], talked_to_by: []},
  ...over,
});
const kubeAgentAttrs = (
  over: {spec?: Partial<KubeAgentInput>; revision?: string | null; namespace?: string; kube?: KubeAttr} = {},
): Attrs => {
  const spec = agentInput({...over.spec, ...(over.namespace ? {namespace: over.namespace} : {})});
  return {
    target: 'kubernetes',
    name: 'orx-w-worker',
    kube: over.kube ?? KUBE,
    namespace: spec.namespace,
    image: 'base',
    image_ref: 'orx-w-base:1',
    load_image: true,
    spec,
    secrets_revision: over.revision ?? null,
    secrets: {API_KEY: 'env://K'},
    objects: renderedObjects(spec, over.revision ?? null),
  };
};
const kubeAgent = (a: Attrs = kubeAgentAttrs()): DesiredResource => ({
  address: 'agent.worker',
  kind: 'agent',
  name: 'worker',
  depends_on: ['cluster.dev', 'manifests.base'],
  attributes: a,
});

const rec = (d: DesiredResource, id = `id-${d.address}`): ResourceRecord => ({
  address: d.address,
  kind: d.kind,
  attributes: d.attributes,
  object_id: id,
  secret_fingerprints: {},
  serial: 1,
  updated_at: '',
});
const obs = (d: DesiredResource, attrs = d.attributes, id = `id-${d.address}`): ObservedResource => ({
  address: d.address,
  kind: d.kind,
  object_id: id,
  attributes: attrs,
});
const observation = (...o: ObservedResource[]): Observation => ({observed: new Map(o.map((x) => [x.address, x])), orphans: []});
const plan = (over: Partial<PlanInput>) =>
  buildPlan({
    plan_id: 'p',
    mode: 'apply',
    desired: [],
    recorded: [],
    observation: observation(),
    knownStepKeys: new Set(),
    targets: [],
    replace: [],
    ...over,
  });
const stepOf = (steps: PlannedStep[], address: string) => steps.find((s) => s.address === address)!;

describe('buildPlan with clusters, manifests and Kubernetes agents', () => {
  it('orders cluster < manifests < agent by kind, whatever the names', () => {
    // on a context (no cluster): nothing orders them but the kind rank
    const ctx = {cluster: null, context: 'ops', kubeconfig: null};
    const m: DesiredResource = {...mdesired(mattrs([NS], {kube: ctx})), address: 'manifests.a', name: 'a'};
    const a: DesiredResource = {...kubeAgent(kubeAgentAttrs({kube: ctx})), address: 'agent.a', name: 'a', depends_on: []};
    const c: DesiredResource = {...cluster(), address: 'cluster.z', name: 'z'};
    expect(plan({desired: [a, m, c]}).steps.map((s) => `${s.action} ${s.address}`)).toEqual([
      'create cluster.z',
      'create manifests.a',
      'create agent.a',
    ]);
  });

  it('a cluster found on the engine but not in the ledger is a create that adopts it, not a record', () => {
    const d = cluster();
    const s = plan({desired: [d], observation: observation(obs(d))}).steps[0];
    expect(s).toMatchObject({address: 'cluster.dev', action: 'create', category: 'DEPLOY', record: false});
    expect(s.reasons).toEqual(['found (left by an interrupted apply): will be adopted']);
    // recorded too: nothing to do
    expect(plan({desired: [d], recorded: [rec(d)], observation: observation(obs(d))}).steps[0]).toMatchObject({
      action: 'noop',
      record: false,
    });
  });

  it('the manifests and Kubernetes agents on a replaced cluster are updated, to be applied to the new one', () => {
    const old = [cluster(), mdesired(mattrs([NS])), kubeAgent()];
    const now = [
      cluster(clusterAttrs('h2', {kind: 'Cluster', nodes: [{role: 'control-plane'}, {role: 'worker'}]})),
      mdesired(mattrs([NS])),
      kubeAgent(),
    ];
    const m = plan({desired: now, recorded: old.map((x) => rec(x)), observation: observation(...old.map((x) => obs(x)))});
    expect(m.steps.map((s) => `${s.action} ${s.address}`)).toEqual(['replace cluster.dev', 'update manifests.base', 'update agent.worker']);
    expect(stepOf(m.steps, 'cluster.dev').changes.map((c) => c.path)).toEqual(['config.nodes']);
    for (const a of ['manifests.base', 'agent.worker']) {
      expect(stepOf(m.steps, a)).toMatchObject({
        category: 'DEPLOY',
        record: false,
        reasons: ['cluster.dev is replaced: applied to the new cluster'],
      });
    }
    // not replaced: they stay no-ops
    const same = plan({desired: old, recorded: old.map((x) => rec(x)), observation: observation(...old.map((x) => obs(x)))});
    expect(same.steps.map((s) => s.action)).toEqual(['noop', 'noop', 'noop']);
  });

  it('a manifests entry already being updated keeps its changes and gains the reason', () => {
    const old = [cluster(), mdesired(mattrs([NS]))];
    const now = [cluster(clusterAttrs('h2', {kind: 'Cluster', name: 'x'})), mdesired(mattrs([NS, cm('new')], {digest: 'd2'}))];
    const s = stepOf(
      plan({desired: now, recorded: old.map((x) => rec(x)), observation: observation(...old.map((x) => obs(x)))}).steps,
      'manifests.base',
    );
    expect(s.action).toBe('update');
    expect(pathsOf(s.changes)).toEqual([['objects.v1/ConfigMap/lab/new', null, 'digest']]);
    expect(s.reasons).toEqual(['cluster.dev is replaced: applied to the new cluster']);
  });

  it("destroy: the agent's and the manifests' deletes depend on their cluster (the executor runs dependents' deletes first)", () => {
    const all = [cluster(), mdesired(mattrs([NS])), kubeAgent()];
    const m = plan({mode: 'destroy', desired: all, recorded: all.map((x) => rec(x)), observation: observation(...all.map((x) => obs(x)))});
    expect(m.steps.map((s) => `${s.action} ${s.address}`)).toEqual(['delete cluster.dev', 'delete manifests.base', 'delete agent.worker']);
    expect(stepOf(m.steps, 'manifests.base').depends_on).toEqual(['cluster.dev']);
    expect(stepOf(m.steps, 'agent.worker').depends_on).toEqual(['cluster.dev']);
  });

  it('without refresh the ledger stands in: a hand edit on the cluster is not seen, a file edit is', () => {
    const d = mdesired(mattrs([NS, cm('settings')]));
    expect(plan({desired: [d], recorded: [rec(d)], observation: null}).steps[0].action).toBe('noop');
    const edited = mdesired(mattrs([NS, cm('settings', {a: '2'})], {digest: 'd2'}));
    const s = plan({desired: [edited], recorded: [rec(d)], observation: null}).steps[0];
    expect(s.action).toBe('update');
    expect(pathsOf(s.changes)).toEqual([['objects.v1/ConfigMap/lab/settings', 'digest', 'digest']]);
  });
});

describe('clusterAction.plan', () => {
  it('names the very field of the kind config that forces a new cluster; updatable settings stay in place', () => {
    const node = (hostPort: number) => ({
      role: 'worker',
      extraPortMappings: [{containerPort: 30080, hostPort, listenAddress: '127.0.0.1', protocol: 'TCP'}],
    });
    const before = clusterAttrs('h1', {kind: 'Cluster', nodes: [{role: 'control-plane'}, node(18080)]});
    const after = clusterAttrs('h2', {kind: 'Cluster', nodes: [{role: 'control-plane'}, node(18081)]});
    const step = clusterAction.plan(cluster(after), obs(cluster(before)));
    expect(step.action).toBe('replace');
    expect(step.changes).toEqual([
      {path: 'config.nodes[1].extraPortMappings[0].hostPort', before: 18080, after: 18081, forces_replacement: true},
    ]);
    const added = clusterAction.plan(
      cluster(clusterAttrs('h3', {kind: 'Cluster', nodes: [{role: 'control-plane'}]})),
      obs(cluster(before)),
    );
    expect(added.changes).toEqual([{path: 'config.nodes[1]', before: node(18080), after: null, forces_replacement: true}]);
    const exported = clusterAction.plan(cluster({...before, export_kubeconfig: true}), obs(cluster(before)));
    expect(exported).toMatchObject({
      action: 'update',
      changes: [{path: 'export_kubeconfig', before: false, after: true, forces_replacement: false}],
    });
  });
});

describe('planKubeAgent', () => {
  it('when only the rendered objects differ, the changes are one line per changed object', () => {
    const base = obs(kubeAgent());
    const s = planKubeAgent(kubeAgent(kubeAgentAttrs({revision: 'r2'})), base);
    expect(s.action).toBe('update');
    const deployment = 'objects.apps/v1/Deployment/lab/orx-w-worker';
    expect(s.changes.map((c) => c.path)).toEqual([deployment]);
    expect(s.changes[0].before).toBe(
      objectDigest((base.attributes.objects as Record<string, unknown>)['apps/v1/Deployment/lab/orx-w-worker']),
    );
  });

  it('a spec change is shown as itself, not restated by the objects', () => {
    const s = planKubeAgent(kubeAgent(kubeAgentAttrs({spec: {env: {LOG_LEVEL: 'debug'}}})), obs(kubeAgent()));
    expect(s.action).toBe('update');
    expect(s.changes).toEqual([{path: 'spec.env.LOG_LEVEL', before: 'info', after: 'debug', forces_replacement: false}]);
  });

  it('another namespace is a new agent: replace', () => {
    const s = planKubeAgent(kubeAgent(kubeAgentAttrs({namespace: 'other'})), obs(kubeAgent()));
    expect(s.action).toBe('replace');
    expect(s.changes.find((c) => c.path === 'namespace')).toEqual({
      path: 'namespace',
      before: 'lab',
      after: 'other',
      forces_replacement: true,
    });
  });
});

// -- the plan view -----------------------------------------------------------------------

const step = (over: Partial<PlannedStep>): PlannedStep =>
  plannedStep({id: 's1', address: 'manifests.base', kind: 'manifests', category: 'DEPLOY', after: null, ...over});
const doc = planDocument;
const asStep = (s: ReturnType<typeof manifestsAction.plan>): PlannedStep => ({
  ...s,
  id: 's1',
  depends_on: [],
  record: false,
  idempotency_key: 'k',
  budget_ms: 1000,
});

describe('plan view of Kubernetes steps', () => {
  it('a manifests create shows one + line per object, and no attribute dump', () => {
    const text = renderStep(asStep(manifestsAction.plan(mdesired(mattrs([NS, cm('settings'), READER])), null)));
    expect(text.split('\n')).toEqual([
      '  # manifests.base will be created',
      '  + manifests.base',
      '      + ClusterRole reader (rbac.authorization.k8s.io/v1)',
      '      + ConfigMap lab/settings (v1)',
      '      + Namespace lab (v1)',
    ]);
  });

  it('a manifests update shows ~ for an edited object, + and - for added and removed ones', () => {
    const s = manifestsAction.plan(
      mdesired(mattrs([NS, cm('x', {a: '2'}), DEPLOY], {digest: 'd2'})),
      mobserved(mattrs([NS, cm('x'), cm('old')])),
    );
    const text = renderStep(asStep(s));
    expect(text).toContain('  ~ manifests.base\n');
    expect(text).toContain('      ~ ConfigMap lab/x (v1) will be updated');
    expect(text).toContain('      - ConfigMap lab/old (v1)');
    expect(text).toContain('      + Deployment lab/web (apps/v1)');
    expect(text).not.toContain('Namespace');
  });

  it('a manifests delete shows - per object', () => {
    const text = renderStep(asStep(manifestsAction.plan(null, mobserved(mattrs([NS, cm('settings')])))));
    expect(text).toContain('  - manifests.base');
    expect(text).toContain('      - ConfigMap lab/settings (v1)');
    expect(text).toContain('      - Namespace lab (v1)');
  });

  it("a Kubernetes agent's create shows its attributes and the rendered YAML, never spec or objects as JSON", () => {
    const text = renderStep(step({address: 'agent.worker', kind: 'agent', after: kubeAgentAttrs()}));
    expect(text).toMatch(/^ {6}\+ namespace += "lab"$/m);
    expect(text).toMatch(/^ {6}\+ target += "kubernetes"$/m);
    expect(text).not.toMatch(/\+ (spec|objects) +=/);
    expect(text).toContain('      ---');
    expect(text).toContain('      kind: ServiceAccount');
    expect(text).toContain('      kind: Deployment');
    expect(text).toMatch(/ {6} +readOnlyRootFilesystem: true/);
    // the Secret is made at apply: a plan never shows one
    expect(text).not.toContain('kind: Secret');
  });

  it('a Kubernetes agent whose Deployment alone changed shows one ~ line for it', () => {
    const s = planKubeAgent(kubeAgent(kubeAgentAttrs({revision: 'r2'})), obs(kubeAgent()));
    const text = renderPlan(doc([asStep(s)], {summary: {create: 0, update: 1, replace: 0, delete: 0}}));
    expect(text).toContain('      ~ Deployment lab/orx-w-worker (apps/v1) will be updated\n');
    expect(text).toContain('Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy.');
  });

  it('drift of a manifests entry names each changed object once, as an object line', () => {
    // what refresh observes for a hand-edited object: only its live digest
    const d = mdesired(mattrs([NS, cm('settings')]));
    const live = {...d.attributes, objects: {...byId(NS), [objectId(cm('settings'))]: {[LIVE_MARK]: objectDigest({changed: true})}}};
    const m = plan({desired: [d], recorded: [rec(d)], observation: observation(obs(d, live))});
    expect(m.drift.map((x) => [x.address, x.status])).toEqual([['manifests.base', 'changed']]);
    const text = renderPlan(doc(m.steps, {drift: m.drift, summary: {create: 0, update: 1, replace: 0, delete: 0}}));
    const driftPart = text.slice(0, text.indexOf('orx will perform'));
    expect(driftPart).toContain('~ manifests.base: changed outside orx');
    const objectLines = driftPart.split('\n').filter((l) => /^ {6}[+~-] /.test(l));
    expect(objectLines).toEqual(['      ~ ConfigMap lab/settings (v1) will be updated']);
  });
});

// -- kubeconfig files ------------------------------------------------------------------

const kindKubeconfig = (name: string) => `apiVersion: v1
clusters:
- cluster: {certificate-authority-data: Q0E=, server: "https://127.0.0.1:4${name.length}443"}
  name: kind-${name}
contexts:
- context: {cluster: kind-${name}, user: kind-${name}}
  name: kind-${name}
current-context: kind-${name}
kind: Config
preferences: {}
users:
- name: kind-${name}
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}
`;
const mode = (f: string) => fs.statSync(f).mode & 0o777;

describe('workspace kubeconfig files', () => {
  it('one file per cluster and a merged one, all 0600; the merged file goes with the last cluster', () => {
    const dir = tempDir('kubeconfig');
    saveClusterKubeconfig(dir, 'dev', kindKubeconfig('orx-w-dev'));
    expect(clusterKubeconfig(dir, 'dev')).toBe(path.join(dir, '.orx/kube/dev.kubeconfig'));
    expect(mode(clusterKubeconfig(dir, 'dev'))).toBe(0o600);
    expect(mode(workspaceKubeconfig(dir))).toBe(0o600);
    expect(mode(path.join(dir, '.orx/kube')) & 0o077).toBe(0);
    expect(parse(fs.readFileSync(clusterKubeconfig(dir, 'dev'), 'utf8'))['current-context']).toBe('kind-orx-w-dev');

    saveClusterKubeconfig(dir, 'ops', kindKubeconfig('orx-w-ops'));
    // saved again (an adopted cluster): replaced, not doubled
    saveClusterKubeconfig(dir, 'dev', kindKubeconfig('orx-w-dev'));
    let merged = parse(fs.readFileSync(workspaceKubeconfig(dir), 'utf8'));
    expect(merged.contexts.map((c: {name: string}) => c.name)).toEqual(['kind-orx-w-dev', 'kind-orx-w-ops']);
    expect(merged.clusters.map((c: {name: string}) => c.name)).toEqual(['kind-orx-w-dev', 'kind-orx-w-ops']);
    expect(merged.users).toHaveLength(2);
    expect(merged['current-context']).toBe('kind-orx-w-dev');
    expect(merged).toMatchObject({apiVersion: 'v1', kind: 'Config'});
    expect(mode(workspaceKubeconfig(dir))).toBe(0o600);

    removeClusterKubeconfig(dir, 'dev');
    expect(fs.existsSync(clusterKubeconfig(dir, 'dev'))).toBe(false);
    merged = parse(fs.readFileSync(workspaceKubeconfig(dir), 'utf8'));
    expect(merged.contexts.map((c: {name: string}) => c.name)).toEqual(['kind-orx-w-ops']);
    expect(merged['current-context']).toBe('kind-orx-w-ops');

    removeClusterKubeconfig(dir, 'ops');
    expect(fs.existsSync(workspaceKubeconfig(dir))).toBe(false);
    // removing what is not there is not an error
    expect(() => removeClusterKubeconfig(dir, 'ops')).not.toThrow();
    expect(fs.readdirSync(path.join(dir, '.orx/kube'))).toEqual([]);
  });

  it('refuses text without contexts and leaves the files as they were', () => {
    const dir = tempDir('kubeconfig');
    expect(() => saveClusterKubeconfig(dir, 'dev', 'apiVersion: v1\nkind: Config\n')).toThrow(/kind printed no kubeconfig for cluster dev/);
    expect(fs.existsSync(workspaceKubeconfig(dir))).toBe(false);
    expect(fs.existsSync(clusterKubeconfig(dir, 'dev'))).toBe(false);
  });
});

// -- kube-info: kubeconfig and render --------------------------------------------------

describe('kubeconfigInfo and renderAgentView', () => {
  const NODE = `kindest/node:v1.31.0@sha256:${'a'.repeat(64)}`;
  const yaml = `workspace: w
images:
  tools: {ref: "ghcr.io/example/tools:1.4"}
clusters:
  dev: {node_image: "${NODE}"}
agents:
  worker: {image: tools, target: kubernetes, cluster: dev, namespace: lab, resources: {cpus: 0.5, memory: 128m}}
  local: {image: tools}
`;
  function loaded() {
    const dir = tempDir('kube-info');
    fs.writeFileSync(path.join(dir, 'orchestration.yml'), yaml);
    return loadConfig(dir);
  }

  it("no name: the workspace file, whether or not it exists; a name: that cluster's file once created", () => {
    const l = loaded();
    expect(kubeconfigInfo(l)).toEqual({path: path.join(l.dir, '.orx/kubeconfig'), cluster: null, context: null, exists: false});
    expect(() => kubeconfigInfo(l, 'dev')).toThrow(
      expect.objectContaining({code: 'not_created', message: 'cluster dev has no kubeconfig yet: it has not been created'}),
    );
    expect(() => kubeconfigInfo(l, 'deb')).toThrow(
      expect.objectContaining({code: 'not_in_config', message: expect.stringMatching(/no cluster "deb" in orchestration.yml.*dev/)}),
    );
    saveClusterKubeconfig(l.dir, 'dev', kindKubeconfig('orx-w-dev'));
    expect(kubeconfigInfo(l, 'dev')).toEqual({
      path: path.join(l.dir, '.orx/kube/dev.kubeconfig'),
      cluster: 'dev',
      context: 'kind-orx-w-dev',
      exists: true,
    });
    expect(kubeconfigInfo(l).exists).toBe(true);
  });

  it("renders a Kubernetes agent's ServiceAccount, Deployment and NetworkPolicy, and refuses a Docker agent", () => {
    const l = loaded();
    const ledger = Ledger.open(l.dir);
    try {
      const v = renderAgentView(l, ledger, 'worker');
      expect(v).toMatchObject({address: 'agent.worker', context: 'kind-orx-w-dev', namespace: 'lab'});
      expect(v.objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'Deployment', 'NetworkPolicy']);
      expect(v.yaml.match(/^---$/gm)).toHaveLength(3);
      expect(v.yaml).toContain('image: ghcr.io/example/tools:1.4');
      let err: unknown;
      try {
        renderAgentView(l, ledger, 'local');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OrxError);
      expect((err as OrxError).code).toBe('not_kubernetes');
      expect((err as OrxError).message).toContain('agent.local runs on the Docker engine (target: docker)');
      expect(() => renderAgentView(l, ledger, 'workr')).toThrow(/no agent "workr" in orchestration.yml/);
    } finally {
      ledger.close();
    }
  });
});

// -- the tool runner ---------------------------------------------------------------------

describe('parseVersion', () => {
  it("reads kind's and kubectl's version strings", () => {
    expect(parseVersion('kind v0.24.0 go1.22.6 linux/amd64')).toEqual([0, 24, 0]);
    expect(parseVersion('v1.31.0')).toEqual([1, 31, 0]);
    expect(parseVersion('v1.30.2-gke.1000')).toEqual([1, 30, 2]);
    expect(parseVersion('1.26')).toEqual([1, 26, 0]);
    expect(parseVersion('')).toBeNull();
    expect(parseVersion('unknown')).toBeNull();
  });
});

describe('toolFailed', () => {
  afterEach(() => clearSecrets());

  it('names the command line and keeps the last 12 lines of output, redacted', () => {
    const secret = 'tool-secret-4f9a1c0e';
    registerSecret(secret);
    const output = Array.from({length: 20}, (_, i) => `line-${String(i + 1).padStart(2, '0')}${i === 18 ? ` token=${secret}` : ''}`).join(
      '\n',
    );
    const err = toolFailed('kubectl', '/usr/bin/kubectl', ['--context', 'x', 'apply', `--token=${secret}`], `${output}\n\n`, 1);
    expect(err).toBeInstanceOf(OrxError);
    expect(err).toMatchObject({
      code: 'kubectl_failed',
      kind: 'external',
      data: {command: '/usr/bin/kubectl --context x apply --token=(sensitive)', exit_code: 1},
    });
    expect(err.message).not.toContain(secret);
    expect(err.message.split('\n')[0]).toBe('/usr/bin/kubectl --context x apply --token=(sensitive) failed (exit 1):');
    expect(err.message.split('\n').slice(1)).toEqual(
      output
        .split('\n')
        .slice(-12)
        .map((l) => l.replace(secret, '(sensitive)')),
    );
    expect(err.message).not.toContain('line-08');
  });

  it('without an exit code or output, just the command line', () => {
    const err = toolFailed('kind', 'kind', ['get', 'clusters'], '  ');
    expect(err.message).toBe('kind get clusters failed');
    expect(err.data).toEqual({command: 'kind get clusters', exit_code: null});
  });
});

describe('running kind and kubectl (scripts standing in for them)', () => {
  let dir: string;
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    dir = tempDir('tools');
    // ORX_KIND / ORX_KUBECTL are used when no path is given: these tests pass their own
    saved = {ORX_KIND: process.env.ORX_KIND, ORX_KUBECTL: process.env.ORX_KUBECTL};
    delete process.env.ORX_KIND;
    delete process.env.ORX_KUBECTL;
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  /** A script that logs its argv, then answers `version` with `version` and anything else by `body`. */
  function script(name: string, version: string, body = 'exit 0'): {file: string; calls: () => string[]} {
    const file = path.join(dir, name);
    const log = path.join(dir, `${name}.log`);
    fs.writeFileSync(
      file,
      `#!/bin/sh\necho "$*" >> '${log}'\nif [ "$1" = version ]; then printf '%s\\n' '${version}'; exit 0; fi\n${body}\n`,
      {mode: 0o755},
    );
    return {file, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [])};
  }

  it('checks the version once per process and binary, then runs', async () => {
    const kind = script('kind', 'kind v0.24.0 go1.22.6 linux/amd64', 'echo "clusters: $*"');
    const t = tool('kind', {kind: kind.file, kubectl: null});
    expect(t.command).toBe(kind.file);
    expect((await t.run(['get', 'clusters'])).stdout).toBe('clusters: get clusters\n');
    await t.run(['get', 'clusters']);
    await tool('kind', {kind: kind.file, kubectl: null}).run(['get', 'clusters']);
    expect(kind.calls()).toEqual(['version', 'get clusters', 'get clusters', 'get clusters']);
    expect(await checkTool('kind', kind.file)).toBe('0.24.0');
  });

  it("ORX_KIND is used when no path is given; a path given by the operator's flags wins over it", async () => {
    const kind = script('kind-env', 'kind v0.24.0', 'echo env');
    process.env.ORX_KIND = kind.file;
    const t = tool('kind');
    expect(t.command).toBe(kind.file);
    expect((await t.run(['get', 'clusters'])).stdout).toBe('env\n');
    expect(tool('kind', {kind: '/opt/other/kind', kubectl: null}).command).toBe('/opt/other/kind');
  });

  it('a relative ORX_KIND or ORX_KUBECTL (or flag) is refused before anything runs', async () => {
    for (const bad of ['./evil.sh', 'bin/kind', 'kind']) {
      process.env.ORX_KUBECTL = bad;
      expect(() => tool('kubectl')).toThrow(
        expect.objectContaining({
          code: 'tool_path_relative',
          message: expect.stringContaining(`ORX_KUBECTL is ${JSON.stringify(bad)}, not an absolute path`),
        }),
      );
    }
    expect(() => operatorToolPaths({kind: 'x/kind'}, (n) => `--tool-${n}`)).toThrow(/--tool-kind is "x\/kind", not an absolute path/);
    expect(operatorToolPaths({kind: '/usr/bin/kind', kubectl: undefined})).toEqual({kind: '/usr/bin/kind', kubectl: null});
  });

  it('PATH lookup takes only absolute directories: an empty or relative entry (the repository) is skipped', () => {
    const bin = path.join(dir, 'abs-bin');
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(dir, 'rel'));
    fs.writeFileSync(path.join(dir, 'rel', 'kubectl'), '#!/bin/sh\n', {mode: 0o755});
    fs.writeFileSync(path.join(bin, 'kubectl'), '#!/bin/sh\n', {mode: 0o755});
    fs.writeFileSync(path.join(bin, 'kind'), 'not executable\n', {mode: 0o644});
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(findOnPath('kubectl', ['', '.', 'rel', bin].join(path.delimiter))).toBe(path.join(bin, 'kubectl'));
      expect(findOnPath('kubectl', ['', '.', 'rel'].join(path.delimiter))).toBeNull();
      expect(findOnPath('kind', bin)).toBeNull();
    } finally {
      process.chdir(cwd);
    }
  });

  it('a version older than orx needs is refused, and asked again on the next run', async () => {
    const kind = script('kind-old', 'kind v0.9.0 go1.15 linux/amd64');
    const t = tool('kind', {kind: kind.file, kubectl: null});
    await expect(t.run(['get', 'clusters'])).rejects.toMatchObject({
      code: 'tool_too_old',
      message: `${kind.file} reports version "kind v0.9.0 go1.15 linux/amd64"; orx needs kind 0.20.0 or newer`,
    });
    await expect(t.run(['get', 'clusters'])).rejects.toMatchObject({code: 'tool_too_old'});
    // a refused check is not cached: the user may upgrade in between
    expect(kind.calls()).toEqual(['version', 'version']);
  });

  it("kubectl's version comes from its JSON; JSON without one is refused too", async () => {
    const ok = script('kubectl', '{"clientVersion":{"gitVersion":"v1.31.0"}}');
    expect(await checkTool('kubectl', ok.file)).toBe('1.31.0');
    expect(ok.calls()).toEqual(['version --client -o json']);
    const old = script('kubectl-old', '{"clientVersion":{"gitVersion":"v1.25.3"}}');
    await expect(checkTool('kubectl', old.file)).rejects.toMatchObject({
      code: 'tool_too_old',
      message: expect.stringContaining('orx needs kubectl 1.26.0 or newer'),
    });
    const garbled = script('kubectl-garbled', 'Client Version: v1.31.0');
    await expect(checkTool('kubectl', garbled.file)).rejects.toMatchObject({
      code: 'tool_too_old',
      message: expect.stringContaining('reports version ""'),
    });
  });

  it('a missing binary is tool_missing, naming where it was looked for', async () => {
    await expect(exec('kind', path.join(dir, 'no-such-kind'), ['version'])).rejects.toMatchObject({
      code: 'tool_missing',
      message: `kind not found (${path.join(dir, 'no-such-kind')})`,
    });
    await expect(tool('kubectl', {kind: null, kubectl: '/nonexistent/kubectl'}).run(['get', 'pods'])).rejects.toMatchObject({
      code: 'tool_missing',
      actions: [expect.stringContaining('--tool-kubectl or ORX_KUBECTL')],
    });
  });

  it('a failure shows the command line and its stderr; okCodes are answers; stdin is passed', async () => {
    const k = script('kubectl-fail', '{}', 'if [ "$1" = diff ]; then cat; exit 1; fi\nfor i in 1 2 3; do echo "err $i" >&2; done\nexit 3');
    await expect(exec('kubectl', k.file, ['apply', '-f', '-'])).rejects.toMatchObject({
      code: 'kubectl_failed',
      message: `${k.file} apply -f - failed (exit 3):\nerr 1\nerr 2\nerr 3`,
      data: {exit_code: 3},
    });
    const diff = await exec('kubectl', k.file, ['diff'], {okCodes: [1], input: 'from stdin'});
    expect(diff).toEqual({stdout: 'from stdin', stderr: '', exitCode: 1});
    await expect(exec('kubectl', k.file, ['diff'], {input: 'x'})).rejects.toMatchObject({code: 'kubectl_failed', data: {exit_code: 1}});
  });

  it('a run past its timeout fails saying so', async () => {
    // exec: the timeout kills the process it started, and a shell's own child would hold the pipes open
    const k = script('kind-slow', 'kind v0.24.0', 'exec sleep 5');
    const started = Date.now();
    await expect(exec('kind', k.file, ['create'], {timeoutMs: 1000})).rejects.toMatchObject({
      code: 'kind_failed',
      message: `${k.file} create failed:\ntimed out after 1s`,
    });
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

// the kubectl stand-in needs no Docker for a cluster that is not a kind cluster: its API server is a JSON file
describe('kubectl driver against the kubectl stand-in (a remote context, no Docker)', () => {
  let standin: Standin;
  let saved: string | undefined;
  let kubeconfig: string;
  beforeEach(() => {
    standin = makeStandin();
    saved = process.env.ORX_STANDIN_STATE;
    process.env.ORX_STANDIN_STATE = standin.state;
    standin.writeObjects('remote', []);
    kubeconfig = path.join(standin.state, 'remote.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: remote, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: ops, context: {cluster: remote, user: ops}}]\nusers: [{name: ops, user: {token: t}}]\ncurrent-context: ops\n',
      {mode: 0o600},
    );
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.ORX_STANDIN_STATE;
    else process.env.ORX_STANDIN_STATE = saved;
    await standin.cleanup();
  });

  it("applies, diffs by kubectl diff's file names (grouped and cluster-scoped too), lists by label and deletes", async () => {
    const kubectl = tool('kubectl', {kind: null, kubectl: standinBin.kubectl});
    const t = {kubeconfig, context: 'ops'};
    const label = (o: KubeObject): KubeObject => ({...o, metadata: {...o.metadata, labels: {'io.orchestrix.workspace': 'w'}}});
    const settings = label(cm('settings'));
    const applied = await applyObjects(kubectl, t, [label(NS), settings, label(READER)]);
    expect(applied.map(objectId)).toEqual([NS, settings, READER].map(objectId));
    expect(await applyObjects(kubectl, t, [])).toEqual([]);

    const unchanged = await diffObjects(kubectl, t, [label(NS), settings, label(READER)]);
    expect([...unchanged.changed]).toEqual([]);
    const roleEdit = {...label(READER), rules: [{apiGroups: [''], resources: ['pods'], verbs: ['get']}]};
    const d = await diffObjects(kubectl, t, [label(NS), label(cm('settings', {a: '2'})), roleEdit, label(DEPLOY)]);
    expect([...d.changed].sort()).toEqual([
      'apps.v1.Deployment.lab.web',
      'rbac.authorization.k8s.io.v1.ClusterRole..reader',
      'v1.ConfigMap.lab.settings',
    ]);
    expect([...d.changed].every((n) => [cm('settings'), READER, DEPLOY].some((o) => diffName(parseObjectId(objectId(o))) === n))).toBe(
      true,
    );
    expect(d.text).toContain('+  a: "2"');

    const listed = await listLabelled(
      kubectl,
      t,
      ['namespace', 'configmap', kubectlType(READER.apiVersion, READER.kind)],
      'io.orchestrix.workspace=w',
    );
    expect(listed.map(objectId).sort()).toEqual([NS, settings, READER].map(objectId).sort());

    await deleteObjects(kubectl, t, [parseObjectId(objectId(READER)), parseObjectId(objectId(settings))]);
    expect(standin.objects('remote').map((o: KubeObject) => o.kind)).toEqual(['Namespace']);
    // every call named the kubeconfig and context explicitly: ~/.kube/config is never read
    const calls = standin.calls().filter((c) => c.argv[0] !== 'version');
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(c.argv.slice(0, 4)).toEqual(['--kubeconfig', kubeconfig, '--context', 'ops']);
  });
});

describe('a record whose object is gone and no longer configured', () => {
  it('is planned as a delete that only removes the record (a delete that failed after it ran converges)', () => {
    const gone = rec(cluster());
    const doc = plan({recorded: [gone], observation: observation()});
    expect(doc.steps).toHaveLength(1);
    expect(doc.steps[0]).toMatchObject({address: 'cluster.dev', action: 'delete', category: 'DESTROY'});
    expect(doc.steps[0].reasons).toContain('already gone from the engine: only the record is removed');
    // without refresh the ledger stands in for the world: an ordinary delete
    expect(plan({recorded: [gone], observation: null}).steps.map((s) => s.action)).toEqual(['delete']);
  });
});
