import type {OrxContext} from './context.js';
import {checkExpressions, loadConfig} from '../config/load.js';
import type {LoadedConfig} from '../config/types.js';
import {connectDocker} from '../drivers/docker.js';
import {ingestEgressLog} from '../egress/ingest.js';
import {recordEgressLog} from './egress-record.js';
import {OrxError} from '../errors.js';
import type {Ledger} from '../ledger/ledger.js';
import type {ResourceRecord} from '../ledger/types.js';
import {ACTIONS} from './actions.js';
import {buildDesired, type LocalImage} from './desired.js';
import {observeVolumeOwners} from './volume-owners.js';
import {configDigest, currentState, planVariableInputs, policyDigest} from './digests.js';
import {execute, type ExecuteResult, type ExecutorEvents} from './executor.js';
import type {ForcedStop} from './forced-stop.js';
import {assertFresh, newPlanId, PLAN_FORMAT_VERSION, planDigest, readPlanFile, writePlanFile, type PlanDocument} from './planfile.js';
import {buildPlan, summarize} from './planner.js';
import {refuseNameClashes, resolveMoves} from './moves.js';
import {withLedger} from '../ledger/session.js';
import {verifyImages, type ImageVerification} from './image-verify.js';
import {refuseIfHalted} from './halt-guard.js';
import {effectiveAutonomy} from '../policy/autonomy.js';
import {isDenied, type DecisionLike} from '../policy/review.js';
import {approvalRequired, gate} from '../policy/gate.js';
import {approvalsFor} from '../ledger/approvals.js';
import {autonomyAtApply, decideAtApply, decidePolicy, loadPolicySet, refuseIfDenied} from './policy-eval.js';
import {assertCategory} from './step-category.js';
import {isWaived} from '../config/waivers.js';
import type {PolicySet} from '../policy/types.js';
import {haltState} from '../ledger/halt.js';
import {recordSnapshot} from '../ledger/snapshots.js';
import {EXIT} from '../exit-codes.js';
import type {PlannedStep} from '../resources/types.js';
import {localImageIndex, observe, takeSnapshot} from './refresh.js';
import {hasKubeResources, observeKubernetes} from './kube-refresh.js';
import {simulatePlan} from './plan-sim.js';
import {findPortConflicts, portConflictError} from './port-conflicts.js';
import {KUBE_AGENT_BUDGET_MS} from '../resources/agent/kubernetes.js';
import {CHAOS_RNG, planFaults, type ChaosSpec} from '../sim/chaos.js';
import {agentSecretsPort, resolveAgentSecrets, rotatedSecrets, secretRequests, type ResolvedSecrets} from './agent-secrets.js';
import {workspaceKey} from './workspace-key.js';
import {preflight} from './preflight.js';
import {checkpointChain} from './checkpoint.js';
import {resumeInterruptedBackup} from './held-agents.js';
import {secretFingerprinter} from '../secrets/fingerprint.js';
import type {SecretRequest} from '../secrets/resolve.js';
import type {WorkspaceKey} from '../trust/keys.js';
import {takeWorkspaceLock} from './workspace-lock.js';

export interface PlanOptions {
  mode: 'apply' | 'destroy';
  refresh: boolean;
  targets: string[];
  replace: string[];
  /** a lower autonomy than the workspace's, for this plan */
  autonomy?: number;
  /** resolve secret references to find rotated values (plain plans stay offline) */
  refreshSecrets?: boolean;
  /** the readiness simulation's seed (default: from the plan id) and iterations (default 1000) */
  simSeed?: string;
  simIterations?: number;
}

/** An image whose signature does not verify is denied like any policy denial, naming it. */
function imageDenials(verifications: Map<string, ImageVerification>, steps: PlannedStep[]): DecisionLike[] {
  return [...verifications.values()]
    .filter((v) => !v.ok)
    .map((v) => {
      const step = steps.find((s) => s.address === `image.${v.image}`);
      return {
        rule: 'image-signature',
        effect: 'deny' as const,
        message: `image ${v.image} (${v.ref}) is not verified: ${v.reason}`,
        step: step?.id ?? null,
        address: `image.${v.image}`,
      };
    });
}

