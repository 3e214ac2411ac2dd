import {spawn, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {freePort} from './http.js';

/**
 * A real Docker Registry v2 (Debian's `docker-registry`, i.e. distribution/distribution)
 * on 127.0.0.1 with a free port and a temp storage directory. Docker treats 127.0.0.0/8
 * registries as insecure by default, so the engine pushes to it over plain http.
 */
export const REGISTRY_BIN = process.env.ORX_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  port: number;
  dir: string;
  /** the server's stdout+stderr so far (for failing tests) */
  log(): string;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {signal: AbortSignal.timeout(1000)});
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

async function startOnce(): Promise<TestRegistry | {retry: string}> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-registry-'));
  const storage = path.join(dir, 'data');
  fs.mkdirSync(storage);
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log: {level: warn, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(storage)}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}"}`,
      '',
    ].join('\n'),
  );
  const child = spawn(REGISTRY_BIN, ['serve', config], {stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(t);
    }
    fs.rmSync(dir, {recursive: true, force: true});
  };
  const t0 = Date.now();
  while (Date.now() - t0 < 15_000) {
    if (spawnError) {
      await stop();
      throw new Error(`cannot start ${REGISTRY_BIN}: ${spawnError.message}`);
    }
    if (child.exitCode !== null) {
      await stop();
      // most likely someone took the port between freePort() and the bind
      return {retry: `docker-registry exited with ${child.exitCode}: ${output.slice(-2000)}`};
    }
    if (await answers(`http://${host}/v2/`)) return {host, port, dir, log: () => output, stop};
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`docker-registry did not answer on http://${host}/v2/ within 15s: ${output.slice(-2000)}`);
}

/** Starts a registry; fails (never skips) when the binary is missing. */
export async function startRegistry(): Promise<TestRegistry> {
  if (!fs.existsSync(REGISTRY_BIN)) {
    throw new Error(
      `${REGISTRY_BIN} is missing: these tests run a real Docker Registry v2. Install it with: apt-get install -y docker-registry`,
    );
  }
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await startOnce();
    if (!('retry' in r)) return r;
    last = r.retry;
  }
  throw new Error(`could not start docker-registry: ${last}`);
}
