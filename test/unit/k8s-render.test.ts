// Kubernetes rendering of agents: golden files for the shapes orx produces, each Deployment
// validated against the apps/v1 Deployment schema in kubeconform's strict form (unknown fields
// rejected), and the hardening and secret rules checked directly.
//
// Golden files: test/fixtures/k8s/golden/NAME.json hold JSON.stringify(rendered, null, 2) + '\n'.
// After an intended change to the rendering, regenerate them with
//   UPDATE_GOLDEN=1 npx vitest run test/unit/k8s-render.test.ts
// and review the diff. Without UPDATE_GOLDEN a missing or different file fails the test.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {Ajv, type ValidateFunction} from 'ajv';
import {describe, expect, it} from 'vitest';
import {HEALTH_DEFAULTS, TIERS} from '../../src/config/agent.js';
import type {HealthSpec, Tier} from '../../src/config/types.js';
import {SECRET_MOUNT_PATH, kubeResources, renderAgentObjects, renderAgentSecret, type KubeAgentInput} from '../../src/k8s/render-agent.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'k8s');
const goldenDir = path.join(fixtures, 'golden');
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function input(over: Partial<KubeAgentInput> = {}): KubeAgentInput {
  const tier = over.tier ?? 'basic';
  return {
    workspace: 'lab',
    address: 'agent.worker',
    name: 'orx-lab-worker',
    namespace: 'orx-lab',
    image: 'ghcr.io/example/tools:1.4',
    command: null,
    env: {},
    user: null,
    tier,
    cpus: TIERS[tier].cpus,
    memory_bytes: TIERS[tier].memory_bytes,
    ports: [],
    health: null,
    labels: {},
    privileged: false,
    allow_root: null,
    secret_keys: [],
    secrets_revision: null,
    network: {gateway: null, talks_to: [], talked_to_by: []},
    ...over,
  };
}

const CASES: Record<string, KubeAgentInput> = {
  'tier-basic': input({tier: 'basic'}),
  'tier-pro': input({tier: 'pro'}),
  'tier-enterprise': input({tier: 'enterprise'}),
  'user-command-env-ports-exec-health': input({
    user: '1000:1000',
    command: ['/bin/agent', '--serve'],
    env: {LOG_LEVEL: 'info', A_FIRST: '1'},
    ports: [8080, 9090],
    labels: {team: 'research'},
    health: {test: ['CMD', '/bin/agent', 'healthcheck'], interval_ms: 5_000, timeout_ms: 2_000, retries: 3, start_period_ms: 0},
  }),
  'health-cmd-shell': input({
    user: '1000',
    health: {
      test: ['CMD-SHELL', 'test -f /tmp/ready && echo ok'],
      interval_ms: 2_500,
      timeout_ms: 500,
      retries: 0,
      start_period_ms: 15_500,
    },
  }),
  'health-http': input({
    user: '1000:1000',
    ports: [8080],
    // what src/config/agent.ts makes of `health: {http: {port: 8080, path: /healthz}, interval: 5s, timeout: 2s, retries: 3}`
    health: {
      test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/healthz'],
      interval_ms: 5_000,
      timeout_ms: 2_000,
      retries: 3,
      start_period_ms: 10_000,
    },
  }),
  privileged: input({user: '1000:1000', privileged: true}),
  'allow-root': input({user: '0:0', allow_root: {reason: 'legacy image needs root to bind port 80'}}),
  'secrets-revision': input({user: '1000:1000', secret_keys: ['GITHUB_TOKEN', 'OPENAI_API_KEY'], secrets_revision: '3f2a9c1e7b6d5a40'}),
  'custom-resources': input({user: '1000:1000', cpus: 0.25, memory_bytes: 300 * MiB}),
};

