import type {Docker} from '../drivers/docker.js';
import type {Logger} from '../util/logger.js';
import type {StateChange} from '../ledger/types.js';
import type {Ledger} from '../ledger/ledger.js';

export type Attrs = Record<string, unknown>;
export type SafetyCategory = 'READ' | 'WRITE' | 'DEPLOY' | 'DESTROY' | 'ROLLBACK';
/** move: a record taken to a new address (orchestration.yml `moved:`); the object stays as it is */
export type StepAction = 'create' | 'update' | 'replace' | 'delete' | 'noop' | 'move';
export type ResourceKind = 'network' | 'volume' | 'image' | 'agent' | 'cluster' | 'manifests' | 'gateway';
/** What a plan step acts on: a resource, a disaster-recovery operation (backup, restore, prune), or a record's move */
export type StepKind = ResourceKind | 'dr' | 'move';

export interface AttrChange {
  path: string;
  before: unknown;
  after: unknown;
  forces_replacement: boolean;
}

/** One resource as the configuration wants it. */
export interface DesiredResource {
  address: string;
  kind: ResourceKind;
  name: string;
  attributes: Attrs;
  /** addresses this resource needs to exist first */
  depends_on: string[];
}

/** One resource as the real world shows it (from one list call per object type). */
export interface ObservedResource {
  address: string;
  kind: ResourceKind;
  object_id: string;
  attributes: Attrs;
}

export interface PlannedStep {
  id: string;
  address: string;
  kind: StepKind;
  action: StepAction;
  category: SafetyCategory;
  before: Attrs | null;
  after: Attrs | null;
  changes: AttrChange[];
  /** why this step is here beyond the attribute changes (drift repair, --replace, a replaced dependency) */
  reasons: string[];
  depends_on: string[];
  /** the object a step acts on (update/replace/delete), or an existing one to bind (noop with record) */
  object_id: string | null;
  /** a no-op in the world whose result must still be written to the ledger */
  record: boolean;
  idempotency_key: string;
  /** time budget: past it the step is cancelled and fails (reviewed with the plan) */
  budget_ms: number;
}

/** A step before the plan numbers it and derives its idempotency key. */
export type StepDraft = Omit<PlannedStep, 'id' | 'idempotency_key'>;

export interface StepOutcome {
  object_id: string | null;
  attributes: Attrs | null;
  /** true when an existing object carrying this step's key (or identity) was adopted instead of created */
  adopted?: boolean;
  /** keyed fingerprints of the secrets delivered to an agent (never the values) */
  secret_fingerprints?: Record<string, string>;
  /** the state changes this step made, when they are not simply "put this step's resource" (DR steps: none, or several) */
  changes?: StateChange[];
}

/** Secrets and identity tokens for agents, during one apply (engine/agent-secrets.ts). */
export interface AgentSecretsPort {
  /** the host directory bind-mounted at /run/secrets for this container */
  dirFor(containerName: string): string;
  /** the agent's secret files and a fresh identity token, in memory (a Kubernetes Secret is made of them) */
  issue(
    address: string,
    attrs: {secrets: Record<string, string>; token: {ttl_ms: number; scopes: string[]; audience: string}},
  ): Promise<{files: Record<string, string>; fingerprints: Record<string, string>}>;
  /**
   * writes the agent's secret files and a fresh identity token; returns the secrets' fingerprints.
   * `mountedAt`: an existing container's bind-mount source, written to instead when it is this
   * agent's directory under an earlier root (so a running agent sees rotated values)
   */
  deliver(
    address: string,
    attrs: {name: string; secrets: Record<string, string>; token: {ttl_ms: number; scopes: string[]; audience: string}},
    user: string | null,
    mountedAt?: string | null,
  ): Promise<Record<string, string>>;
  /**
   * removes the agent's secret files and revokes its tokens (address null: files only);
   * `mountedAt`: where the container really had them (its bind mount's source), which is
   * under another root when XDG_RUNTIME_DIR changed since it was created
   */
  remove(address: string | null, containerName: string, reason: string, mountedAt?: string | null): void;
  /** a new container that did not take over (rolled back): its files, and the tokens this apply delivered into them */
  discard(containerName: string, reason: string): void;
  /**
   * the old container of a replace, once its successor took over: its files, and every live token
   * of the agent but those this apply delivered to the successor
   */
  retire(address: string, containerName: string, successor: string, reason: string, mountedAt?: string | null): void;
}

export interface ApplyContext {
  docker: Docker;
  workspace: string;
  dir: string;
  log: Logger;
  /** per-apply memo for look-ups many steps share (an image's user, ...) */
  memo: Map<string, Promise<unknown>>;
  /** aborted when the step's budget runs out: long engine calls (builds, pulls) stop with it */
  signal?: AbortSignal;
  secrets: AgentSecretsPort;
  /** what DR steps record beyond their step row (backups, held agents); the run they belong to */
  ledger: Ledger;
  runId: string;
  version: string;
  /** what the step is doing now, for a progress line on a terminal */
  progress?: (detail: string) => void;
  /** chaos rehearsal: a fault injected into this step's health checks */
  chaos?: {unhealthy: boolean};
  /** whether orchestration.yml waives a built-in rule at an address today (absent: nothing is waived) */
  waived?: (rule: string, address: string) => boolean;
}

export interface SafetyInfo {
  category: SafetyCategory;
  requiresApproval?: boolean;
  budget: {timeMs: number; network: 'none' | 'internal' | 'internet'};
}

/**
 * DESIGN.md's Action contract. `plan` is pure; `apply` must be safe to re-run after a
 * crash (it first looks for an object carrying its idempotency key or identity).
 */
export interface Action<Desired extends Attrs = Attrs> {
  kind: StepKind;
  version: string;
  /** category of a create/update; deletes are always DESTROY */
  safety: SafetyInfo;
  /** top-level attributes that can change without replacing the object */
  updatable: ReadonlySet<string>;
  /** attributes computed once and carried over (e.g. the Docker object name) */
  computed: ReadonlySet<string>;
  validate(input: unknown): Desired;
  /** a replace this action does in one step (no destroy before it): blue-green agents */
  ownsReplace?(step: PlannedStep): boolean;
  plan(
    desired: DesiredResource | null,
    base: ObservedResource | null,
  ): Omit<PlannedStep, 'id' | 'depends_on' | 'idempotency_key' | 'record' | 'budget_ms'>;
  apply(step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome>;
  rollback(outcome: StepOutcome, ctx: ApplyContext): Promise<void>;
}

/**
 * Where an agent runs (a Docker container or a Kubernetes Deployment): the agent's Action
 * picks one by the step's attributes and hands it the whole step.
 */
export type AgentTarget<A extends Attrs> = Pick<Action<A>, 'validate' | 'plan' | 'apply' | 'rollback'> & {
  /** the replace is this target's, done in one step (new object first) */
  ownsReplace(step: PlannedStep): boolean;
};
