// What a Kubernetes agent's pods may reach, as NetworkPolicies, and the agent's own egress
// gateway (a squid Deployment with its ConfigMap, Service and NetworkPolicy). Pure: the squid
// configuration is made by src/egress and handed in as text.
//
// Every agent's pods are isolated both ways. Out: DNS to the cluster's kube-dns pods; TCP to
// its own gateway when it has egress; any port to the pods of the agents it talks_to. In: only
// from the pods of the agents that talk_to it. Its gateway admits only its pods, and reaches the
// outside except the guarded ranges (loopback, private, link-local, ...), which squid refuses
// again after resolving names.
//
// A NetworkPolicy is an intent the cluster's network plugin carries out: where the CNI does not
// enforce NetworkPolicy (kind before v0.24, whose kindnet gained it in v0.24.0; flannel alone),
// the pods reach everything regardless, and the proxy variables are only a convention.
// Traffic from the pod's own node (the kubelet's probes) is allowed by the plugins that enforce.
import {createHash} from 'node:crypto';
import {LABEL} from '../util/labels.js';
import {PROXY_PORT} from '../util/proxy-port.js';
import {gatewayName, objectLabels, objectMeta, type KubeAgentInput} from './render-agent.js';

type Json = Record<string, unknown>;

/** On the gateway's pods instead of io.orchestrix.address: the agent's Deployment selects its pods by address, and must not select these. */
export const GATEWAY_OF_LABEL = 'io.orchestrix.egress-gateway-of';
/** On the gateway's pod template: a new squid.conf is a new ReplicaSet (squid reads its file only at start). */
export const GATEWAY_CONFIG_ANNOTATION = 'io.orchestrix/egress-config-digest';

/** Debian's (and Ubuntu's) `proxy` user and group, which the squid package runs as. */
const PROXY_UID = 13;
const EMPTY_DIR_LIMIT = '16Mi';
const CONFIG_FILE_MODE = 0o444;

/** The squid side, from src/egress: the file, where the image expects it, and the ranges refused whatever a list says. */
export interface GatewayProxy {
  config: string;
  configDir: string;
  configFile: string;
  command: string[];
  guarded: readonly string[];
}

function agentPods(a: Pick<KubeAgentInput, 'workspace'>, address: string): Json {
  return {matchLabels: {[LABEL.workspace]: a.workspace, [LABEL.address]: address}};
}

function gatewayPodLabels(a: Pick<KubeAgentInput, 'workspace' | 'address'>): Record<string, string> {
  return {[GATEWAY_OF_LABEL]: a.address, [LABEL.workspace]: a.workspace};
}

const DNS_RULE: Json = {
  to: [
    {
      namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'kube-system'}},
      podSelector: {matchLabels: {'k8s-app': 'kube-dns'}},
    },
  ],
  ports: [
    {protocol: 'UDP', port: 53},
    {protocol: 'TCP', port: 53},
  ],
};

/** The agent's own NetworkPolicy, named like its Deployment. */
export function renderAgentNetworkPolicy(a: KubeAgentInput): Json {
  const n = a.network;
  const egress: Json[] = [DNS_RULE];
  if (n.gateway) egress.push({to: [{podSelector: {matchLabels: gatewayPodLabels(a)}}], ports: [{protocol: 'TCP', port: PROXY_PORT}]});
  // every port of the peer: as on Docker, talks_to names an agent, not a service of it
  if (n.talks_to.length > 0) egress.push({to: n.talks_to.map((peer) => ({podSelector: agentPods(a, peer)}))});
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(a, objectLabels(a)),
    spec: {
      podSelector: agentPods(a, a.address),
      // both listed: a type without rules denies everything of that direction
      policyTypes: ['Ingress', 'Egress'],
      ...(n.talked_to_by.length > 0 ? {ingress: [{from: n.talked_to_by.map((peer) => ({podSelector: agentPods(a, peer)}))}]} : {}),
      egress,
    },
  };
}

