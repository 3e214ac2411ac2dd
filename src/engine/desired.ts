import path from 'node:path';
import type {AgentSpec, LoadedConfig, VolumeSpec} from '../config/types.js';
import {decideOwner, rwMounters} from '../config/volume-owners.js';
import {isDockerNetwork} from '../config/special-networks.js';
import type {VolumeAttrs} from '../resources/volume.js';
import {clusterConfigHash, nodeRoles, type ClusterAttrs} from '../resources/cluster.js';
import {KUBE_AGENT_BUDGET_MS, renderedObjects, secretsRevision, type KubeAgentAttrs} from '../resources/agent/kubernetes.js';
import type {ManifestsAttrs} from '../resources/manifests.js';
import type {KubeObject} from '../k8s/objects.js';
import {contextKey, kubeAttr, type KubeAttr} from '../k8s/target.js';
import {OrxError, type Diagnostic} from '../errors.js';
import type {ResourceRecord} from '../ledger/types.js';
import {agentConfigHash, HARDENING, type AgentAttrs} from '../resources/agent/attrs.js';
import {readBuildContext} from '../resources/build-context.js';
import {dockerfileUser} from '../config/build-context.js';
import {objectName} from '../util/labels.js';
import type {Attrs, DesiredResource} from '../resources/types.js';
import {repositoryOf} from '../drivers/registry/reference.js';
import {SECRETS_MOUNT} from '../config/mounts.js';
import {isDefaultUpdate} from '../config/agent.js';
import {desiredGateway} from '../egress/desired.js';
import {GATEWAY_ADDRESS} from '../egress/attrs.js';
import {kubeAgentNetworks, type KubeAgentEgress} from '../egress/kube-desired.js';

export interface LocalImage {
  id: string;
  /** undefined: not known without an inspect; the container create checks it */
  user?: string | null;
}

export interface DesiredInput {
  loaded: LoadedConfig;
  recorded: Map<string, ResourceRecord>;
  /** what a `ref` image resolves to on the engine now (null: not present, will be pulled) */
  localImage?: (ref: string) => LocalImage | null;
  /** CPUs the engine has, when known: a limit above it fails at create, so it is refused at plan */
  engineCpus?: number;
  /** subnets of networks on the engine: a new link network is never placed over one (another workspace's links included) */
  takenSubnets?: string[];
  /** image name -> the registry digest its signature was verified for */
  verifiedDigests?: Map<string, string>;
}

export interface DesiredGraph {
  resources: DesiredResource[];
  /** image address -> build context digest, part of the config digest */
  contextDigests: Record<string, string>;
}

function recordedName(recorded: Map<string, ResourceRecord>, address: string, fallback: string): string {
  const name = recorded.get(address)?.attributes.name;
  return typeof name === 'string' ? name : fallback;
}

/**
 * Resolves build contexts once; the config digest and the image attributes both need them.
 * Files orchestration.yml points at (kind configs, manifests) are part of the digest too, so
 * a saved plan is stale once one of them changes.
 */
export function contextDigests(loaded: LoadedConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(loaded.config.images)) {
    if (spec.build) out[`image.${name}`] = readBuildContext(spec.build.context_path, spec.build.dockerfile, spec.build.args).digest;
  }
  for (const [name, spec] of Object.entries(loaded.config.clusters ?? {}))
    if (spec.config_file) out[`cluster.${name}`] = clusterConfigHash(spec.node_image, spec.config);
  for (const [name, spec] of Object.entries(loaded.config.manifests ?? {})) out[`manifests.${name}`] = spec.digest;
  return out;
}