function recordedMap(records: ResourceRecord[]): Map<string, ResourceRecord> {
  return new Map(records.map((r) => [r.address, r]));
}

/** Ref images resolve from the ledger when refresh is off: no engine call at all. */
function recordedImages(records: Map<string, ResourceRecord>): (ref: string) => LocalImage | null {
  const byRef = new Map(
    [...records.values()]
      .filter((r) => r.attributes.source === 'ref' && r.attributes.id)
      .map((r) => [String(r.attributes.ref), String(r.attributes.id)]),
  );
  return (ref) => (byRef.has(ref) ? {id: byRef.get(ref)!} : null);
}

export async function createPlan(
  ctx: OrxContext,
  opts: PlanOptions,
  ledger: Ledger,
  loaded: LoadedConfig,
  policies: PolicySet,
): Promise<PlanDocument> {
  const planId = newPlanId();
  // `moved:` first: everything below sees each moved record at its new address
  const {records, moves} = resolveMoves(loaded, ledger.listResources());
  const recorded = recordedMap(records);
  const hasRefImages = Object.values(loaded.config.images).some((i) => i.ref) || records.some((r) => r.attributes.source === 'ref');
  if (opts.refresh) await resumeInterruptedBackup(ledger, ctx.log);
  const hasClusters = Object.keys(loaded.config.clusters).length > 0 || records.some((r) => r.kind === 'cluster');
  const hasLinks = Object.values(loaded.config.agents).some((a) => a.egress.mode !== 'none' || a.talks_to.length > 0);
  const snapshot = opts.refresh
    ? await takeSnapshot(await connectDocker(), loaded.config.workspace, records, hasRefImages, hasClusters, hasLinks)
    : null;
  // what agents reached for since the last command is on the record before anything is decided
  if (opts.refresh) await recordEgressLog(ctx, ledger, loaded.config, await connectDocker());
  // deleting needs no trust in what an image contains: only plans that run images verify them
  const verifications = opts.mode === 'apply' ? await verifyImages(loaded) : new Map<string, ImageVerification>();
  const graph = buildDesired({
    loaded,
    recorded,
    localImage: snapshot ? localImageIndex(snapshot) : recordedImages(recorded),
    engineCpus: snapshot?.cpus,
    takenSubnets: snapshot?.takenSubnets,
    verifiedDigests: new Map([...verifications.values()].filter((v) => v.ok && v.digest).map((v) => [v.image, v.digest!])),
  });
  if (opts.mode === 'apply') refuseNameClashes(graph.resources, records);
  const desired = new Map(graph.resources.map((r) => [r.address, r]));
  const observation = snapshot ? observe(snapshot, recorded, desired, ledger.forgotten()) : null;
  const ownerNotes =
    observation && opts.mode === 'apply' ? await observeVolumeOwners(await connectDocker(), loaded.config, desired, observation) : [];
  if (observation && hasKubeResources(graph.resources, records)) {
    await observeKubernetes({dir: ctx.dir, workspace: loaded.config.workspace, desired, recorded, observed: observation.observed});
  }
  const resolved = opts.refreshSecrets && opts.mode === 'apply' ? await resolveForPlan(ctx, loaded) : null;
  const orphanKeys = (observation?.orphans ?? []).map((o) => o.step_key).filter((k): k is string => Boolean(k));
  const model = buildPlan({
    plan_id: planId,
    mode: opts.mode,
    desired: graph.resources,
    recorded: records,
    observation,
    knownStepKeys: ledger.knownStepKeys(orphanKeys),
    targets: opts.targets,
    replace: opts.replace,
    moves,
    rotated: resolved ? rotatedSecrets(resolved, records) : undefined,
    budgetFor: (address, kind) =>
      (kind === 'agent' ? loaded.config.agents[address.slice('agent.'.length)]?.budget_ms : undefined) ??
      (kind === 'gateway' ? undefined : loaded.config.budgets[kind]) ??
      (kind === 'agent' && loaded.config.agents[address.slice('agent.'.length)]?.target === 'kubernetes'
        ? KUBE_AGENT_BUDGET_MS
        : undefined),
  });
  const steps = model.steps;
  if (snapshot && opts.mode === 'apply') {
    const conflicts = await findPortConflicts(await connectDocker(), loaded.config.workspace, loaded, steps);
    if (conflicts.length > 0) throw portConflictError(loaded, conflicts);
  }
  const autonomy = effectiveAutonomy(loaded.config.autonomy, opts.autonomy);
  const verdict = await decidePolicy(policies, loaded.config.waivers, {
    kind: opts.mode,
    steps,
    workspace: loaded.config.workspace,
    autonomy,
    ledger,
  });
  const decisions = [...imageDenials(verifications, steps), ...verdict.decisions];
  const doc: PlanDocument = {
    ...planHeader(ctx, ledger, loaded, planId, graph.contextDigests),
    kind: opts.mode,
    autonomy,
    refresh: opts.refresh,
    targets: opts.targets,
    replace: opts.replace,
    steps: model.steps,
    drift: model.drift,
    notes: [...model.notes, ...ownerNotes],
    summary: summarize(model.steps),
    policy: {decisions, waivers: verdict.waivers},
    simulation: await simulatePlan(
      ledger,
      {plan_id: planId, steps, decisions, autonomy},
      {seed: opts.simSeed, iterations: opts.simIterations},
    ),
    signature: null,
  };
  // values stay in this process: an apply of this very plan reuses them instead of resolving again
  if (resolved) planSecrets.set(doc, resolved);
  return doc;
}

