// Egress of Kubernetes agents: the NetworkPolicies every agent gets, the per-agent squid gateway
// (Deployment, ConfigMap, Service, NetworkPolicy), talks_to as two-sided pod-to-pod rules, and
// every rendered object validated against its Kubernetes schema in kubeconform's strict form
// (test/fixtures/k8s/*.schema.json; see their $comment for where each came from).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {Ajv, type ValidateFunction} from 'ajv';
import {afterAll, describe, expect, it} from 'vitest';
import {loadConfig} from '../../src/config/load.js';
import {buildDesired} from '../../src/engine/desired.js';
import {GUARDED} from '../../src/egress/squid-config.js';
import {renderKubeSquidConfig} from '../../src/egress/squid-kube.js';
import type {KubeObject} from '../../src/k8s/objects.js';
import {GATEWAY_OF_LABEL} from '../../src/k8s/render-network.js';
import type {KubeAgentInput, KubeNetworkInput} from '../../src/k8s/render-agent.js';
import {renderedObjects, type KubeAgentAttrs} from '../../src/resources/agent/kubernetes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'k8s');

type Json = Record<string, any>;

const SCHEMAS: Record<string, string> = {
  Deployment: 'deployment-apps-v1.schema.json',
  NetworkPolicy: 'networkpolicy-networking-v1.schema.json',
  Service: 'service-v1.schema.json',
  ConfigMap: 'configmap-v1.schema.json',
};
const validators = new Map<string, ValidateFunction>();
function schemaErrors(o: Json): string[] {
  const file = SCHEMAS[o.kind as string];
  if (!file) return [];
  let v = validators.get(file);
  if (!v) {
    // strict: an unknown keyword or a typo in the schema itself is an error, not a silent pass
    const ajv = new Ajv({strict: true, allowUnionTypes: true, allErrors: true});
    v = ajv.compile(JSON.parse(fs.readFileSync(path.join(fixtures, file), 'utf8')) as object);
    validators.set(file, v);
  }
  const kind = String(o.kind);
  return v(o) ? [] : (v.errors ?? []).map((e) => `${kind}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

const NONE: KubeNetworkInput = {gateway: null, talks_to: [], talked_to_by: []};

function spec(network: KubeNetworkInput, over: Partial<KubeAgentInput> = {}): Omit<KubeAgentInput, 'secrets_revision'> {
  return {
    workspace: 'lab',
    address: 'agent.worker',
    name: 'orx-lab-worker',
    namespace: 'agents',
    image: 'ghcr.io/example/tools:1.4',
    command: null,
    env: {},
    user: '1000:1000',
    tier: 'basic',
    cpus: 1,
    memory_bytes: 2 * 1024 ** 3,
    ports: [],
    health: null,
    labels: {team: 'research'},
    privileged: false,
    allow_root: null,
    secret_keys: [],
    network,
    ...over,
  };
}

const LISTED: KubeNetworkInput = {
  gateway: {
    image: 'registry.example/squid@sha256:' + 'c'.repeat(64),
    any: false,
    allow: [
      {host: 'api.openai.com', port: 443},
      {host: '*.githubusercontent.com', port: 443},
      {host: 'pypi.org', port: 8443},
      {cidr: '10.20.0.0/16', port: 5432, reason: 'the team database'},
    ],
  },
  talks_to: [],
  talked_to_by: [],
};

function objects(network: KubeNetworkInput, over: Partial<KubeAgentInput> = {}): Json[] {
  return Object.values(renderedObjects(spec(network, over), null));
}
const find = (objs: Json[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const envOf = (objs: Json[]) =>
  Object.fromEntries(
    (find(objs, 'Deployment', 'orx-lab-worker')!.spec.template.spec.containers[0].env as Array<{name: string; value: string}>).map((e) => [
      e.name,
      e.value,
    ]),
  );

const DNS = {
  to: [
    {namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'kube-system'}}, podSelector: {matchLabels: {'k8s-app': 'kube-dns'}}},
  ],
  ports: [
    {protocol: 'UDP', port: 53},
    {protocol: 'TCP', port: 53},
  ],
};
const agentPods = (address: string) => ({matchLabels: {'io.orchestrix.workspace': 'lab', 'io.orchestrix.address': address}});
const gatewayPods = {[GATEWAY_OF_LABEL]: 'agent.worker', 'io.orchestrix.workspace': 'lab'};

describe('an agent with an allowlist: its own NetworkPolicy and its own gateway', () => {
  const objs = objects(LISTED);

  it('renders the agent, its policy, and the gateway ConfigMap, Service, NetworkPolicy and Deployment', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/orx-lab-worker',
      'Deployment/orx-lab-worker',
      'NetworkPolicy/orx-lab-worker',
      'ConfigMap/orx-lab-worker-egress',
      'Service/orx-lab-worker-egress',
      'NetworkPolicy/orx-lab-worker-egress',
      'Deployment/orx-lab-worker-egress',
    ]);
    // labelled like the agent's Deployment, so a refresh finds them under agent.worker
    for (const o of objs) {
      expect(o.metadata.namespace).toBe('agents');
      expect(o.metadata.labels).toEqual({'io.orchestrix.address': 'agent.worker', 'io.orchestrix.workspace': 'lab', team: 'research'});
      expect(o.metadata.annotations).toEqual({'io.orchestrix.rendered-by': 'orchestrix'});
    }
  });

  it("the agent's pods reach nothing but DNS and their gateway's port, and nobody reaches them", () => {
    const p = find(objs, 'NetworkPolicy', 'orx-lab-worker')!;
    expect(p.spec).toEqual({
      podSelector: agentPods('agent.worker'),
      policyTypes: ['Ingress', 'Egress'],
      egress: [DNS, {to: [{podSelector: {matchLabels: gatewayPods}}], ports: [{protocol: 'TCP', port: 3128}]}],
    });
    // Ingress listed with no rules: all ingress denied
    expect(p.spec).not.toHaveProperty('ingress');
  });

  it("the gateway admits only this agent's pods, and reaches out except the guarded ranges and the allowed CIDR", () => {
    const p = find(objs, 'NetworkPolicy', 'orx-lab-worker-egress')!;
    expect(p.spec.podSelector).toEqual({matchLabels: gatewayPods});
    expect(p.spec.ingress).toEqual([{from: [{podSelector: agentPods('agent.worker')}], ports: [{protocol: 'TCP', port: 3128}]}]);
    expect(p.spec.egress[0]).toEqual(DNS);
    const [v4, v6] = p.spec.egress[1].to;
    expect(v4.ipBlock.cidr).toBe('0.0.0.0/0');
    expect(v4.ipBlock.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16']),
    );
    expect(v6.ipBlock).toEqual({cidr: '::/0', except: GUARDED.filter((c) => c.includes(':'))});
    expect([...v4.ipBlock.except, ...v6.ipBlock.except].sort()).toEqual([...GUARDED].sort());
    expect(p.spec.egress[2]).toEqual({to: [{ipBlock: {cidr: '10.20.0.0/16'}}], ports: [{protocol: 'TCP', port: 5432}]});
    expect(p.spec.egress).toHaveLength(3);
  });

  it("the gateway's pods are not the agent's: the agent Deployment's selector cannot adopt them", () => {
    const agent = find(objs, 'Deployment', 'orx-lab-worker')!;
    const gw = find(objs, 'Deployment', 'orx-lab-worker-egress')!;
    const podLabels = gw.spec.template.metadata.labels as Record<string, string>;
    const selects = Object.entries(agent.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => podLabels[k] === v);
    expect(selects).toBe(false);
    expect(gw.spec.selector).toEqual({matchLabels: gatewayPods});
    expect(find(objs, 'Service', 'orx-lab-worker-egress')!.spec).toEqual({
      type: 'ClusterIP',
      selector: gatewayPods,
      ports: [{name: 'proxy', protocol: 'TCP', port: 3128, targetPort: 3128}],
    });
  });

  it('the gateway is hardened: uid 13, read-only root, no capabilities, memory emptyDirs for squid, its config read-only', () => {
    const gw = find(objs, 'Deployment', 'orx-lab-worker-egress')!;
    const pod = gw.spec.template.spec as Json;
    expect(gw.spec.replicas).toBe(1);
    expect(pod).toMatchObject({
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      securityContext: {runAsNonRoot: true, runAsUser: 13, runAsGroup: 13, seccompProfile: {type: 'RuntimeDefault'}},
    });
    const c = pod.containers[0] as Json;
    expect(c.image).toBe(LISTED.gateway!.image);
    expect(c.command).toEqual(['/usr/sbin/squid', '-N', '-f', '/etc/orx-egress/squid.conf']);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: {drop: ['ALL']},
      seccompProfile: {type: 'RuntimeDefault'},
    });
    expect(c.volumeMounts).toEqual([
      {name: 'config', mountPath: '/etc/orx-egress', readOnly: true},
      {name: 'tmp', mountPath: '/tmp'},
      {name: 'run', mountPath: '/var/run/squid'},
      {name: 'spool', mountPath: '/var/spool/squid'},
      {name: 'log', mountPath: '/var/log/squid'},
    ]);
    expect(pod.volumes[0].configMap).toMatchObject({name: 'orx-lab-worker-egress', items: [{key: 'squid.conf', path: 'squid.conf'}]});
    for (const v of pod.volumes.slice(1)) expect(v.emptyDir).toEqual({medium: 'Memory', sizeLimit: '16Mi'});
  });

  it('the ConfigMap holds the squid.conf made from the agent list, and a new list rolls the gateway pod', () => {
    const cm = find(objs, 'ConfigMap', 'orx-lab-worker-egress')!;
    const g = LISTED.gateway!;
    expect(cm.data['squid.conf']).toBe(renderKubeSquidConfig({workspace: 'lab', address: 'agent.worker', any: false, allow: g.allow}));
    const fewer = objects({...LISTED, gateway: {...g, allow: g.allow.slice(0, 1)}});
    const digest = (o: Json[]) => find(o, 'Deployment', 'orx-lab-worker-egress')!.spec.template.metadata.annotations;
    expect(digest(fewer)).not.toEqual(digest(objs));
  });

  it('the agent container is pointed at its gateway by name, in both spellings; a user value cannot override it', () => {
    const url = 'http://orx-lab-worker-egress.agents.svc:3128';
    const env = envOf(objects(LISTED, {env: {HTTPS_PROXY: 'http://elsewhere:1', LOG_LEVEL: 'info'}}));
    expect(env).toEqual({
      LOG_LEVEL: 'info',
      HTTP_PROXY: url,
      HTTPS_PROXY: url,
      http_proxy: url,
      https_proxy: url,
      NO_PROXY: 'localhost,127.0.0.1,::1',
      no_proxy: 'localhost,127.0.0.1,::1',
      ORX_SECRETS_DIR: '/run/secrets',
    });
  });

  it('every object is valid against its strict Kubernetes schema', () => {
    const kinds = new Set<string>();
    for (const o of objs) {
      expect(schemaErrors(o)).toEqual([]);
      kinds.add(o.kind as string);
    }
    expect([...kinds].filter((k) => SCHEMAS[k]).sort()).toEqual(['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service']);
  });

  it('the schemas are strict: a misspelt NetworkPolicy, Service or ConfigMap field is refused', () => {
    const np = structuredClone(find(objs, 'NetworkPolicy', 'orx-lab-worker')!);
    np.spec.egress[0].to[0].podSelektor = {};
    expect(schemaErrors(np).join('\n')).toMatch(/must NOT have additional properties.*podSelektor/);
    const np2 = structuredClone(find(objs, 'NetworkPolicy', 'orx-lab-worker')!);
    np2.spec.policyTypes = ['Egres'];
    expect(schemaErrors(np2).join('\n')).toMatch(/policyTypes\/0 must be equal to one of the allowed values/);
    const svc = structuredClone(find(objs, 'Service', 'orx-lab-worker-egress')!);
    svc.spec.ports[0].target_port = 3128;
    expect(schemaErrors(svc).join('\n')).toMatch(/must NOT have additional properties/);
    const cm = structuredClone(find(objs, 'ConfigMap', 'orx-lab-worker-egress')!);
    cm.datas = {};
    expect(schemaErrors(cm).join('\n')).toMatch(/must NOT have additional properties/);
    const gw = structuredClone(find(objs, 'Deployment', 'orx-lab-worker-egress')!);
    gw.spec.template.spec.volumes[0].configMap.mode = 0o444;
    expect(schemaErrors(gw).join('\n')).toMatch(/must NOT have additional properties/);
  });
});

describe('an agent with egress none and no talks_to', () => {
  const objs = objects(NONE);

  it('gets no gateway, no proxy variables, and a policy that allows DNS alone', () => {
    expect(objs.map((o) => o.kind)).toEqual(['ServiceAccount', 'Deployment', 'NetworkPolicy']);
    expect(find(objs, 'NetworkPolicy', 'orx-lab-worker')!.spec).toEqual({
      podSelector: agentPods('agent.worker'),
      policyTypes: ['Ingress', 'Egress'],
      egress: [DNS],
    });
    expect(Object.keys(envOf(objs))).toEqual(['ORX_SECRETS_DIR']);
    for (const o of objs) expect(schemaErrors(o)).toEqual([]);
  });

  it('keeps a user HTTP_PROXY: without a gateway there is nothing to route around', () => {
    expect(envOf(objects(NONE, {env: {HTTP_PROXY: 'http://corp:8080'}})).HTTP_PROXY).toBe('http://corp:8080');
  });
});

describe("the per-agent gateway's squid.conf", () => {
  const conf = renderKubeSquidConfig({workspace: 'lab', address: 'agent.worker', any: false, allow: LISTED.gateway!.allow});
  const access = conf.split('\n').filter((l) => l.startsWith('http_access'));

  it("holds the agent's hosts, its CIDR, and the guard before any listed host; everything else refused", () => {
    expect(conf).toContain('acl host_443 dstdomain -n api.openai.com');
    expect(conf).toContain('acl wild_443 dstdom_regex -n -i ^[^.]+\\.githubusercontent\\.com$');
    expect(conf).toContain('acl host_8443 dstdomain -n pypi.org');
    expect(conf).toContain('acl cidr_0 dst 10.20.0.0/16');
    expect(conf).toContain(`acl orx_guard dst ${GUARDED.join(' ')}`);
    expect(access).toEqual([
      'http_access deny manager why_unknown',
      'http_access allow cidr_0 port_5432 why_cidr',
      'http_access deny orx_guard why_guard',
      'http_access allow port_443 host_443 why_listed',
      'http_access allow port_443 wild_443 why_listed',
      'http_access allow port_8443 host_8443 why_listed',
      'http_access deny all why_not_listed',
    ]);
  });

  it("shares the Docker gateway's base: port 3128, no cache, the orx access log format", () => {
    expect(conf).toMatch(/^http_port 3128$/m);
    expect(conf).toMatch(/^cache deny all$/m);
    expect(conf).toMatch(/^logformat orx %ts\.%03tu /m);
    expect(conf).toMatch(/^acl why_guard annotate_transaction orx_why=guard$/m);
  });

  it('egress: any allows what the guard leaves; an empty list allows nothing', () => {
    const any = renderKubeSquidConfig({workspace: 'lab', address: 'agent.worker', any: true, allow: []});
    expect(any.split('\n').filter((l) => l.startsWith('http_access'))).toEqual([
      'http_access deny manager why_unknown',
      'http_access deny orx_guard why_guard',
      'http_access allow why_any',
      'http_access deny all why_not_listed',
    ]);
  });
});

// -- from orchestration.yml: talks_to between Kubernetes agents --------------------------------

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) fs.rmSync(d, {recursive: true, force: true});
});

function desiredAgents(agents: string): Map<string, KubeAgentAttrs> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-k8s-egress-'));
  tmp.push(dir);
  fs.writeFileSync(
    path.join(dir, 'orchestration.yml'),
    `workspace: lab
images:
  tools: {ref: "ghcr.io/example/tools:1.4"}
clusters:
  dev: {node_image: "kindest/node:v1.31.0@sha256:${'a'.repeat(64)}"}
egress_gateway: {image: "registry.example/squid:6"}
agents:
${agents}`,
  );
  const graph = buildDesired({loaded: loadConfig(dir), recorded: new Map()});
  return new Map(graph.resources.filter((r) => r.kind === 'agent').map((r) => [r.name, r.attributes as KubeAgentAttrs]));
}

const K = 'image: tools, target: kubernetes, cluster: dev, namespace: lab, resources: {cpus: 0.5, memory: 128m}';
const policyOf = (a: KubeAgentAttrs) =>
  Object.values(a.objects).find((o: KubeObject) => o.kind === 'NetworkPolicy' && o.metadata.name === a.name) as Json;

describe('talks_to between Kubernetes agents, from orchestration.yml', () => {
  it("opens A's egress to B's pods and B's ingress from A's pods, one way, and nothing else", () => {
    const agents = desiredAgents(`  planner: {${K}, talks_to: [coder]}
  coder: {${K}}
  loner: {${K}}
`);
    const planner = policyOf(agents.get('planner')!);
    const coder = policyOf(agents.get('coder')!);
    expect(planner.spec.egress).toEqual([
      DNS,
      {to: [{podSelector: {matchLabels: {'io.orchestrix.workspace': 'lab', 'io.orchestrix.address': 'agent.coder'}}}]},
    ]);
    expect(planner.spec).not.toHaveProperty('ingress');
    expect(coder.spec.ingress).toEqual([
      {from: [{podSelector: {matchLabels: {'io.orchestrix.workspace': 'lab', 'io.orchestrix.address': 'agent.planner'}}}]},
    ]);
    expect(coder.spec.egress).toEqual([DNS]);
    expect(policyOf(agents.get('loner')!).spec).toEqual({
      podSelector: {matchLabels: {'io.orchestrix.workspace': 'lab', 'io.orchestrix.address': 'agent.loner'}},
      policyTypes: ['Ingress', 'Egress'],
      egress: [DNS],
    });
    expect(agents.get('planner')!.talks_to).toEqual(['coder']);
    expect(agents.get('coder')).not.toHaveProperty('talks_to');
    for (const a of agents.values()) for (const o of Object.values(a.objects)) expect(schemaErrors(o as Json)).toEqual([]);
  });

  it('an agent with egress and talks_to reaches its peers directly: in-cluster names bypass the proxy', () => {
    const agents = desiredAgents(`  planner: {${K}, talks_to: [coder], egress: [api.openai.com]}
  coder: {${K}}
`);
    const planner = agents.get('planner')!;
    expect(planner.egress).toBe(false);
    expect(planner.egress_allow).toEqual(['api.openai.com:443']);
    const d = Object.values(planner.objects).find((o) => o.kind === 'Deployment' && o.metadata.name === planner.name) as Json;
    const env = Object.fromEntries(
      (d.spec.template.spec.containers[0].env as Array<{name: string; value: string}>).map((e) => [e.name, e.value]),
    );
    expect(env.NO_PROXY).toBe('localhost,127.0.0.1,::1,.svc,.cluster.local');
    expect(env.HTTPS_PROXY).toBe('http://orx-lab-planner-egress.lab.svc:3128');
    const squid = Object.values(planner.objects).find((o) => o.kind === 'ConfigMap') as Json;
    expect(squid.data['squid.conf']).toContain('acl host_443 dstdomain -n api.openai.com');
    expect(
      Object.values(planner.objects).find((o) => o.kind === 'Deployment' && o.metadata.name === 'orx-lab-planner-egress'),
    ).toMatchObject({
      spec: {template: {spec: {containers: [{image: 'registry.example/squid:6'}]}}},
    });
  });

  it('refuses talks_to that a NetworkPolicy cannot express: another namespace, or a Docker agent', () => {
    expect(() =>
      desiredAgents(`  planner: {${K}, talks_to: [coder, local]}
  coder: {image: tools, target: kubernetes, cluster: dev, namespace: other, resources: {cpus: 0.5, memory: 128m}}
  local: {image: tools}
`),
    ).toThrow(
      expect.objectContaining({
        code: 'plan_refused',
        message: expect.stringMatching(
          /agent\.planner: talks_to coder, which is not a Kubernetes agent in the same namespace and context[\s\S]*agent\.planner: talks_to local, which is not/,
        ),
      }),
    );
  });

  it('no Kubernetes agent reaches out around its gateway: egress (what approve-egress reads) is false whatever it lists', () => {
    const agents = desiredAgents(`  open: {${K}, egress: any}
  closed: {${K}}
`);
    expect(agents.get('open')!.egress).toBe(false);
    expect(agents.get('open')!.egress_allow).toEqual(['any']);
    expect(agents.get('closed')!.egress).toBe(false);
    expect(agents.get('closed')).not.toHaveProperty('egress_allow');
  });
});