export function buildDesired(input: DesiredInput): DesiredGraph {
  const {loaded, recorded} = input;
  const cfg = loaded.config;
  const ws = cfg.workspace;
  const resources: DesiredResource[] = [];
  const problems: Diagnostic[] = [];
  const digests = contextDigests(loaded);

  const netNames: Record<string, string> = {};
  for (const [name, spec] of Object.entries(cfg.networks)) {
    const address = `network.${name}`;
    netNames[name] = recordedName(recorded, address, objectName(ws, name));
    // imported before orx refused Docker's own networks
    if (isDockerNetwork(netNames[name]))
      problems.push({
        path: `networks.${name}`,
        message: `${address}: the state binds it to Docker's own network "${netNames[name]}", which is never a workspace resource; run \`orx state rm ${address}\` (the network is left alone), then plan again: orx creates a network of this workspace`,
      });
    resources.push({
      address,
      kind: 'network',
      name,
      depends_on: [],
      attributes: {name: netNames[name], internal: spec.internal, labels: spec.labels},
    });
  }

  const imageRef: Record<string, string> = {};
  const kubeImageRef: Record<string, string> = {};
  const imageUser: Record<string, string | null | undefined> = {};
  for (const [name, spec] of Object.entries(cfg.images)) {
    const address = `image.${name}`;
    let attributes: Attrs;
    if (spec.build) {
      const digest = digests[address];
      const user = dockerfileUser(spec.build.context_path, spec.build.dockerfile);
      const context = path.relative(loaded.dir, spec.build.context_path) || '.';
      attributes = {
        source: 'build',
        tag: `${objectName(ws, name)}:${digest.slice(0, 12)}`,
        context,
        context_digest: digest,
        dockerfile: spec.build.dockerfile,
        args: spec.build.args,
        user,
      };
      imageRef[name] = attributes.tag as string;
      // no USER in the Dockerfile means root: known, not unknown
      imageUser[name] = user ?? '';
    } else {
      // a verified image is pinned to the digest its signature was checked for
      const digest = input.verifiedDigests?.get(name);
      const pinned = digest ? `${repositoryOf(spec.ref)}@${digest}` : spec.ref;
      const local = input.localImage?.(pinned) ?? null;
      attributes = {source: 'ref', ref: spec.ref, id: local?.id ?? null, ...(digest ? {digest} : {})};
      // content-addressed, so the same before and after the pull: agents do not churn
      imageRef[name] = digest ? pinned : (local?.id ?? spec.ref);
      // a Kubernetes node pulls by reference: never the engine's local image id
      kubeImageRef[name] = digest ? pinned : spec.ref;
      // unknown until inspected: checked again when the container is created
      imageUser[name] = local?.user;
    }
    resources.push({address, kind: 'image', name, depends_on: [], attributes});
  }

  const volNames: Record<string, string> = {};
  for (const [name, spec] of Object.entries(cfg.volumes)) {
    const address = `volume.${name}`;
    volNames[name] = recordedName(recorded, address, objectName(ws, name));
    const owner = volumeOwner(name, spec, cfg.agents, imageUser, imageRef, problems);
    resources.push({
      address,
      kind: 'volume',
      name,
      depends_on: owner.depends_on,
      attributes: {name: volNames[name], labels: spec.labels, backup: spec.backup, ...owner.attributes},
    });
  }

  for (const [name, spec] of Object.entries(cfg.clusters ?? {})) {
    const address = `cluster.${name}`;
    const kindName = recordedName(recorded, address, objectName(ws, name));
    const attributes: ClusterAttrs = {
      name: kindName,
      node_image: spec.node_image,
      config: spec.config,
      nodes: nodeRoles(spec.config),
      wait_ms: spec.wait_ms,
      export_kubeconfig: spec.export_kubeconfig,
      context: `kind-${kindName}`,
      config_hash: clusterConfigHash(spec.node_image, spec.config),
    };
    resources.push({address, kind: 'cluster', name, depends_on: [], attributes});
  }

  const manifestsOn = new Map<string, string[]>();
  for (const [name, spec] of Object.entries(cfg.manifests ?? {})) {
    const address = `manifests.${name}`;
    const kube = kubeAttr(ws, spec.target);
    (manifestsOn.get(contextKey(kube)) ?? manifestsOn.set(contextKey(kube), []).get(contextKey(kube))!).push(address);
    const attributes: ManifestsAttrs = {
      kube,
      files: spec.files,
      prune: spec.prune,
      digest: spec.digest,
      objects: Object.fromEntries(spec.objects.map((o) => [o.id, o.object as KubeObject])),
    };
    resources.push({address, kind: 'manifests', name, depends_on: kube.cluster !== null ? [`cluster.${kube.cluster}`] : [], attributes});
  }

  const gateway = desiredGateway(cfg, recorded, input.takenSubnets ?? []);
  if (gateway.error) problems.push({path: 'egress_gateway.link_pool', message: `${GATEWAY_ADDRESS}: ${gateway.error}`});
  if (gateway.resource) resources.push(gateway.resource);

  const agentNames = Object.fromEntries(
    Object.keys(cfg.agents).map((name) => [name, recordedName(recorded, `agent.${name}`, objectName(ws, name))]),
  );
  const kubeNetworks = kubeAgentNetworks(cfg, agentNames);
  problems.push(...kubeNetworks.problems);

  for (const [name, spec] of Object.entries(cfg.agents)) {
    const address = `agent.${name}`;
    if (spec.target === 'kubernetes' && spec.kube) {
      const kube = kubeAttr(ws, spec.kube.target);
      const image = cfg.images[spec.image];
      const attributes = kubeAgentAttrs({
        ws,
        address,
        name: agentNames[name],
        spec,
        egress: kubeNetworks.agents.get(name)!,
        kube,
        namespace: spec.kube.namespace,
        built: Boolean(image?.build),
        imageRef: kubeImageRef[spec.image] ?? imageRef[spec.image],
        imageUser: imageUser[spec.image] ?? null,
        fingerprints: recorded.get(address)?.secret_fingerprints,
        budgetMs: spec.budget_ms ?? cfg.budgets.agent ?? null,
      });
      const deps = [
        `image.${spec.image}`,
        ...(kube.cluster !== null ? [`cluster.${kube.cluster}`] : []),
        ...(manifestsOn.get(contextKey(kube)) ?? []),
        ...spec.depends_on.map((d) => `agent.${d}`),
      ];
      resources.push({address, kind: 'agent', name, attributes, depends_on: deps});
      continue;
    }
    if (input.engineCpus !== undefined && spec.cpus > input.engineCpus) {
      problems.push({
        path: `agents.${name}`,
        message: `${address}: asks for ${spec.cpus} CPUs (tier ${spec.tier}) but the engine has ${input.engineCpus}; set resources.cpus`,
      });
    }
    const base: Omit<AgentAttrs, 'config_hash'> = {
      name: recordedName(recorded, address, objectName(ws, name)),
      image: spec.image,
      image_ref: imageRef[spec.image],
      command: spec.command,
      env: spec.env,
      user: spec.user,
      image_user: imageUser[spec.image] ?? null,
      allow_root: spec.allow_root,
      egress: spec.networks.some((n) => !cfg.networks[n].internal),
      cpus: spec.cpus,
      memory_bytes: spec.memory_bytes,
      pids_limit: spec.pids_limit,
      networks: spec.networks.map((n) => netNames[n]).sort(),
      mounts: spec.volumes.map((v) => ({source: volNames[v.volume], target: v.path, read_only: v.read_only})),
      ports: spec.ports,
      health: spec.health,
      labels: spec.labels,
      hardening: {...HARDENING, privileged: spec.privileged},
      secrets: spec.secrets,
      token: spec.token,
      secrets_mount: SECRETS_MOUNT,
      running: true,
      // the default is left out: attributes (and the plans and records made of them) carry a strategy only where one was chosen
      ...(isDefaultUpdate(spec.update) ? {} : {update: spec.update}),
      // likewise the gateway's part: an agent without egress or talks_to is as it was before them
      ...(gateway.agents.get(name) ?? {}),
    };
    resources.push({
      address,
      kind: 'agent',
      name,
      attributes: {...base, config_hash: agentConfigHash(base)},
      depends_on: [
        `image.${spec.image}`,
        ...spec.networks.map((n) => `network.${n}`),
        ...spec.volumes.map((v) => `volume.${v.volume}`),
        ...spec.depends_on.map((d) => `agent.${d}`),
        ...(gateway.agents.has(name) ? [GATEWAY_ADDRESS] : []),
      ],
    });
  }

  if (problems.length > 0) {
    throw new OrxError({
      code: 'plan_refused',
      message: problems.map((p) => p.message).join('\n'),
      diagnostics: problems,
      actions: ['Fix orchestration.yml and run `orx plan` again.'],
    });
  }
  return {resources, contextDigests: digests};
}

