// An agent with `target: kubernetes` as Kubernetes objects: a ServiceAccount and a Deployment
// (one replica) carrying the Docker agents' hardening (src/resources/agent/attrs.ts HARDENING) in
// Kubernetes terms, and, at apply time only, the Secret with its files. Pure functions: the
// same input renders the same JSON, key for key, so plans and golden files are stable.
//
// What the Docker agent has that a pod spec cannot express:
// - `Init: true` (an init reaping zombies as PID 1): no pod field; only shareProcessNamespace
//   makes the pause container PID 1, so an image that needs an init must bring its own.
// - `PidsLimit`: a node-wide kubelet setting (podPidsLimit), not a pod field.
// - tmpfs options noexec/nosuid/nodev on /tmp: an emptyDir has no mount options.
import type {EgressRule, HealthSpec, Tier} from '../config/types.js';
import {LABEL} from '../util/labels.js';
import {SECRETS_MOUNT, TOKEN_FILE} from '../config/mounts.js';
import {MiB, cpuMillis, formatBytes, formatCpuMillis} from './quantities.js';
import {PROXY_PORT} from '../util/proxy-port.js';

/** Who an agent's pods may reach and be reached by (src/k8s/render-network.ts renders it as NetworkPolicies). */
export interface KubeNetworkInput {
  /** the agent's own egress gateway and the list it enforces; null: `egress: none`, no gateway, DNS only */
  gateway: {image: string; any: boolean; allow: EgressRule[]} | null;
  /** addresses ("agent.NAME") of the agents in the same namespace its pods may open connections to, sorted */
  talks_to: string[];
  /** addresses of the agents in the same namespace that may open connections to its pods, sorted */
  talked_to_by: string[];
}

export interface KubeAgentInput {
  /** label io.orchestrix.workspace */
  workspace: string;
  /** label io.orchestrix.address, e.g. "agent.worker" */
  address: string;
  /** object name of the Deployment, ServiceAccount and Secret: a DNS-1123 label like "orx-lab-worker" */
  name: string;
  namespace: string;
  /** image reference the node pulls or already has */
  image: string;
  /** null: the image's own entrypoint/cmd */
  command: string[] | null;
  env: Record<string, string>;
  /** "UID" or "UID:GID" numeric, or null (the image's USER) */
  user: string | null;
  tier: Tier;
  /** limit */
  cpus: number;
  /** limit */
  memory_bytes: number;
  /** container ports (TCP) */
  ports: number[];
  /** Docker-style test ["CMD", ...] | ["CMD-SHELL", "..."], interval/timeout/retries/start period in ms */
  health: HealthSpec | null;
  /** user labels (never io.orchestrix.*) */
  labels: Record<string, string>;
  /** asked for in the file (policy denies it); rendered faithfully */
  privileged: boolean;
  allow_root: {reason: string} | null;
  /** names of the agent's secret files (besides orx-token), sorted */
  secret_keys: string[];
  /** changes when a secret's value does (a new token alone is updated in the mounted Secret in place): an annotation on the pod template so pods roll */
  secrets_revision: string | null;
  network: KubeNetworkInput;
}

export interface RenderedAgent {
  serviceAccount: Record<string, unknown>;
  deployment: Record<string, unknown>;
}

export const SECRET_MOUNT_PATH = SECRETS_MOUNT;

/** On the pod template: a new value is a new ReplicaSet, so pods restart and read the new files. */
export const SECRETS_REVISION_ANNOTATION = 'io.orchestrix/secrets-revision';
const RENDERED_BY_ANNOTATION = 'io.orchestrix.rendered-by';
const CONTAINER_NAME = 'agent';

/** The same size as the Docker agent's tmpfs at /tmp (`size=64m` in src/resources/agent/container.ts). */
const TMP_SIZE_LIMIT = '64Mi';

/** Files 0400: only the owner reads them (with fsGroup set the kubelet adds group read, see below). */
const SECRET_FILE_MODE = 0o400;

