// The normalised, defaulted form of orchestration.yml that the rest of orx consumes.
// Keys stay snake_case like the file; units are resolved (bytes, nanocpus, milliseconds).
import type {VariableDecl} from './variables.js';

export type Autonomy = 0 | 1 | 2 | 3;
export type Tier = 'basic' | 'pro' | 'enterprise';

export interface NetworkSpec {
  internal: boolean;
  labels: Record<string, string>;
}

export interface VolumeSpec {
  labels: Record<string, string>;
  backup: boolean;
  /** how `orx dr backup` holds the agents that mount it still */
  quiesce: 'pause' | 'stop';
  /** "uid:gid" the volume's root is handed to when orx creates it; null: the agents that mount it read-write decide */
  owner: string | null;
}

export interface BuildSpec {
  /** as written, relative to the workspace */
  context: string;
  /** absolute, resolved and checked to stay inside the workspace */
  context_path: string;
  dockerfile: string;
  args: Record<string, string>;
}

export type ImageSpec =
  | {ref: string; /** absolute path of the cosign public key its signature must verify with */ verify_key?: string; build?: undefined}
  | {build: BuildSpec; ref?: undefined};

export interface VolumeMount {
  volume: string;
  path: string;
  read_only: boolean;
}

export interface PortSpec {
  container: number;
  host: number;
  host_ip: string;
  protocol: 'tcp' | 'udp';
}

/** A check orx runs itself while it waits for an agent (the engine knows nothing of it). */
export type HealthProbe = {exec: string[]} | {http: {/** a host port published on 127.0.0.1 */ port: number; path: string}};

export interface HealthSpec {
  /** Docker's form: ["CMD", ...] or ["CMD-SHELL", "..."]; empty when orx probes instead */
  test: string[];
  /** orx's own probe; absent (not null, so the config hash of an agent without one is unchanged): the engine's healthcheck (test) decides */
  probe?: HealthProbe;
  interval_ms: number;
  timeout_ms: number;
  retries: number;
  start_period_ms: number;
}

export type RollbackCondition = 'unhealthy' | 'exit' | 'timeout';

export interface UpdateSpec {
  strategy: 'recreate' | 'blue-green';
  health_timeout_ms: number;
  rollback_on: RollbackCondition[];
}

/** One allowlist entry: a host (or `*.` one-label wildcard) and port, or a private CIDR allowed for a reason. */
export type EgressRule = {host: string; port: number; cidr?: undefined} | {cidr: string; port: number; reason: string; host?: undefined};

/** none: no way out (the default); any: every public destination; list: only these. */
export type EgressSpec = {mode: 'none'} | {mode: 'any'} | {mode: 'list'; rules: EgressRule[]};

/** The workspace's egress gateway: where agents with `egress:` reach the outside. */
export interface EgressGatewaySpec {
  image: string;
  /** networks made outside this workspace that the gateway reaches the outside through; empty: a bridge orx makes */
  uplinks: string[];
  /** the IPv4 range each agent's /29 link network to the gateway is carved from */
  link_pool: string;
}

export interface AgentSpec {
  image: string;
  command: string[] | null;
  env: Record<string, string>;
  tier: Tier;
  cpus: number;
  memory_bytes: number;
  pids_limit: number;
  networks: string[];
  volumes: VolumeMount[];
  ports: PortSpec[];
  health: HealthSpec | null;
  user: string | null;
  /** an explicit, reasoned exception to "agents never run as root" */
  allow_root: {reason: string} | null;
  /** asked for in the file; the baseline policy denies it */
  privileged: boolean;
  /** time budget of this agent's steps, overriding the workspace's */
  budget_ms: number | null;
  labels: Record<string, string>;
  depends_on: string[];
  /** secret name -> reference (op://, env://, file://); never a value */
  secrets: Record<string, string>;
  /** the identity token's lifetime, scopes and audience */
  token: {ttl_ms: number; scopes: string[]; audience: string};
  /** how a change that needs a new container is rolled out */
  update: UpdateSpec;
  /** what it may reach outside, through the egress gateway */
  egress: EgressSpec;
  /** the agents it may open connections to, through the egress gateway */
  talks_to: string[];
  /** where it runs: a container on the Docker engine (default), or a Deployment on a Kubernetes target */
  target: 'docker' | 'kubernetes';
  /** for target kubernetes: the cluster or context and the namespace (null for docker agents) */
  kube: {target: KubeTarget; namespace: string} | null;
}

/**
 * Where Kubernetes objects go: a kind cluster of this workspace (`cluster: dev`, or the
 * context name kind gives it, `context: kind-dev`), or any context of a kubeconfig.
 */