/** Who a volume orx creates is handed to: `owner`, or the agents named in `owner_from` at apply. */
function volumeOwner(
  name: string,
  spec: VolumeSpec,
  agents: Record<string, AgentSpec>,
  imageUser: Record<string, string | null | undefined>,
  imageRef: Record<string, string>,
  problems: Diagnostic[],
): {attributes: Pick<VolumeAttrs, 'owner' | 'owner_from'>; depends_on: string[]} {
  const mounters = rwMounters(
    name,
    agents,
    (a) => a.user ?? imageUser[a.image],
    () => [],
  );
  const d = decideOwner(spec, mounters);
  if (d.kind === 'known') return {attributes: {owner: d.owner}, depends_on: []};
  if (d.kind === 'conflict')
    problems.push({
      path: `volumes.${name}`,
      message: `volume.${name}: agents.${d.first.agent} runs as ${d.first.owner} and agents.${d.second.agent} as ${d.second.owner}, and both mount it read-write; set volumes.${name}.owner`,
    });
  if (d.kind !== 'at-apply') return {attributes: {}, depends_on: []};
  const from = mounters.map((m) => ({agent: `agent.${m.agent}`, user: agents[m.agent].user, image_ref: imageRef[agents[m.agent].image]}));
  return {attributes: {owner_from: from}, depends_on: [...new Set(mounters.map((m) => `image.${agents[m.agent].image}`))]};
}