function golden(name: string, rendered: unknown): void {
  const file = path.join(goldenDir, `${name}.json`);
  const text = JSON.stringify(rendered, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(goldenDir, {recursive: true});
    fs.writeFileSync(file, text);
    console.warn(`UPDATE_GOLDEN=1: wrote ${path.relative(process.cwd(), file)}`);
    return;
  }
  if (!fs.existsSync(file)) throw new Error(`golden file ${file} is missing: run with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(text).toBe(fs.readFileSync(file, 'utf8'));
}

let validator: ValidateFunction | undefined;
function validateDeployment(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(fs.readFileSync(path.join(fixtures, 'deployment-apps-v1.schema.json'), 'utf8')) as Record<string, unknown>;
  // strict: an unknown keyword or a typo in the schema itself is an error, not a silent pass
  const ajv = new Ajv({strict: true, allowUnionTypes: true, allErrors: true});
  validator = ajv.compile(schema);
  return validator;
}

function schemaErrors(doc: unknown): string[] {
  const v = validateDeployment();
  return v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

type Json = Record<string, any>;

function podOf(deployment: Record<string, unknown>): Json {
  return (deployment as Json).spec.template.spec as Json;
}

describe('golden files', () => {
  for (const [name, a] of Object.entries(CASES)) {
    it(`${name} renders as recorded and is a valid apps/v1 Deployment`, () => {
      const rendered = renderAgentObjects(a);
      golden(name, rendered);
      expect(schemaErrors(rendered.deployment)).toEqual([]);
    });
  }

  it('rendering is deterministic (no timestamps, no randomness, key order independent of the input)', () => {
    const a = CASES['user-command-env-ports-exec-health'];
    const reordered = {...a, env: Object.fromEntries(Object.entries(a.env).reverse()), labels: {...a.labels}};
    expect(JSON.stringify(renderAgentObjects(reordered))).toBe(JSON.stringify(renderAgentObjects(a)));
  });
});

describe('the Deployment schema', () => {
  it('says where it came from', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(fixtures, 'deployment-apps-v1.schema.json'), 'utf8')) as {$comment?: string};
    expect(schema.$comment).toMatch(/io\.k8s\.api\.apps\.v1\.Deployment/);
    expect(schema.$comment).toMatch(/kubernetes-json-schema/);
  });

  it('rejects an unknown container field', () => {
    const d = renderAgentObjects(input()).deployment as Json;
    d.spec.template.spec.containers[0].noNewPrivileges = true;
    expect(schemaErrors(d).join('\n')).toMatch(/containers\/0 must NOT have additional properties.*noNewPrivileges/);
  });

  it('rejects unknown fields at every level orx renders', () => {
    const mutations: Array<(d: Json) => void> = [
      (d) => (d.spek = {}),
      (d) => (d.metadata.label = {}),
      (d) => (d.spec.replica = 1),
      (d) => (d.spec.strategy.rollingUpdate.maxSurges = 1),
      (d) => (d.spec.template.spec.hostNetworking = false),
      (d) => (d.spec.template.spec.securityContext.seccomp = 'default'),
      (d) => (d.spec.template.spec.containers[0].securityContext.readOnlyRootFS = true),
      (d) => (d.spec.template.spec.containers[0].securityContext.capabilities.remove = ['ALL']),
      (d) => (d.spec.template.spec.containers[0].resources.limit = {}),
      (d) => (d.spec.template.spec.containers[0].volumeMounts[0].readonly = true),
      (d) => (d.spec.template.spec.volumes[0].emptyDir.size = '64Mi'),
      (d) => (d.spec.template.spec.volumes[1].secret.mode = 256),
    ];
    for (const mutate of mutations) {
      const d = structuredClone(renderAgentObjects(input()).deployment) as Json;
      mutate(d);
      expect(schemaErrors(d).join('\n')).toMatch(/must NOT have additional properties/);
    }
  });

  it('rejects a wrong type', () => {
    const d = renderAgentObjects(input({user: '1000:1000'})).deployment as Json;
    d.spec.template.spec.securityContext.runAsUser = '1000';
    expect(schemaErrors(d).join('\n')).toMatch(/securityContext\/runAsUser must be integer/);
    const e = renderAgentObjects(input()).deployment as Json;
    e.spec.replicas = '1';
    expect(schemaErrors(e).join('\n')).toMatch(/spec\/replicas must be integer/);
  });

  it('rejects a missing required field', () => {
    const d = renderAgentObjects(input()).deployment as Json;
    delete d.spec.template.spec.containers[0].name;
    expect(schemaErrors(d).join('\n')).toMatch(/must have required property 'name'/);
    const e = renderAgentObjects(input()).deployment as Json;
    delete e.spec.selector;
    expect(schemaErrors(e).join('\n')).toMatch(/must have required property 'selector'/);
  });
});

describe('hardening', () => {
  for (const tier of ['basic', 'pro', 'enterprise'] as Tier[]) {
    it(`is present in the ${tier} tier`, () => {
      const {serviceAccount, deployment} = renderAgentObjects(input({tier}));
      expect((serviceAccount as Json).automountServiceAccountToken).toBe(false);
      const pod = podOf(deployment);
      expect(pod).toMatchObject({
        serviceAccountName: 'orx-lab-worker',
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        hostNetwork: false,
        hostPID: false,
        hostIPC: false,
        securityContext: {runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}},
      });
      expect(pod.containers).toHaveLength(1);
      const c = pod.containers[0] as Json;
      expect(c.name).toBe('agent');
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: {drop: ['ALL']},
        seccompProfile: {type: 'RuntimeDefault'},
      });
      expect(c.resources.limits).toEqual(kubeResources({tier, cpus: TIERS[tier].cpus, memory_bytes: TIERS[tier].memory_bytes}).limits);
      expect(c.volumeMounts).toEqual([
        {name: 'tmp', mountPath: '/tmp'},
        {name: 'secrets', mountPath: '/run/secrets', readOnly: true},
      ]);
      expect(pod.volumes[0]).toEqual({name: 'tmp', emptyDir: {medium: 'Memory', sizeLimit: '64Mi'}});
      expect(pod.volumes[1].secret).toMatchObject({secretName: 'orx-lab-worker', defaultMode: 256, optional: false});
      expect(c.env).toContainEqual({name: 'ORX_SECRETS_DIR', value: SECRET_MOUNT_PATH});
    });
  }

  it('a privileged agent is rendered as asked, with privilege escalation allowed (Kubernetes refuses the other combination)', () => {
    const c = podOf(renderAgentObjects(input({privileged: true})).deployment).containers[0] as Json;
    expect(c.securityContext).toMatchObject({
      privileged: true,
      allowPrivilegeEscalation: true,
      readOnlyRootFilesystem: true,
      capabilities: {drop: ['ALL']},
    });
  });

  it('allow_root turns runAsNonRoot off at both levels, and only that', () => {
    const pod = podOf(renderAgentObjects(input({user: '0', allow_root: {reason: 'needs root'}})).deployment);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: false,
      runAsUser: 0,
      runAsGroup: 0,
      fsGroup: 0,
      seccompProfile: {type: 'RuntimeDefault'},
    });
    expect(pod.containers[0].securityContext).toMatchObject({
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
  });

  it('numeric users become ids (GID defaults to the UID); a user name is left to the image', () => {
    const ids = (user: string | null) => {
      const sc = podOf(renderAgentObjects(input({user})).deployment).securityContext as Json;
      return {runAsUser: sc.runAsUser, runAsGroup: sc.runAsGroup, fsGroup: sc.fsGroup};
    };
    expect(ids('1000:2000')).toEqual({runAsUser: 1000, runAsGroup: 2000, fsGroup: 2000});
    expect(ids('1000')).toEqual({runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000});
    expect(ids('agent')).toEqual({runAsUser: undefined, runAsGroup: undefined, fsGroup: undefined});
    expect(ids(null)).toEqual({runAsUser: undefined, runAsGroup: undefined, fsGroup: undefined});
  });

  it('selector holds only the labels orx owns; user labels go on the objects and the pods', () => {
    const {serviceAccount, deployment} = renderAgentObjects(input({labels: {team: 'research', cost: 'lab'}}));
    const d = deployment as Json;
    const expected = {cost: 'lab', 'io.orchestrix.address': 'agent.worker', 'io.orchestrix.workspace': 'lab', team: 'research'};
    expect(d.spec.selector).toEqual({matchLabels: {'io.orchestrix.workspace': 'lab', 'io.orchestrix.address': 'agent.worker'}});
    expect(d.metadata.labels).toEqual(expected);
    expect(d.spec.template.metadata.labels).toEqual(expected);
    expect((serviceAccount as Json).metadata.labels).toEqual(expected);
    expect(d.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 3,
      strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 0, maxSurge: 1}},
    });
  });
});

describe('command and health', () => {
  it('the command is the container args, as the Docker agent sets Cmd and keeps the entrypoint', () => {
    const c = podOf(renderAgentObjects(input({command: ['/bin/agent', '--serve']})).deployment).containers[0] as Json;
    expect(c.args).toEqual(['/bin/agent', '--serve']);
    expect(c.command).toBeUndefined();
    expect(podOf(renderAgentObjects(input()).deployment).containers[0].args).toBeUndefined();
  });

  const probe = (test: string[], timing: Partial<Omit<HealthSpec, 'test'>> = {}) => {
    const c = podOf(renderAgentObjects(input({health: {test, ...HEALTH_DEFAULTS, ...timing}})).deployment).containers[0] as Json;
    expect(c.livenessProbe).toEqual(c.readinessProbe);
    return c.readinessProbe as Json | undefined;
  };

  it('maps CMD, CMD-SHELL and the http form; a test that runs nothing gives no probe', () => {
    expect(probe(['CMD', 'pgrep', 'agent'])).toMatchObject({exec: {command: ['pgrep', 'agent']}});
    expect(probe(['CMD-SHELL', 'curl -f localhost || exit 1'])).toMatchObject({
      exec: {command: ['/bin/sh', '-c', 'curl -f localhost || exit 1']},
    });
    expect(probe(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/healthz?deep=1'])).toMatchObject({
      httpGet: {path: '/healthz?deep=1', port: 8080},
    });
    // anything but the exact shape orx writes stays an exec probe
    expect(probe(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://10.0.0.1:8080/healthz'])).toMatchObject({
      exec: {command: ['wget', '-q', '-O', '/dev/null', 'http://10.0.0.1:8080/healthz']},
    });
    expect(probe(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/x', '--extra'])).toHaveProperty('exec');
    expect(probe(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:99999/x'])).toHaveProperty('exec');
    expect(probe([])).toBeUndefined();
    expect(probe(['NONE'])).toBeUndefined();
    expect(probe(['CMD'])).toBeUndefined();
  });

  it('timings round up to whole seconds (at least 1), the start period down, retries at least 1', () => {
    expect(probe(['CMD', 'true'], {interval_ms: 1_500, timeout_ms: 200, retries: 0, start_period_ms: 2_999})).toEqual({
      exec: {command: ['true']},
      initialDelaySeconds: 2,
      periodSeconds: 2,
      timeoutSeconds: 1,
      failureThreshold: 1,
    });
    expect(probe(['CMD', 'true'], {interval_ms: 1, timeout_ms: 1, retries: 5, start_period_ms: 0})).toMatchObject({
      periodSeconds: 1,
      timeoutSeconds: 1,
      failureThreshold: 5,
      initialDelaySeconds: 0,
    });
  });
});

describe('environment', () => {
  it('is sorted by name, with ORX_SECRETS_DIR last and replacing a user value of that name', () => {
    const c = podOf(renderAgentObjects(input({env: {ZED: 'z', ALPHA: 'a', ORX_SECRETS_DIR: '/elsewhere', MID: ''}})).deployment)
      .containers[0] as Json;
    expect(c.env).toEqual([
      {name: 'ALPHA', value: 'a'},
      {name: 'MID', value: ''},
      {name: 'ZED', value: 'z'},
      {name: 'ORX_SECRETS_DIR', value: '/run/secrets'},
    ]);
  });
});

describe('secrets', () => {
  const values = {
    OPENAI_API_KEY: 'sk-live-0123456789abcdef',
    GITHUB_TOKEN: 'ghp_SuperSecretValue42',
    'orx-token': 'eyJhbGciOiJFZERTQSJ9.payload.sig',
  };

  it('no secret value ever appears in the rendered ServiceAccount or Deployment', () => {
    const a = input({user: '1000:1000', secret_keys: ['GITHUB_TOKEN', 'OPENAI_API_KEY'], secrets_revision: 'abc123'});
    const text = JSON.stringify(renderAgentObjects(a));
    for (const v of Object.values(values)) {
      expect(text).not.toContain(v);
      expect(text).not.toContain(Buffer.from(v).toString('base64'));
    }
  });

  it("the Secret volume projects exactly the agent's files and the token", () => {
    const pod = podOf(renderAgentObjects(input({secret_keys: ['OPENAI_API_KEY', 'GITHUB_TOKEN']})).deployment);
    expect(pod.volumes[1].secret.items).toEqual([
      {key: 'GITHUB_TOKEN', path: 'GITHUB_TOKEN'},
      {key: 'OPENAI_API_KEY', path: 'OPENAI_API_KEY'},
      {key: 'orx-token', path: 'orx-token'},
    ]);
    expect(podOf(renderAgentObjects(input()).deployment).volumes[1].secret.items).toEqual([{key: 'orx-token', path: 'orx-token'}]);
  });

  it('the revision is an annotation on the pod template only, so a new one rolls the pods', () => {
    const d = renderAgentObjects(input({secrets_revision: 'r1'})).deployment as Json;
    expect(d.spec.template.metadata.annotations).toEqual({'io.orchestrix/secrets-revision': 'r1'});
    expect(d.metadata.annotations).not.toHaveProperty('io.orchestrix/secrets-revision');
    const none = renderAgentObjects(input()).deployment as Json;
    expect(none.spec.template.metadata).not.toHaveProperty('annotations');
    const r2 = renderAgentObjects(input({secrets_revision: 'r2'})).deployment as Json;
    expect(r2.spec.template).not.toEqual(d.spec.template);
  });

  it('renderAgentSecret base64s each value, keys sorted, labelled like the other objects', () => {
    const s = renderAgentSecret(
      {workspace: 'lab', address: 'agent.worker', name: 'orx-lab-worker', namespace: 'orx-lab', labels: {team: 'research'}},
      values,
    ) as Json;
    expect(Object.keys(s)).toEqual(['apiVersion', 'kind', 'metadata', 'type', 'immutable', 'data']);
    expect(s).toMatchObject({apiVersion: 'v1', kind: 'Secret', type: 'Opaque', immutable: false});
    expect(s.metadata).toEqual({
      name: 'orx-lab-worker',
      namespace: 'orx-lab',
      labels: {'io.orchestrix.address': 'agent.worker', 'io.orchestrix.workspace': 'lab', team: 'research'},
      annotations: {'io.orchestrix.rendered-by': 'orchestrix'},
    });
    expect(Object.keys(s.data)).toEqual(['GITHUB_TOKEN', 'OPENAI_API_KEY', 'orx-token']);
    for (const [k, v] of Object.entries(values)) expect(Buffer.from(s.data[k], 'base64').toString('utf8')).toBe(v);
    expect(s.data.OPENAI_API_KEY).toBe('c2stbGl2ZS0wMTIzNDU2Nzg5YWJjZGVm');
    // values only in data, base64: never in plain text anywhere in the object
    expect(JSON.stringify(s)).not.toContain(values.OPENAI_API_KEY);
  });

  it('a value with non-ASCII bytes round-trips', () => {
    const s = renderAgentSecret(input(), {NOTE: 'pässwörd ✓\n'}) as Json;
    expect(Buffer.from(s.data.NOTE, 'base64').toString('utf8')).toBe('pässwörd ✓\n');
  });
});

describe('kubeResources', () => {
  const r = (cpus: number, memory_bytes: number) => kubeResources({tier: 'basic', cpus, memory_bytes});

  it('writes limits as Kubernetes quantities, exactly', () => {
    expect(r(1, 2 * GiB).limits).toEqual({cpu: '1', memory: '2Gi'});
    expect(r(0.5, 300 * MiB).limits).toEqual({cpu: '500m', memory: '300Mi'});
    expect(r(0.25, 1536 * MiB).limits).toEqual({cpu: '250m', memory: '1536Mi'});
    expect(r(4, 8 * GiB).limits).toEqual({cpu: '4', memory: '8Gi'});
    expect(r(1.5, 6 * MiB + 512).limits).toEqual({cpu: '1500m', memory: '6291968'});
    expect(r(16, 32 * GiB + 4096).limits.memory).toBe(`${32 * 1024 * 1024 + 4}Ki`);
  });

  it('the tier table is the source of the limits', () => {
    expect(r(TIERS.basic.cpus, TIERS.basic.memory_bytes).limits).toEqual({cpu: '1', memory: '2Gi'});
    expect(r(TIERS.pro.cpus, TIERS.pro.memory_bytes).limits).toEqual({cpu: '4', memory: '8Gi'});
    expect(r(TIERS.enterprise.cpus, TIERS.enterprise.memory_bytes).limits).toEqual({cpu: '16', memory: '32Gi'});
  });

  it('requests are a quarter of the limits', () => {
    expect(r(1, 2 * GiB).requests).toEqual({cpu: '250m', memory: '512Mi'});
    expect(r(4, 8 * GiB).requests).toEqual({cpu: '1', memory: '2Gi'});
    expect(r(16, 32 * GiB).requests).toEqual({cpu: '4', memory: '8Gi'});
    expect(r(0.25, 300 * MiB).requests).toEqual({cpu: '63m', memory: '75Mi'});
    // memory rounds down to whole MiB
    expect(r(1, 1000 * MiB + 3).requests.memory).toBe('250Mi');
    expect(r(1, 1001 * MiB).requests.memory).toBe('250Mi');
  });

  it('requests have a floor (10m, 16Mi) but never exceed the limit', () => {
    expect(r(0.02, 40 * MiB).requests).toEqual({cpu: '10m', memory: '16Mi'});
    expect(r(0.005, 6 * MiB).requests).toEqual({cpu: '5m', memory: '6Mi'});
    expect(r(0.0001, 6 * MiB).limits.cpu).toBe('1m');
  });

  it('refuses what is not a quantity', () => {
    expect(() => r(0, GiB)).toThrow(RangeError);
    expect(() => r(1, 0)).toThrow(RangeError);
    expect(() => r(1, 1.5)).toThrow(RangeError);
  });
});
