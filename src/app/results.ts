// The document each command prints with --json, one type per command id (the command layer
// adds formatVersion). Each is matched by schemas/results/<id, spaces as dashes>.schema.json,
// which `orx schema result <id>` prints; the types come from the use-cases that make them.
import type {PlanSimulation} from '../engine/plan-sim.js';
import type {PlanDocument} from '../engine/planfile.js';
import type {ApprovalNeeded} from './plan.js';
import type {ApprovalRecord} from '../ledger/approvals.js';
import type {ChainHead} from '../ledger/events.js';
import type {HaltState} from '../ledger/halt.js';
import type {ResourceRecord} from '../ledger/types.js';
import type {TokenCheck} from '../trust/agent-token.js';
import type {ApplyResult} from './apply.js';
import type {ApproveResult} from './approve.js';
import type {HistoryDiff, HistoryList, LedgerVerification, SignedHead} from './audit.js';
import type {BundleVerification, ExportSummary} from './audit-bundle.js';
import type {BackupRow} from './dr-list.js';
import type {BackupVerification} from './dr-verify.js';
import type {EventRecord} from './events.js';
import type {EgressLogResult} from './egress-log.js';
import type {GraphResult} from './graph.js';
import type {HaltResult} from './halt.js';
import type {InitResult} from './init.js';
import type {KeyCreated, KeyShown} from './keys.js';
import type {KubeconfigInfo, RenderedAgentView} from './kube-info.js';
import type {PolicyTestReport, RuleResult} from './policy.js';
import type {RunRecord, StepRecord} from './runs.js';
import type {SchemaEntry} from './schema.js';
import type {StateMove} from './state-ops.js';
import type {ImageSigned, SignBlobFileResult, VerifyBlobFileResult} from './signing.js';
import type {RevokeResult} from './token.js';
import type {SecretsCheckResult, ValidateResult} from './validate.js';
import type {VersionInfo} from './version.js';
import type {OutputResult} from './output.js';

export type {ApplyResult};

/** `orx plan`: the plan document as `-out` writes it, and whether policy denies it. */
export type PlanResult = PlanDocument & {denied: boolean; saved_to?: string; approvals_needed: ApprovalNeeded[]};

/** `orx dr backup|restore|prune`: the saved plan with -out, else the apply's result. */
export type DrPlanResult = (PlanDocument & {saved_to: string}) | ApplyResult;

/** `orx resume`: the halt lifted, then (when it had stopped anything) the apply of what it stopped. */
export type ResumeResult = {resumed: HaltState; status: 'no-changes'} | ({resumed: HaltState} & ApplyResult);

/** `orx show`: a saved plan as it is on disk, or the recorded state. */
export type ShowResult = {plan: PlanDocument} | {state: {lineage: string; serial: number; resources: ResourceRecord[]}};

/** `orx runs [ID]`: the runs, or one run with its steps and the approvals of its plan. */
export type RunsResult = {runs: RunRecord[]} | {run: RunRecord; steps: StepRecord[]; approvals: ApprovalRecord[]};

/** `orx audit head [--signed]`. */
export type AuditHeadResult = {head: ChainHead; lineage: string} | {checkpoint: SignedHead};

export interface TokenVerifyResult {
  valid: boolean;
  reason: TokenCheck['reason'];
  code: TokenCheck['code'];
  jti: TokenCheck['jti'];
  claims: TokenCheck['claims'];
  scopes: TokenCheck['scopes'];
  key_fingerprint: TokenCheck['key_fingerprint'];
  revocation: TokenCheck['revocation'];
}

export interface DrVerifyReport {
  backup: string;
  dir: string;
  ok: boolean;
  signed_by: BackupVerification['signed_by'];
  problems: BackupVerification['problems'];
  drill: BackupVerification['drill'];
  verified_at: string | null;
}

/** Every command's --json document, by command id (topics separated by spaces). */
export interface CommandResults {
  apply: ApplyResult;
  approve: Pick<ApproveResult, 'plan_id' | 'plan_digest' | 'approvals'>;
  'audit export': ExportSummary;
  'audit head': AuditHeadResult;
  'audit verify': LedgerVerification;
  'audit verify-bundle': Omit<BundleVerification, 'exit'> & {file: string};
  destroy: ApplyResult;
  'dr backup': DrPlanResult;
  'dr list': {destination: string; backups: BackupRow[]};
  'dr prune': DrPlanResult;
  'dr restore': DrPlanResult;
  'dr verify': DrVerifyReport;
  events: {events: EventRecord[]};
  'egress log': EgressLogResult;
  'force-unlock': {unlocked: string};
  graph: GraphResult;
  halt: Omit<HaltResult, 'state'> & {halt: HaltState};
  history: HistoryList;
  'history diff': HistoryDiff;
  'image sign': ImageSigned;
  import: {imported: ResourceRecord};
  init: InitResult;
  'keys init': KeyCreated;
  'keys show': KeyShown;
  kubeconfig: KubeconfigInfo;
  plan: PlanResult;
  'policy eval': {plan_id: string; results: RuleResult[]};
  'policy test': PolicyTestReport;
  'render agent': Omit<RenderedAgentView, 'yaml'>;
  resume: ResumeResult;
  runs: RunsResult;
  schema: {schemas: SchemaEntry[]};
  'secrets check': SecretsCheckResult;
  show: ShowResult;
  'sign-blob': SignBlobFileResult;
  simulate: {simulation: Omit<PlanSimulation, 'inputs'>};
  'state mv': {moved: StateMove};
  'state list': {resources: Array<Pick<ResourceRecord, 'address' | 'kind' | 'object_id' | 'serial'>>};
  'state rm': {removed: Pick<ResourceRecord, 'address' | 'object_id'>};
  'state show': {resource: ResourceRecord};
  'token revoke': Omit<RevokeResult, 'revocation'>;
  'token verify': TokenVerifyResult;
  validate: ValidateResult;
  'verify-blob': {verified: true} & VerifyBlobFileResult;
  version: VersionInfo;
  __complete: {candidates: string[]};
  'autocomplete script': {shell: string; script: string};
  output: OutputResult;
}

/** The --json document of one command. */
export type ResultOf<C extends keyof CommandResults> = CommandResults[C];