const planSecrets = new WeakMap<PlanDocument, ResolvedSecrets>();

/** What every plan says of where it was made: the ledger's lineage, serial and head, and the digests it must still match. */
export function planHeader(ctx: OrxContext, ledger: Ledger, loaded: LoadedConfig, planId: string, contexts: Record<string, string>) {
  const meta = ledger.meta();
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    plan_id: planId,
    created_at: new Date().toISOString(),
    orx_version: ctx.version,
    workspace: loaded.config.workspace,
    lineage: meta.lineage,
    serial: meta.serial,
    ledger_head: ledger.chainHead(),
    config_digest: configDigest(loaded.file_digest, contexts, loaded.variables?.values),
    policy_digest: policyDigest(ctx.dir),
    ...(loaded.variables && loaded.variables.declarations.length > 0 ? {variables: loaded.variables.values} : {}),
  };
}

async function resolveForPlan(ctx: OrxContext, loaded: LoadedConfig): Promise<ResolvedSecrets | null> {
  const requests = secretRequests(loaded.config);
  if (requests.length === 0) return null;
  const key = await workspaceKey(ctx, loaded.config);
  return resolveAgentSecrets({dir: ctx.dir, version: ctx.version, config: loaded.config}, requests, secretFingerprinter(key));
}

/**
 * What the agents this plan starts need: the workspace key (their identity tokens) and every
 * secret reference resolved before the first step, so one failing reference fails the apply
 * before any change.
 */