const REQUEST_DIVISOR = 4;
const MIN_CPU_REQUEST_MILLIS = 10;
const MIN_MEMORY_REQUEST_BYTES = 16 * MiB;

/**
 * Limits are the agent's own (the tier table in src/config/agent.ts TIERS, or its
 * `resources:`), so an agent gets no more on Kubernetes than on Docker. Requests are a quarter
 * of them: what the scheduler reserves, so a laptop's kind node (a few CPUs, a few GiB) can
 * place several agents that mostly idle; a busy agent still bursts up to its limit. CPU is
 * rounded to millicores (at least 10m), memory down to whole MiB (at least 16Mi), and neither
 * above its limit (Kubernetes rejects requests greater than limits).
 */
export function kubeResources(a: Pick<KubeAgentInput, 'tier' | 'cpus' | 'memory_bytes'>): {
  requests: {cpu: string; memory: string};
  limits: {cpu: string; memory: string};
} {
  const cpuLimit = cpuMillis(a.cpus);
  const memLimit = a.memory_bytes;
  const cpuRequest = Math.min(cpuLimit, Math.max(MIN_CPU_REQUEST_MILLIS, Math.round(cpuLimit / REQUEST_DIVISOR)));
  const memRequest = Math.min(memLimit, Math.max(MIN_MEMORY_REQUEST_BYTES, Math.floor(memLimit / REQUEST_DIVISOR / MiB) * MiB));
  return {
    requests: {cpu: formatCpuMillis(cpuRequest), memory: formatBytes(memRequest)},
    limits: {cpu: formatCpuMillis(cpuLimit), memory: formatBytes(memLimit)},
  };
}

export function renderAgentObjects(a: KubeAgentInput): RenderedAgent {
  const labels = objectLabels(a);
  const serviceAccount = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: objectMeta(a, labels),
    // the agent has no business with the Kubernetes API: no token in the pod, by default
    automountServiceAccountToken: false,
  };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(a, labels),
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      // a Deployment's selector cannot change after creation: only labels orx itself owns,
      // never user labels, which may change from one apply to the next
      selector: {matchLabels: {[LABEL.workspace]: a.workspace, [LABEL.address]: a.address}},
      // RollingUpdate with no unavailable pod: the new pod must be ready before the old one
      // goes, so a rollout (new image, new secrets) has no downtime. The price is that two
      // copies of the agent run side by side for a moment, which Recreate would avoid.
      strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 0, maxSurge: 1}},
      template: {
        metadata: {
          labels,
          ...(a.secrets_revision !== null ? {annotations: {[SECRETS_REVISION_ANNOTATION]: a.secrets_revision}} : {}),
        },
        spec: podSpec(a),
      },
    },
  };
  return {serviceAccount, deployment};
}

/** Apply-time only: the Secret holding the agent's files, values base64 in `data`, keys sorted. */
export function renderAgentSecret(
  a: Pick<KubeAgentInput, 'workspace' | 'address' | 'name' | 'namespace' | 'labels'>,
  files: Record<string, string>,
): Record<string, unknown> {
  const data: Record<string, string> = {};
  for (const key of Object.keys(files).sort()) data[key] = Buffer.from(files[key], 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(a, objectLabels(a)),
    type: 'Opaque',
    // values are re-issued in place (the token at every apply that touches the agent)
    immutable: false,
    data,
  };
}

/** The name of the agent's gateway Deployment, ConfigMap, Service and NetworkPolicy. */
export function gatewayName(agentName: string): string {
  return `${agentName}-egress`;
}

/** The gateway's Service by its namespace-qualified name, so the URL means the same from any pod. */
export function gatewayProxyUrl(a: Pick<KubeAgentInput, 'name' | 'namespace'>): string {
  return `http://${gatewayName(a.name)}.${a.namespace}.svc:${PROXY_PORT}`;
}