/** ConfigMap, Service, NetworkPolicy and Deployment of the agent's gateway, in the order they are applied; [] without egress. */
export function renderGatewayObjects(a: KubeAgentInput, proxy: GatewayProxy): Json[] {
  const g = a.network.gateway;
  if (!g) return [];
  const meta = objectMeta({name: gatewayName(a.name), namespace: a.namespace}, objectLabels(a));
  const pods = gatewayPodLabels(a);
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: structuredClone(meta),
    immutable: false,
    data: {[proxy.configFile]: proxy.config},
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: structuredClone(meta),
    spec: {
      type: 'ClusterIP',
      selector: {...pods},
      ports: [{name: 'proxy', protocol: 'TCP', port: PROXY_PORT, targetPort: PROXY_PORT}],
    },
  };
  const v4 = proxy.guarded.filter((c) => !c.includes(':'));
  const v6 = proxy.guarded.filter((c) => c.includes(':'));
  const cidrRules = g.allow
    .filter((r) => r.cidr !== undefined)
    .map((r) => ({to: [{ipBlock: {cidr: r.cidr}}], ports: [{protocol: 'TCP', port: r.port}]}));
  const policy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: structuredClone(meta),
    spec: {
      podSelector: {matchLabels: {...pods}},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{from: [{podSelector: agentPods(a, a.address)}], ports: [{protocol: 'TCP', port: PROXY_PORT}]}],
      // the guard twice: squid refuses these after resolving a name, and the network refuses them to squid
      egress: [
        DNS_RULE,
        {
          to: [{ipBlock: {cidr: '0.0.0.0/0', except: v4}}, {ipBlock: {cidr: '::/0', except: v6}}],
        },
        ...cidrRules,
      ],
    },
  };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: structuredClone(meta),
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      selector: {matchLabels: {...pods}},
      strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 0, maxSurge: 1}},
      template: {
        metadata: {
          labels: {...pods},
          annotations: {[GATEWAY_CONFIG_ANNOTATION]: createHash('sha256').update(proxy.config).digest('hex').slice(0, 16)},
        },
        spec: gatewayPodSpec(gatewayName(a.name), g.image, proxy),
      },
    },
  };
  return [configMap, service, policy, deployment];
}

function gatewayPodSpec(name: string, image: string, proxy: GatewayProxy): Json {
  const scratch = ['tmp', 'run', 'spool', 'log'];
  const paths: Record<string, string> = {tmp: '/tmp', run: '/var/run/squid', spool: '/var/spool/squid', log: '/var/log/squid'};
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    hostNetwork: false,
    hostPID: false,
    hostIPC: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      fsGroup: PROXY_UID,
      seccompProfile: {type: 'RuntimeDefault'},
    },
    containers: [
      {
        name: 'squid',
        image,
        imagePullPolicy: 'IfNotPresent',
        command: [...proxy.command],
        ports: [{name: 'proxy', containerPort: PROXY_PORT, protocol: 'TCP'}],
        // the Docker gateway's limits (src/egress/gateway-docker.ts)
        resources: {requests: {cpu: '50m', memory: '64Mi'}, limits: {cpu: '1', memory: '256Mi'}},
        securityContext: {
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: {drop: ['ALL']},
          seccompProfile: {type: 'RuntimeDefault'},
        },
        readinessProbe: {tcpSocket: {port: PROXY_PORT}, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3},
        livenessProbe: {tcpSocket: {port: PROXY_PORT}, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3},
        volumeMounts: [
          {name: 'config', mountPath: proxy.configDir, readOnly: true},
          ...scratch.map((v) => ({name: v, mountPath: paths[v]})),
        ],
      },
    ],
    volumes: [
      {
        name: 'config',
        configMap: {name, items: [{key: proxy.configFile, path: proxy.configFile}], defaultMode: CONFIG_FILE_MODE, optional: false},
      },
      ...scratch.map((v) => ({name: v, emptyDir: {medium: 'Memory', sizeLimit: EMPTY_DIR_LIMIT}})),
    ],
  };
}