interface KubeAgentSource {
  ws: string;
  address: string;
  name: string;
  spec: AgentSpec;
  egress: KubeAgentEgress;
  kube: KubeAttr;
  namespace: string;
  built: boolean;
  imageRef: string;
  imageUser: string | null;
  fingerprints: Record<string, string> | undefined;
  budgetMs: number | null;
}

/** The rollout must end inside the step's budget, with time left to record it. */
const ROLLOUT_MARGIN_MS = 10_000;

function kubeAgentAttrs(k: KubeAgentSource): KubeAgentAttrs {
  const {spec} = k;
  const input = {
    workspace: k.ws,
    address: k.address,
    name: k.name,
    namespace: k.namespace,
    image: k.imageRef,
    command: spec.command,
    env: spec.env,
    // the image's numeric USER, when the agent names none: the pod's fsGroup lets it read its secret files
    user: spec.user ?? (k.imageUser && /^\d+(:\d+)?$/.test(k.imageUser) ? k.imageUser : null),
    tier: spec.tier,
    cpus: spec.cpus,
    memory_bytes: spec.memory_bytes,
    ports: [],
    health: spec.health,
    labels: spec.labels,
    privileged: spec.privileged,
    allow_root: spec.allow_root,
    secret_keys: Object.keys(spec.secrets).sort(),
    network: k.egress.network,
  };
  // the revision the last apply rendered, from the fingerprints it recorded: unchanged secrets, unchanged pods
  const revision = Object.keys(spec.secrets).length > 0 ? secretsRevision(k.fingerprints) : null;
  return {
    target: 'kubernetes',
    name: k.name,
    kube: k.kube,
    namespace: k.namespace,
    image: spec.image,
    image_ref: k.imageRef,
    load_image: k.built && k.kube.cluster !== null,
    spec: input,
    secrets_revision: revision,
    secrets: spec.secrets,
    token: spec.token,
    rollout_timeout_ms: Math.max(5_000, (k.budgetMs ?? KUBE_AGENT_BUDGET_MS) - ROLLOUT_MARGIN_MS),
    user: spec.user,
    image_user: k.imageUser,
    allow_root: spec.allow_root,
    // its NetworkPolicy leaves no way out but its own gateway (see KubeAgentAttrs.egress)
    egress: false,
    ...(k.egress.egress_allow ? {egress_allow: k.egress.egress_allow} : {}),
    ...(k.egress.talks_to ? {talks_to: k.egress.talks_to} : {}),
    networks: [`pod network of ${k.kube.context}`],
    cpus: spec.cpus,
    memory_bytes: spec.memory_bytes,
    hardening: {...HARDENING, privileged: spec.privileged},
    objects: renderedObjects(input, revision),
  };
}