export function objectLabels(a: Pick<KubeAgentInput, 'workspace' | 'address' | 'labels'>): Record<string, string> {
  const all: Record<string, string> = {...a.labels, [LABEL.workspace]: a.workspace, [LABEL.address]: a.address};
  return Object.fromEntries(
    Object.keys(all)
      .sort()
      .map((k) => [k, all[k]]),
  );
}

export function objectMeta(a: Pick<KubeAgentInput, 'name' | 'namespace'>, labels: Record<string, string>) {
  return {name: a.name, namespace: a.namespace, labels: {...labels}, annotations: {[RENDERED_BY_ANNOTATION]: 'orchestrix'}};
}

interface Ids {
  uid: number | null;
  gid: number | null;
}

/**
 * "1000" or "1000:1000". A pod can only name numeric ids; a user name ("node") is left to the
 * image, and runAsNonRoot then makes the kubelet refuse the pod unless the image's USER is a
 * numeric non-zero uid, the same refusal the Docker path makes for a root image.
 */
function parseUser(user: string | null): Ids {
  if (user === null) return {uid: null, gid: null};
  const [u, g] = user.split(':', 2);
  const uid = u !== undefined && /^\d+$/.test(u) ? Number(u) : null;
  if (uid === null) return {uid: null, gid: null};
  // Docker runs "UID" alone with gid 0, the root group; a pod gets the uid's own number
  if (g === undefined || g === '') return {uid, gid: uid};
  return {uid, gid: /^\d+$/.test(g) ? Number(g) : null};
}

function podSpec(a: KubeAgentInput) {
  const {uid, gid} = parseUser(a.user);
  return {
    serviceAccountName: a.name,
    automountServiceAccountToken: false,
    // no KUBERNETES_SERVICE_HOST-style variables describing other services in the namespace
    enableServiceLinks: false,
    hostNetwork: false,
    hostPID: false,
    hostIPC: false,
    securityContext: {
      runAsNonRoot: !a.allow_root,
      ...(uid !== null ? {runAsUser: uid} : {}),
      ...(gid !== null ? {runAsGroup: gid} : {}),
      // the kubelet gives the secret files to this group and adds group read (0400 -> 0440),
      // which is how a non-root agent reads files the kubelet writes as root. Without a numeric
      // user there is no group to give them to, and a non-root image user cannot read them.
      ...(gid !== null ? {fsGroup: gid} : {}),
      seccompProfile: {type: 'RuntimeDefault'},
    },
    containers: [container(a)],
    volumes: [
      {name: 'tmp', emptyDir: {medium: 'Memory', sizeLimit: TMP_SIZE_LIMIT}},
      {
        name: 'secrets',
        secret: {
          secretName: a.name,
          // exactly the files the agent was given: a key added to the Secret by hand does not
          // reach the agent, and a missing one stops the pod at start instead of a missing file
          items: secretFiles(a.secret_keys).map((key) => ({key, path: key})),
          defaultMode: SECRET_FILE_MODE,
          optional: false,
        },
      },
    ],
  };
}

function secretFiles(keys: string[]): string[] {
  return [...new Set([...keys, TOKEN_FILE])].sort();
}

const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy'];

/**
 * The agent's own gateway, for every client that honours the usual variables (both spellings:
 * curl reads only the lower-case http_proxy), as on Docker. talks_to goes pod to pod, not
 * through the gateway (which refuses other agents), so an agent that talks to others leaves
 * in-cluster names to its direct connection; the NetworkPolicy still stops all but its peers.
 */
function proxyEnv(a: KubeAgentInput): Array<{name: string; value: string}> {
  if (!a.network.gateway) return [];
  const url = gatewayProxyUrl(a);
  const none = ['localhost', '127.0.0.1', '::1', ...(a.network.talks_to.length > 0 ? ['.svc', '.cluster.local'] : [])].join(',');
  return PROXY_VARS.map((name) => ({name, value: name.toLowerCase() === 'no_proxy' ? none : url}));
}

