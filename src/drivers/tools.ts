// kind and kubectl are driven as processes (execa), version-checked once per process, their
// stderr shown redacted with the command line when they fail. Which binary runs is the
// operator's choice alone: an absolute path from --tool-kind/--tool-kubectl or ORX_KIND /
// ORX_KUBECTL, else the absolute directories of PATH. Never a path from the workspace: in
// CI the repository (a pull request) is untrusted while the plan job holds the signing key.
import {accessSync, constants, statSync} from 'node:fs';
import {delimiter, isAbsolute, join} from 'node:path';
import {OrxError, preview} from '../errors.js';
import {excerpt, redact} from '../util/redact.js';

// a tool's output in an error: its last lines, and never a screenful of one long line
const MAX_TAIL_CHARS = 4000;

export type ToolName = 'kind' | 'kubectl';

/** The oldest versions whose flags orx uses (kind: v1alpha4 configs and `get kubeconfig`; kubectl: `diff --server-side`). */
export const MIN_VERSION: Record<ToolName, [number, number, number]> = {kind: [0, 20, 0], kubectl: [1, 26, 0]};

/** Absolute paths chosen by the operator; null: look the tool up on PATH. */
export interface ToolPaths {
  kind: string | null;
  kubectl: string | null;
}

export const NO_TOOL_PATHS: ToolPaths = {kind: null, kubectl: null};

export const TOOL_NAMES: readonly ToolName[] = ['kind', 'kubectl'];

/** The environment twin of --tool-NAME. */
export function toolEnvName(name: ToolName): string {
  return `ORX_${name.toUpperCase()}`;
}

function checkedPath(name: ToolName, value: string | null | undefined, source: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (!isAbsolute(value) || value.includes('\0')) {
    throw new OrxError({
      code: 'tool_path_relative',
      message: `${source} is ${JSON.stringify(preview(value, 120))}, not an absolute path: orx runs ${name} only from an absolute path or from PATH, never relative to the directory it runs in`,
      actions: [`Give an absolute path such as /usr/local/bin/${name}, or unset it to use ${name} from PATH.`],
    });
  }
  return value;
}

/** ORX_KIND / ORX_KUBECTL (or the flag values put in their place), checked: absolute or absent. */
export function operatorToolPaths(
  values: Partial<Record<ToolName, string | undefined>>,
  source: (name: ToolName) => string = toolEnvName,
): ToolPaths {
  return {kind: checkedPath('kind', values.kind, source('kind')), kubectl: checkedPath('kubectl', values.kubectl, source('kubectl'))};
}

let configured: ToolPaths | null = null;

/** Set by the command layer from --tool-* and their ORX_* twins for one command; null: read from the environment. */
export function configureTools(paths: ToolPaths | null): void {
  configured = paths;
}

function operatorChoice(env: NodeJS.ProcessEnv): ToolPaths {
  return configured ?? operatorToolPaths({kind: env.ORX_KIND, kubectl: env.ORX_KUBECTL});
}

/**
 * The first executable `name` in an absolute PATH directory. Empty and relative entries are
 * skipped: they name the current directory (a checked-out repository), not an installed tool.
 */
export function findOnPath(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface RunOptions {
  input?: string;
  /** exit codes that are answers, not failures (kubectl diff: 1 = differences found) */
  okCodes?: number[];
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** The absolute path of the binary to run, or null when there is none on PATH. */
export function toolCommand(name: ToolName, paths: ToolPaths = NO_TOOL_PATHS, env: NodeJS.ProcessEnv = process.env): string | null {
  const explicit = checkedPath(name, paths[name], `the ${name} path`);
  return explicit ?? operatorChoice(env)[name] ?? findOnPath(name, env.PATH);
}

function missing(name: ToolName, command: string): OrxError {
  return new OrxError({
    code: 'tool_missing',
    message: `${name} not found (${command})`,
    actions: [`Install ${name} on PATH, or give its absolute path with --tool-${name} or ${toolEnvName(name)}.`],
  });
}

const checked = new Map<string, Promise<string>>();

export function parseVersion(text: string): [number, number, number] | null {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

function older(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/** Once per process and binary: `kind version` / `kubectl version --client -o json`. */
export function checkTool(name: ToolName, command: string): Promise<string> {
  const key = `${name}\0${command}`;
  let hit = checked.get(key);
  if (!hit) {
    hit = (async () => {
      const args = name === 'kind' ? ['version'] : ['version', '--client', '-o', 'json'];
      const out = await exec(name, command, args, {timeoutMs: 30_000});
      let text = out.stdout;
      if (name === 'kubectl') {
        try {
          text = String((JSON.parse(out.stdout) as {clientVersion?: {gitVersion?: string}}).clientVersion?.gitVersion ?? '');
        } catch {
          text = '';
        }
      }
      const v = parseVersion(text);
      const min = MIN_VERSION[name];
      if (!v || older(v, min)) {
        throw new OrxError({
          code: 'tool_too_old',
          message: `${command} reports version ${JSON.stringify(preview(text.trim(), 60))}; orx needs ${name} ${min.join('.')} or newer`,
          actions: [`Install a newer ${name}, or point --tool-${name} (or ${toolEnvName(name)}) at one.`],
        });
      }
      return `${v.join('.')}`;
    })();
    checked.set(key, hit);
    hit.catch(() => checked.delete(key));
  }
  return hit;
}

/** Runs an already-checked tool. Failures name the command line and show its stderr tail, redacted. */
export async function exec(name: ToolName, command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const {execa} = await import('execa');
  let r;
  try {
    r = await execa(command, args, {
      input: opts.input,
      reject: false,
      timeout: opts.timeoutMs,
      cancelSignal: opts.signal,
      env: opts.env,
      stripFinalNewline: false,
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (err) {
    throw toolFailed(name, command, args, `could not run: ${(err as Error).message}`);
  }
  const code = r.exitCode ?? -1;
  if ((r as {code?: string}).code === 'ENOENT' || (r.failed && r.exitCode === undefined && /ENOENT/.test(String(r.message))))
    throw missing(name, command);
  if (r.isCanceled) throw toolFailed(name, command, args, 'cancelled');
  if (r.timedOut) throw toolFailed(name, command, args, `timed out after ${formatMs(opts.timeoutMs ?? 0)}`);
  if (code !== 0 && !(opts.okCodes ?? []).includes(code)) throw toolFailed(name, command, args, String(r.stderr || r.stdout), code);
  return {stdout: String(r.stdout), stderr: String(r.stderr), exitCode: code};
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 1000)}s`;
}

export function toolFailed(name: ToolName, command: string, args: string[], output: string, code?: number): OrxError {
  const tail = excerpt(output, {max: MAX_TAIL_CHARS, keep: 'end', lines: 12});
  const line = redact([command, ...args].join(' '));
  return new OrxError({
    code: `${name}_failed`,
    kind: 'external',
    message: `${line} failed${code !== undefined ? ` (exit ${code})` : ''}${tail ? `:\n${tail}` : ''}`,
    data: {command: line, exit_code: code ?? null},
  });
}

/** A tool handle: checked on first use, then run. */
export interface Tool {
  name: ToolName;
  command: string;
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/** `paths` absent: the operator's choice (--tool-*, ORX_KIND / ORX_KUBECTL), else PATH. */
export function tool(name: ToolName, paths: ToolPaths = NO_TOOL_PATHS): Tool {
  const found = toolCommand(name, paths);
  const command = found ?? name;
  return {
    name,
    command,
    async run(args, opts) {
      if (!found) throw missing(name, 'not on PATH');
      await checkTool(name, command);
      return exec(name, command, args, opts);
    },
  };
}
