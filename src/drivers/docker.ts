import {Module, createRequire} from 'node:module';
import type Dockerode from 'dockerode';
import {OrxError} from '../errors.js';

export type Docker = Dockerode;

/** Where dockerode will connect, in the words a user would use to fix it. */
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST ? `DOCKER_HOST=${env.DOCKER_HOST}` : 'unix:///var/run/docker.sock (DOCKER_HOST is not set)';
}

let cached: Promise<Docker> | undefined;

const requireCjs = createRequire(import.meta.url);

/**
 * dockerode loads an SSH client and a gRPC stack at start-up (about 80 ms, more than
 * half a no-op plan) that only ssh:// hosts and BuildKit sessions use. Their entry
 * modules are replaced by stand-ins that load the real module on first call.
 */
function deferModule(id: string): void {
  let file: string;
  try {
    file = requireCjs.resolve(id);
  } catch {
    return;
  }
  if (requireCjs.cache[file]) return;
  const stand = function (this: unknown, ...args: unknown[]): unknown {
    delete requireCjs.cache[file];
    return (requireCjs(file) as (...a: unknown[]) => unknown).apply(this, args);
  };
  const stub = new Module(file);
  stub.filename = file;
  stub.loaded = true;
  stub.exports = stand;
  requireCjs.cache[file] = stub;
}

/**
 * Connects once per process and pings, so an absent engine is one clear line (exit 1)
 * instead of a failure in the middle of a plan.
 */
export function connectDocker(): Promise<Docker> {
  cached ??= (async () => {
    deferModule('docker-modem/lib/ssh.js');
    deferModule('dockerode/lib/session.js');
    const {default: Dockerode} = await import('dockerode');
    const docker = new Dockerode();
    try {
      await docker.ping();
    } catch (err) {
      cached = undefined;
      throw engineUnreachable(err);
    }
    return docker;
  })();
  return cached;
}

export function engineUnreachable(err: unknown): OrxError {
  const reason = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
  return new OrxError({
    code: 'engine_unreachable',
    kind: 'external',
    message: `Cannot reach the Docker engine at ${dockerEndpoint()}: ${reason}`,
    actions: ['Start the Docker engine (as root on Debian: scripts/ensure-docker.sh), or point DOCKER_HOST at a running one.'],
  });
}

export function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as {statusCode?: number}).statusCode : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCode(err) === 404;
}

/** The engine's own words for a failed call, without dockerode's "(HTTP code 409) conflict -" prefix noise. */
export function engineMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const json = (err as {json?: {message?: string}}).json;
    if (json && typeof json.message === 'string') return json.message;
    const m = (err as Error).message;
    if (typeof m === 'string') return m.replace(/^\(HTTP code \d+\)\s*[a-z ]*-\s*/i, '');
  }
  return String(err);
}

/** Reads a build/pull progress stream to its end, failing on the engine's error records. */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<Record<string, unknown>>) => {
      if (err) return reject(err);
      const failed = output.find((o) => o.error || o.errorDetail);
      if (failed) {
        const detail = (failed.errorDetail as {message?: string} | undefined)?.message ?? String(failed.error);
        return reject(new Error(detail));
      }
      resolve(output);
    });
  });
}

export function labelFilter(labels: Record<string, string>): {label: string[]} {
  return {label: Object.entries(labels).map(([k, v]) => `${k}=${v}`)};
}

/** A non-TTY container's logs as one buffer: the 8-byte frame headers stripped, streams apart. */
export function demuxLogs(buf: Buffer): {stdout: string; stderr: string; both: string} {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const both: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    const len = buf.readUInt32BE(i + 4);
    const frame = buf.subarray(i + 8, i + 8 + len);
    (buf[i] === 2 ? err : out).push(frame);
    both.push(frame);
    i += 8 + len;
  }
  const text = (b: Buffer[]) => Buffer.concat(b).toString('utf8');
  return {stdout: text(out), stderr: text(err), both: text(both)};
}