async function prepareSecrets(
  ctx: OrxContext,
  doc: PlanDocument,
  steps: PlannedStep[],
  loaded: LoadedConfig,
  ledger: Ledger,
): Promise<{key: WorkspaceKey | null; resolved: ResolvedSecrets}> {
  // the agents it starts, and their attributes (a restore recreates agents as recorded)
  const starting: Array<{address: string; attrs: Record<string, unknown>}> = [];
  for (const s of steps) {
    if (s.kind === 'agent' && s.after && s.action !== 'noop' && s.action !== 'delete') starting.push({address: s.address, attrs: s.after});
    if (s.kind !== 'dr' || s.after?.op !== 'restore-volume') continue;
    for (const address of (s.after.agents as string[] | undefined) ?? []) {
      const rec = ledger.getResource(address);
      if (rec) starting.push({address, attrs: rec.attributes});
    }
  }
  const none: ResolvedSecrets = {values: new Map(), fingerprints: new Map()};
  if (starting.length === 0) return {key: null, resolved: none};
  // every started agent gets an identity token: load the JOSE library while the rest goes on
  void import('../trust/agent-token.js').then((m) => m.preloadTokenLibrary());
  const key = await workspaceKey(ctx, loaded.config);
  const requests: SecretRequest[] = starting.flatMap((s) =>
    Object.entries((s.attrs.secrets as Record<string, string> | undefined) ?? {}).map(([k, ref]) => ({address: s.address, key: k, ref})),
  );
  if (requests.length === 0) return {key, resolved: none};
  const earlier = planSecrets.get(doc);
  if (earlier && requests.every((r) => earlier.values.get(r.address)?.[r.key] !== undefined)) return {key, resolved: earlier};
  return {
    key,
    resolved: await resolveAgentSecrets({dir: ctx.dir, version: ctx.version, config: loaded.config}, requests, secretFingerprinter(key)),
  };
}

export interface ApplyOptions {
  parallelism: number;
  signal?: AbortSignal;
  events?: ExecutorEvents;
  /** the steps to run when a review dropped some (default: all of the plan's) */
  steps?: PlannedStep[];
  /** chaos rehearsal (`--chaos SEED`): refused unless the workspace allows it */
  chaos?: ChaosSpec;
  /** a lower autonomy asked for on the command line */
  autonomy?: number;
  /** what a forced stop must still record before the process goes (the run, the lock) */
  forced?: ForcedStop;
}

export interface ApplyOutcome extends ExecuteResult {
  run_id: string;
  serial: number;
  /** restore plans: wall time from the apply's start until the restored agents were healthy */
  rto_ms?: number;
}

/**
 * Applies exactly `doc`: under the workspace lock, after checking it still matches
 * the ledger and the configuration it was made from.
 */
