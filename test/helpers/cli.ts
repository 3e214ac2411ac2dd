import {spawn, type ChildProcess} from 'node:child_process';
import path from 'node:path';
import {repoRoot} from './workspace.js';

export const orxBin = path.join(repoRoot, 'bin/run.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the built CLI as a subprocess with no TTY and no inherited ORX_* settings. */
export function startOrx(
  args: string[],
  opts: {cwd: string; env?: Record<string, string>},
): {child: ChildProcess; done: Promise<CliResult>} {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORX_')) env[k] = v;
  const child = spawn(process.execPath, [orxBin, ...args], {
    cwd: opts.cwd,
    env: {...env, NO_COLOR: '1', ...opts.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({code, stdout, stderr})));
  return {child, done};
}

export function orx(args: string[], opts: {cwd: string; env?: Record<string, string>}): Promise<CliResult> {
  return startOrx(args, opts).done;
}

export function noStack(s: string): boolean {
  return !/\n\s+at .+:\d+:\d+\)?/.test(s);
}

/** Polls `fn` until it returns something truthy; bounded in time like every loop in the tests. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * What an operator does without a terminal when a human must approve: save the plan, approve
 * all of it, apply exactly that file (with `applyArgs`). The plan's or approval's failure is
 * returned as it is; otherwise the apply's result.
 */
export async function orxApproved(
  kind: 'apply' | 'destroy',
  opts: {cwd: string; env?: Record<string, string>},
  applyArgs: string[] = [],
): Promise<CliResult> {
  const file = `plans/approved-${Date.now()}-${Math.random().toString(16).slice(2, 8)}.json`;
  const plan = await orx(['plan', ...(kind === 'destroy' ? ['-destroy'] : []), '-out', file], opts);
  if (plan.code !== 0) return plan;
  const approve = await orx(['approve', file, '--all', '--reason', 'approved by the test'], opts);
  if (approve.code !== 0) return approve;
  return orx(['apply', file, ...applyArgs], opts);
}