function container(a: KubeAgentInput) {
  // orx's own when it has a gateway: a user value of the same name would route around it
  const reserved = new Set(['ORX_SECRETS_DIR', ...(a.network.gateway ? PROXY_VARS : [])]);
  const env = Object.keys(a.env)
    .filter((k) => !reserved.has(k))
    .sort()
    .map((name) => ({name, value: a.env[name]}));
  const probe = healthProbe(a.health);
  return {
    name: CONTAINER_NAME,
    image: a.image,
    // a built image is loaded into kind's nodes, not pushed anywhere: pulling it (the default
    // for :latest or untagged references) would fail
    imagePullPolicy: 'IfNotPresent',
    // the Docker agent sets Cmd and keeps the image's Entrypoint; `args` is Cmd in a pod
    ...(a.command !== null ? {args: [...a.command]} : {}),
    // the path of the secrets, never their values; orx's own, so it replaces one of the same name
    env: [...env, ...proxyEnv(a), {name: 'ORX_SECRETS_DIR', value: SECRET_MOUNT_PATH}],
    ...(a.ports.length > 0 ? {ports: a.ports.map((containerPort) => ({containerPort, protocol: 'TCP'}))} : {}),
    resources: kubeResources(a),
    securityContext: {
      // the no_new_privs flag: Kubernetes refuses privileged with allowPrivilegeEscalation false,
      // so a privileged agent (which policy denies) is rendered as asked rather than made invalid
      allowPrivilegeEscalation: a.privileged,
      privileged: a.privileged,
      readOnlyRootFilesystem: true,
      runAsNonRoot: !a.allow_root,
      capabilities: {drop: ['ALL']},
      seccompProfile: {type: 'RuntimeDefault'},
    },
    ...(probe ? {readinessProbe: probe, livenessProbe: {...probe}} : {}),
    volumeMounts: [
      {name: 'tmp', mountPath: '/tmp'},
      {name: 'secrets', mountPath: SECRET_MOUNT_PATH, readOnly: true},
    ],
  };
}

// src/config/agent.ts writes `health: {http: {port, path}}` as this wget command
const HTTP_HEALTH_PREFIX = ['CMD', 'wget', '-q', '-O', '/dev/null'];
const HTTP_HEALTH_URL = /^http:\/\/127\.0\.0\.1:(\d{1,5})(\/.*)$/;

type ProbeAction = {httpGet: {path: string; port: number}} | {exec: {command: string[]}};

/** The kubelet's form of the check, or null when the test runs nothing (Docker's [] or ["NONE"]). */
function probeAction(test: string[]): ProbeAction | null {
  const http = httpCheck(test);
  // the kubelet probes the pod's IP, not 127.0.0.1: an agent listening on loopback only
  // passes the wget check on Docker and fails this one
  if (http) return {httpGet: http};
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length > 0) return {exec: {command: rest}};
  if (kind === 'CMD-SHELL' && rest.length === 1) return {exec: {command: ['/bin/sh', '-c', rest[0]]}};
  return null;
}

function httpCheck(test: string[]): {path: string; port: number} | null {
  if (test.length !== HTTP_HEALTH_PREFIX.length + 1 || HTTP_HEALTH_PREFIX.some((t, i) => test[i] !== t)) return null;
  const m = HTTP_HEALTH_URL.exec(test[HTTP_HEALTH_PREFIX.length]);
  if (!m) return null;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? {path: m[2], port} : null;
}

function healthProbe(h: HealthSpec | null) {
  if (!h) return null;
  const action = probeAction(h.test);
  if (!action) return null;
  return {
    ...action,
    // Docker's start period only forgives failures; the kubelet's delay does not probe at all
    initialDelaySeconds: Math.max(0, Math.floor(h.start_period_ms / 1000)),
    periodSeconds: Math.max(1, Math.ceil(h.interval_ms / 1000)),
    timeoutSeconds: Math.max(1, Math.ceil(h.timeout_ms / 1000)),
    failureThreshold: Math.max(1, h.retries),
  };
}