export async function applyPlan(ctx: OrxContext, doc: PlanDocument, ledger: Ledger, opts: ApplyOptions): Promise<ApplyOutcome> {
  const lock = await takeWorkspaceLock(ctx, ledger);
  const unlockOnForce = opts.forced?.add(() => ledger.releaseLock(lock.id));
  const startedAt = Date.now();
  try {
    const loaded = loadConfig(ctx.dir, {vars: planVariableInputs(doc, ctx.vars)});
    refuseIfHalted(ledger, loaded.config.kill_switch, ctx.killSwitch ?? false);
    assertFresh(doc, currentState(ctx.dir, loaded, ledger));
    for (const s of doc.steps) {
      if (!ACTIONS[s.kind])
        throw new OrxError({code: 'plan_invalid', exit: EXIT.STALE, message: `plan step ${s.id}: unknown kind ${String(s.kind)}`});
      if (s.after) ACTIONS[s.kind].validate(s.after);
      assertCategory(s);
    }
    if (opts.chaos && !loaded.config.chaos.allowed) {
      throw new OrxError({
        code: 'chaos_refused',
        message: `--chaos: this workspace does not allow chaos rehearsal`,
        actions: [
          'Set `chaos: {allowed: true}` in orchestration.yml of a workspace you can afford to break, then apply with --chaos again.',
        ],
      });
    }
    const steps = opts.steps ?? doc.steps;
    // decided now, on what is about to run: the plan's own decisions are for review only
    const autonomy = autonomyAtApply(loaded, doc, opts.autonomy);
    const verdict = await decideAtApply(ctx.dir, doc, steps, loaded, ledger, autonomy);
    refuseIfDenied(verdict.decisions, `plan ${doc.plan_id}`);
    const unapproved = gate(steps, verdict.decisions, autonomy, approvalsFor(ledger, planDigest(doc))).pending;
    if (unapproved.length > 0) throw approvalRequired(unapproved, autonomy, {kind: doc.kind});
    const docker = await connectDocker();
    // resolved before the run starts: a reference that fails leaves nothing behind
    const pending = await prepareSecrets(ctx, doc, steps, loaded, ledger);
    // agents a killed backup left paused are running again before anything else happens
    await resumeInterruptedBackup(ledger, ctx.log);
    const run = ledger.startRun({
      kind: doc.kind,
      mode: 'APPLY',
      autonomy,
      actor: ctx.actor,
      plan_id: doc.plan_id,
      plan_digest: planDigest(doc),
    });
    // its signed checkpoint is left to the next run's, which covers this run's events too
    const endOnForce = opts.forced?.add(() => ledger.finishRun(run.id, 'interrupted', {forced: true}));
    const waived = verdict.waivers.filter((w) => w.status === 'applied');
    if (waived.length > 0) {
      ledger.appendEvent({
        run_id: run.id,
        level: 'warn',
        message: `waivers in force: ${waived.map((w) => `${w.rule} at ${w.address} through ${w.expires} (${w.reason})`).join('; ')}`,
        payload: {waivers: waived},
      });
    }
    await ingestEgressLog(docker, ledger, run.id);
    const secrets = agentSecretsPort({dir: ctx.dir, workspace: doc.workspace, ledger, runId: run.id, actor: ctx.actor, ...pending});
    const log = ctx.log.withRun(run.id);
    log.info(`apply ${doc.plan_id} started`, {plan_id: doc.plan_id});
    // chosen over the whole plan, in its order: a review that drops a step does not move the others' faults
    const faults = opts.chaos ? planFaults(doc.steps, opts.chaos) : null;
    if (opts.chaos && faults) {
      const list = faults.map((f) => `${f.address} ${f.kind}`).join(', ') || 'none';
      log.warn(`chaos rehearsal (seed ${opts.chaos.seed}, rate ${opts.chaos.rate}): injecting ${list}`);
      ledger.appendEvent({
        run_id: run.id,
        level: 'warn',
        message: `chaos rehearsal: seed ${opts.chaos.seed}, rate ${opts.chaos.rate}, faults: ${list}`,
        payload: {chaos: {...opts.chaos, rng: CHAOS_RNG, faults}},
      });
    }
    const result = await execute({
      runId: run.id,
      steps,
      haltRequested: () => haltState(ledger)?.reason ?? null,
      ctx: {
        docker,
        workspace: doc.workspace,
        dir: ctx.dir,
        log,
        memo: new Map(),
        secrets,
        ledger,
        runId: run.id,
        version: ctx.version,
        waived: (rule, address) => isWaived(loaded.config.waivers, rule, address, new Date()),
      },
      ledger,
      parallelism: opts.parallelism,
      signal: opts.signal,
      events: opts.events,
      ...(opts.chaos && faults ? {chaos: {spec: opts.chaos, faults: new Map(faults.map((f) => [f.address, f]))}} : {}),
      forced: opts.forced,
    });
    const counts = {
      succeeded: result.results.filter((r) => r.status === 'succeeded').length,
      failed: result.results.filter((r) => r.status === 'failed').length,
      rolled_back: result.results.filter((r) => r.status === 'rolled_back').length,
      skipped: result.results.filter((r) => r.status === 'skipped').length,
    };
    // the contract: which configuration (and policies) this run applied, content-addressed
    // (a backup, restore or prune applies no configuration)
    if (doc.kind === 'apply' || doc.kind === 'destroy')
      recordSnapshot(ledger, {run_id: run.id, config: loaded.config, policy_digest: doc.policy_digest});
    // a halt that arrived as a signal interrupts like Ctrl-C; the ledger says which it was
    const halt = haltState(ledger);
    const halted = result.halted ?? (result.interrupted && halt ? halt.reason : null);
    // a restore's RTO: from the start of the apply until its agents were healthy on the restored data
    const rto = doc.kind === 'restore' && !result.failed ? {rto_ms: Date.now() - startedAt} : {};
    endOnForce?.();
    ledger.finishRun(run.id, halted || result.interrupted ? 'interrupted' : result.failed ? 'failed' : 'succeeded', {
      ...counts,
      ...(halted ? {halted} : {}),
      ...rto,
      ...(waived.length ? {waivers: waived} : {}),
      ...(opts.chaos && faults ? {chaos: {seed: opts.chaos.seed, rate: opts.chaos.rate, faults}} : {}),
      // what `orx output` reads as var, like the state it reads the rest from
      ...(doc.kind === 'apply' && doc.variables ? {variables: doc.variables} : {}),
    });
    await checkpointChain(ctx, ledger, loaded.config, {reason: doc.kind, run_id: run.id});
    return {
      ...result,
      halted: halted && halt ? `workspace halted at ${halt.at} by ${halt.by} because ${halt.reason}` : null,
      run_id: run.id,
      serial: ledger.meta().serial,
      ...rto,
    };
  } finally {
    unlockOnForce?.();
    ledger.releaseLock(lock.id);
  }
}