export type KubeTarget =
  | {cluster: string; context?: undefined; kubeconfig?: undefined}
  | {
      context: string;
      /** absolute path; null: kubectl's own default ($KUBECONFIG, ~/.kube/config) */ kubeconfig: string | null;
      cluster?: undefined;
    };

export interface ClusterSpec {
  /**
   * The kind Cluster config (kind.x-k8s.io/v1alpha4) as orx will pass it: checked, without
   * `name` (orx names the cluster), extraPortMappings' listenAddress filled with 127.0.0.1
   * where the file left it out (kind's own default is 0.0.0.0).
   */
  config: Record<string, unknown>;
  /** workspace-relative path of the config file; null when the config is inline */
  config_file: string | null;
  /** REPO[:TAG]@sha256:HEX, pinned by digest */
  node_image: string;
  /** how long `kind create cluster --wait` waits for the control plane (default 5m) */
  wait_ms: number;
  /** also write the cluster's context into the user's default kubeconfig (~/.kube/config) */
  export_kubeconfig: boolean;
}

/** One Kubernetes object from a manifests file, labelled for this workspace. */
export interface ManifestObject {
  /** apiVersion/Kind/namespace/name; namespace empty for cluster-scoped kinds */
  id: string;
  object: Record<string, unknown>;
  /** workspace-relative file it came from */
  file: string;
}

export interface ManifestsSpec {
  target: KubeTarget;
  /** workspace-relative files read (a directory's *.yaml, *.yml and *.json, sorted) */
  files: string[];
  objects: ManifestObject[];
  /** sha256 over the files' names and bytes: part of the config digest */
  digest: string;
  /** objects removed from the files are deleted from the cluster (default true) */
  prune: boolean;
}

/** A built-in policy rule passed at one address, for a reason, through a day (orchestration.yml `waivers:`). */
export interface Waiver {
  rule: string;
  /** agent.NAME, network.NAME, ...; "plan" for a plan-scope rule */
  address: string;
  reason: string;
  /** YYYY-MM-DD: in force through the end of that day, UTC */
  expires: string;
}

/** One `moved:` entry: the record at `from` is taken for `to` when a plan is made. */
export interface MovedSpec {
  from: string;
  to: string;
  /** its position in the `moved:` list, for file:line:col diagnostics found at plan time */
  index: number;
}

export interface WorkspaceConfig {
  workspace: string;
  autonomy: Autonomy;
  kill_switch: boolean;
  networks: Record<string, NetworkSpec>;
  volumes: Record<string, VolumeSpec>;
  images: Record<string, ImageSpec>;
  agents: Record<string, AgentSpec>;
  clusters: Record<string, ClusterSpec>;
  manifests: Record<string, ManifestsSpec>;
  /** `orx apply --chaos` is refused unless this is true */
  chaos: {allowed: boolean};
  /**
   * skip_special: FIFOs, sockets and devices in a volume are left out of its backup (listed in
   * the manifest) instead of failing it; max_volume_bytes: a volume whose files add up to more
   * (apparent size) is not backed up
   */
  dr: {destination: string; health_timeout_ms: number; skip_special: boolean; max_volume_bytes: number};
  /** time budget per step kind, in milliseconds (absent: the action's own) */
  budgets: Partial<Record<'network' | 'volume' | 'image' | 'agent' | 'cluster' | 'manifests', number>>;
  /** absolute path of the signing key given in the file; null: the workspace key (or signing_key_ref) */
  signing_key: string | null;
  /** a secret reference the signing key PEM is resolved from instead of a file */
  signing_key_ref: string | null;
  secrets: {onepassword: {token: string | null; account: string | null}};
  waivers: Waiver[];
  egress_gateway: EgressGatewaySpec;
  /** `moved:` entries (absent in configurations made before it existed) */
  moved?: MovedSpec[];
}

export interface LoadedConfig {
  /** absolute workspace directory */
  dir: string;
  /** absolute path of orchestration.yml */
  file: string;
  /** sha256 hex of orchestration.yml's bytes */
  file_digest: string;
  config: WorkspaceConfig;
  /** `variables:` and the values they were given; absent or empty: the file declares none */
  variables?: LoadedVariables;
  /** `outputs:` by name (CEL over the recorded state) */
  outputs?: Record<string, OutputDecl>;
}

export interface LoadedVariables {
  declarations: VariableDecl[];
  /** the values the configuration was interpolated with, by name */
  values: Record<string, unknown>;
  /** where each value came from: default, plan, env, -var-file FILE, -var */
  sources: Record<string, string>;
}

export interface OutputDecl {
  /** a CEL expression */
  value: string;
  description: string | null;
}
