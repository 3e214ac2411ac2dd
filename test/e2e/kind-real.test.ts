// The real thing, where kind can run: a cluster created by orx, manifests applied, an agent
// placed, changed and deleted, all checked with the real kubectl. Runs only with `kind` on
// PATH and ORX_E2E_KIND=1 (our CI machines cannot pull a node image); the stand-in tests in
// kube.test.ts cover the same flows everywhere else.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {orx, orxApproved, type CliResult} from '../helpers/cli.js';
import {makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

const why =
  process.env.ORX_E2E_KIND !== '1'
    ? 'ORX_E2E_KIND is not 1'
    : !onPath('kind')
      ? 'kind is not on PATH'
      : !onPath('kubectl')
        ? 'kubectl is not on PATH'
        : null;
// kind v0.24.0's image for Kubernetes 1.31.0 (from its release notes); ORX_E2E_KIND_NODE_IMAGE overrides
const NODE_IMAGE =
  process.env.ORX_E2E_KIND_NODE_IMAGE ?? 'kindest/node:v1.31.0@sha256:53df588e04085fd41ae12de0c3fe4c72f7013bba32a20e7325357a1ac94ba865';

describe.skipIf(why !== null)(`real kind and kubectl${why ? ` (skipped: ${why})` : ''}`, () => {
  let ws: TestWorkspace;
  const cli = async (args: string[], code = 0): Promise<CliResult> => {
    const r = await orx(args, {cwd: ws.dir, env: {ORX_TEST_API_KEY: 'real-kind-secret-value'}});
    expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
    return r;
  };
  const approved = async (kind: 'apply' | 'destroy'): Promise<CliResult> => {
    const r = await orxApproved(kind, {cwd: ws.dir, env: {ORX_TEST_API_KEY: 'real-kind-secret-value'}});
    expect(r.code, `orx ${kind} (approved)\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  };
  const kubectl = (...args: string[]): string =>
    execFileSync('kubectl', ['--kubeconfig', path.join(ws.dir, '.orx/kubeconfig'), '--context', `kind-orx-${ws.name}-dev`, ...args], {
      encoding: 'utf8',
    });

  const yaml = (mode: string, agent: boolean) => `workspace: __WS__
autonomy: 3
images:
  base:
    build: {context: images/agent-base}
clusters:
  dev: {node_image: "${NODE_IMAGE}", wait: 5m}
manifests:
  base: {cluster: dev, path: k8s}
budgets: {cluster: 15m}
${
  agent
    ? `agents:
  worker:
    image: base
    target: kubernetes
    cluster: dev
    namespace: lab
    user: "1000:1000"
    command: ${SLEEP_CMD}
    env: {MODE: ${mode}}
    resources: {cpus: 0.25, memory: 64m}
    secrets: {API_KEY: env://ORX_TEST_API_KEY}
`
    : ''
}`;

  beforeAll(() => {
    ws = makeWorkspace('kind');
    fs.mkdirSync(path.join(ws.dir, 'k8s'));
    fs.writeFileSync(path.join(ws.dir, 'k8s/ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n');
    fs.writeFileSync(
      path.join(ws.dir, 'k8s/cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: lab}\ndata: {mode: a}\n',
    );
  });
  afterAll(async () => {
    await orxApproved('destroy', {cwd: ws.dir});
    spawnSync('kind', ['delete', 'cluster', '--name', `orx-${ws.name}-dev`]);
    await ws.cleanup();
  });

  it('creates the cluster, applies manifests, places an agent, changes and deletes them', {timeout: 20 * 60_000}, async () => {
    ws.write(yaml('a', true));
    await cli(['apply', '--auto-approve']);
    expect(JSON.parse(kubectl('get', 'configmap', 'settings', '-n', 'lab', '-o', 'json')).metadata.labels['io.orchestrix.address']).toBe(
      'manifests.base',
    );
    const dep = JSON.parse(kubectl('get', 'deployment', `orx-${ws.name}-worker`, '-n', 'lab', '-o', 'json'));
    expect(dep.status.readyReplicas).toBe(1);
    expect(dep.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    await cli(['plan', '--detailed-exitcode']);

    fs.writeFileSync(
      path.join(ws.dir, 'k8s/cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: lab}\ndata: {mode: b}\n',
    );
    ws.write(yaml('b', true));
    await cli(['apply', '--auto-approve']);
    expect(JSON.parse(kubectl('get', 'configmap', 'settings', '-n', 'lab', '-o', 'json')).data.mode).toBe('b');
    const env = JSON.parse(kubectl('get', 'deployment', `orx-${ws.name}-worker`, '-n', 'lab', '-o', 'json')).spec.template.spec
      .containers[0].env;
    expect(env).toContainEqual({name: 'MODE', value: 'b'});

    ws.write(yaml('b', false));
    // deleting the agent, and then everything, needs a human (the built-in approve-destroy)
    await approved('apply');
    expect(kubectl('get', 'deployments', '-n', 'lab', '-o', 'name').trim()).toBe('');
    await approved('destroy');
    expect(execFileSync('kind', ['get', 'clusters'], {encoding: 'utf8'})).not.toContain(`orx-${ws.name}-dev`);
  });
});