/**
 * Loads the configuration and policies before touching the ledger, so bad input leaves nothing behind.
 * `save` writes the plan file and records a PLAN run, so a saved plan can be traced later.
 */
export interface SaveOptions {
  save?: string;
  allowDenied?: boolean;
  keyFile?: string;
}

export async function planWorkspace(ctx: OrxContext, opts: PlanOptions & SaveOptions): Promise<PlanDocument> {
  const loaded = loadConfig(ctx.dir, {vars: ctx.vars});
  await checkExpressions(loaded);
  await preflight(ctx, loaded, opts);
  const policies = await loadPolicySet(ctx.dir);
  return withLedger(ctx.dir, async (ledger) => {
    const doc = await createPlan(ctx, opts, ledger, loaded, policies);
    await savePlanIfAsked(ctx, ledger, loaded, doc, opts);
    return doc;
  });
}

/**
 * `-out FILE`: writes the plan signed and records a PLAN run, so a saved plan can be traced
 * later. A denied plan is saved only for review, when asked; apply refuses it either way.
 */
export async function savePlanIfAsked(
  ctx: OrxContext,
  ledger: Ledger,
  loaded: LoadedConfig,
  doc: PlanDocument,
  opts: SaveOptions,
): Promise<void> {
  if (!opts.save || (!opts.allowDenied && isDenied(doc.policy.decisions))) return;
  // the Sigstore libraries cost ~90 ms to load: only commands that sign or verify pay it
  const [{signingKey}, {signPlan}] = await Promise.all([import('../trust/keys.js'), import('./plan-signature.js')]);
  const {key, created} =
    !opts.keyFile && loaded.config.signing_key_ref
      ? {key: await workspaceKey(ctx, loaded.config), created: false}
      : signingKey(ctx.dir, opts.keyFile ?? loaded.config.signing_key ?? undefined);
  if (created) ctx.log.info(`created the workspace signing key ${key.fingerprint} in .orx/keys/ (orx keys show)`);
  writePlanFile(opts.save, await signPlan(doc, key));
  const run = ledger.startRun({
    kind: doc.kind,
    mode: 'PLAN',
    autonomy: doc.autonomy,
    actor: ctx.actor,
    plan_id: doc.plan_id,
    plan_digest: planDigest(doc),
  });
  ledger.finishRun(run.id, 'succeeded', {...doc.summary, saved_to: opts.save});
  await checkpointChain(ctx, ledger, loaded.config, {reason: 'plan', run_id: run.id});
}

/** A saved plan, read and its signature checked (exit 5) before anything else looks at it. */
export async function loadSavedPlan(ctx: OrxContext, file: string, trustedKeyFiles: string[] = []): Promise<PlanDocument> {
  const doc = readPlanFile(file);
  const [{signerKeys}, {verifyPlan}] = await Promise.all([import('../trust/keys.js'), import('./plan-signature.js')]);
  await verifyPlan(doc, signerKeys(ctx.dir, trustedKeyFiles));
  return doc;
}

export async function applyWorkspace(ctx: OrxContext, doc: PlanDocument, opts: ApplyOptions): Promise<ApplyOutcome> {
  return withLedger(ctx.dir, (ledger) => applyPlan(ctx, doc, ledger, opts));
}
