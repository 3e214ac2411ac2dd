// kind and kubectl are driven as processes (execa): found on PATH or where `tools.*` (or
// ORX_KIND / ORX_KUBECTL) says, version-checked once per process, their stderr shown
// redacted with the command line when they fail.
import {OrxError, preview} from '../errors.js';
import {excerpt, redact} from '../secrets/redact.js';

// a tool's output in an error: its last lines, and never a screenful of one long line
const MAX_TAIL_CHARS = 4000;

export type ToolName = 'kind' | 'kubectl';

/** The oldest versions whose flags orx uses (kind: v1alpha4 configs and `get kubeconfig`; kubectl: `diff --server-side`). */
export const MIN_VERSION: Record<ToolName, [number, number, number]> = {kind: [0, 20, 0], kubectl: [1, 26, 0]};

export interface ToolPaths {
  kind: string | null;
  kubectl: string | null;
}

export const NO_TOOL_PATHS: ToolPaths = {kind: null, kubectl: null};

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

export function toolCommand(name: ToolName, paths: ToolPaths, env: NodeJS.ProcessEnv = process.env): string {
  return (name === 'kind' ? env.ORX_KIND : env.ORX_KUBECTL) || paths[name] || name;
}

const checked = new Map<string, Promise<string>>();

export function parseVersion(text: string): [number, number, number] | null {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

function older(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
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
          actions: [`Install a newer ${name}, or point tools.${name} (or ORX_${name.toUpperCase()}) at one.`],
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
  if ((r as {code?: string}).code === 'ENOENT' || (r.failed && r.exitCode === undefined && /ENOENT/.test(String(r.message)))) {
    throw new OrxError({
      code: 'tool_missing',
      message: `${name} not found (${command})`,
      actions: [`Install ${name}, or set tools.${name} in orchestration.yml (or ORX_${name.toUpperCase()}) to its path.`],
    });
  }
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

/** `paths` absent: both found on PATH (or ORX_KIND / ORX_KUBECTL). */
export function tool(name: ToolName, paths: ToolPaths = NO_TOOL_PATHS): Tool {
  const command = toolCommand(name, paths);
  return {
    name,
    command,
    async run(args, opts) {
      await checkTool(name, command);
      return exec(name, command, args, opts);
    },
  };
}
