// Blue-green with a published host port (the old container stops first and is started again on
// rollback) and orx's own probes (an HTTP GET on 127.0.0.1 from this process, an exec through
// the Engine API), in process against the real engine.
import {getEventListeners} from 'node:events';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {connectDocker} from '../../src/drivers/docker.js';
import {waitHealthy} from '../../src/resources/agent/health.js';
import {clearSecrets, REDACTED, registerSecret} from '../../src/util/redact.js';
import {actions, apply, converge, plan, withLedger} from '../helpers/engine.js';
import {sh} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import {until} from '../helpers/cli.js';
import {loopbackGet} from '../helpers/http.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('bgp');
});
afterEach(async () => {
  await ws.cleanup();
});

const port = 21_000 + Math.floor(Math.random() * 20_000);

const yaml = (version: string, healthz: boolean, probe: string) => `workspace: __WS__
autonomy: 3
networks:
  edge: {internal: false}
images:
  base:
    build: {context: images/agent-base}
agents:
  web:
    image: base
    user: "1000:1000"
    command: ["/bin/sh", "-c", "mkdir -p /tmp/www && echo ${version} > /tmp/www/version && ${healthz ? 'echo ok > /tmp/www/healthz && ' : ''}exec httpd -f -p 8080 -h /tmp/www"]
    resources: {cpus: 0.2, memory: 64m}
    networks: [edge]
    ports: [{container: 8080, host: ${port}}]
    health: {${probe}, interval: 500ms, timeout: 1s, retries: 2}
    update: {strategy: blue-green, health_timeout: 15s}
`;
const HTTP_PROBE = `host_http: {port: ${port}, path: /healthz}`;
const EXEC_PROBE = 'exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]';

const version = (): Promise<string | null> => loopbackGet(port, '/version', 1000);

async function web(): Promise<Array<{Id: string; State: string}>> {
  return await docker.listContainers({
    all: true,
    filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.web']},
  });
}

describe('blue-green with a published host port', () => {
  it('stops the old container first, promotes a new one its HTTP probe finds healthy', async () => {
    ws.write(yaml('v1', true, HTTP_PROBE));
    await converge(ws.dir);
    await until('v1', () => version(), 15_000);
    const [old] = await web();
    ws.write(yaml('v2', true, HTTP_PROBE));
    const doc = await plan(ws.dir);
    expect(actions(doc)).toEqual(['replace agent.web']);
    const out = await apply(ws.dir, doc);
    expect(out.failed, JSON.stringify(out.results.map((r) => r.error))).toBe(false);
    expect(await version()).toBe('v2');
    const now = await web();
    expect(now).toHaveLength(1);
    expect(now[0].Id).not.toBe(old.Id);
    expect(actions(await plan(ws.dir))).toEqual([]);
  });

  it('starts the old container again when the new one never answers its probe, and records why', async () => {
    ws.write(yaml('v1', true, HTTP_PROBE));
    await converge(ws.dir);
    await until('v1', () => version(), 15_000);
    const [old] = await web();
    ws.write(yaml('v-broken', false, HTTP_PROBE));
    const out = await apply(ws.dir, await plan(ws.dir));
    expect(out.failed).toBe(true);
    expect(out.results.find((r) => r.step.address === 'agent.web')?.error).toMatch(
      /rolled back, orx-\S+-web keeps running\. Last check: GET http:\/\/127\.0\.0\.1:\d+\/healthz: 404/,
    );
    const now = await web();
    expect(now.map((c) => [c.Id, c.State])).toEqual([[old.Id, 'running']]);
    expect(await until('v1 again', () => version(), 15_000)).toBe('v1');
    const rollback = withLedger(ws.dir, (l) => l.listEvents({}).find((e) => (e.payload as {rollback?: unknown} | null)?.rollback));
    expect((rollback?.payload as {rollback: {reason: string; health_output: string}}).rollback).toMatchObject({reason: 'unhealthy'});
  });
});

describe('orx probes', () => {
  it('an exec probe runs in the container through the Engine API; its failure output is kept', async () => {
    ws.write(yaml('v1', true, EXEC_PROBE));
    await converge(ws.dir);
    const [c] = await web();
    const d = await connectDocker();
    const attrs = withLedger(ws.dir, (l) => l.getResource('agent.web')!.attributes) as {health: never};
    const progress: string[] = [];
    const ok = await waitHealthy(d, c.Id, attrs.health, {timeoutMs: 10_000, progress: (p) => progress.push(p)});
    expect(ok.ok).toBe(true);
    expect(progress[0]).toMatch(/^waiting for health: attempt 1 of \d+ \(0 of 2 failed in a row\)$/);
    // one run's signal serves every wait of the run: a wait leaves no listener behind on it
    const run = new AbortController();
    const failing = await waitHealthy(
      d,
      c.Id,
      {...(attrs.health as object), probe: {exec: ['/bin/sh', '-c', 'echo not ready; exit 3']}} as never,
      {timeoutMs: 10_000, signal: run.signal},
    );
    expect(failing).toMatchObject({ok: false, reason: 'unhealthy', attempts: 2});
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    expect(!failing.ok && failing.output).toBe('/bin/sh -c echo not ready; exit 3 exited 3: not ready');
    const forced = await waitHealthy(d, c.Id, attrs.health, {timeoutMs: 10_000, forceUnhealthy: true});
    expect(forced).toMatchObject({ok: false, reason: 'unhealthy'});
  });

  it("an HTTP probe's failing answer is redacted before its markup goes and before it is cut: a multi-line value and one longer than the cut", async () => {
    // a one-line server: /healthz answers 200, anything else 500 with an HTML page around the files
    const serve = [
      'read -r method path rest',
      // the rest of the request is read first: closing on unread bytes would reset the connection
      'cr=$(printf "\\r"); while IFS= read -r h && [ "$h" != "$cr" ] && [ -n "$h" ]; do :; done',
      'if [ "$path" = /healthz ]; then printf \'HTTP/1.0 200 OK\\r\\n\\r\\nok\'; exit 0; fi',
      "printf 'HTTP/1.0 500 Oops\\r\\nContent-Type: text/html\\r\\n\\r\\n<html><body><pre>'",
      'cat /tmp/lines.txt /tmp/long.txt',
      "printf '</pre></body></html>'",
    ].join('\n');
    ws.write(
      yaml('v1', true, HTTP_PROBE).replace(
        /command: .*\n/,
        `command: ["/bin/sh", "-c", "printf '%s' \\"$SERVE\\" > /tmp/serve.sh && exec nc -ll -p 8080 -e /bin/sh /tmp/serve.sh"]\n    env: {SERVE: ${JSON.stringify(serve)}}\n`,
      ),
    );
    await converge(ws.dir);
    const [c] = await web();
    const rand = (n: number, salt: number): string =>
      Array.from({length: n}, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789'[(i * 7919 + salt * 31 + i * i * salt) % 36]).join('');
    // a tag-like piece inside the value: dropping markup first would split it where the redactor could not see it
    const lines = [`k3y<b>${rand(40, 1)}`, rand(50, 2), rand(45, 3)];
    const long = `L${rand(2000, 4)}`;
    try {
      registerSecret(lines.join('\n'));
      registerSecret(long);
      await sh(c.Id, `printf '%s' '${lines.join('\n')}' > /tmp/lines.txt && printf '%s' '${long}' > /tmp/long.txt`);
      const d = await connectDocker();
      const attrs = withLedger(ws.dir, (l) => l.getResource('agent.web')!.attributes) as {health: object};
      const failing = await waitHealthy(d, c.Id, {...attrs.health, probe: {http: {port, path: '/leak'}}} as never, {timeoutMs: 10_000});
      const output = failing.ok ? '' : failing.output;
      expect(output).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/leak: 500 `));
      expect(output).toContain(REDACTED);
      expect(output).not.toMatch(/<[a-z]/);
      for (const l of lines) expect(output).not.toContain(l);
      for (let i = 0; i + 20 <= long.length; i++) expect(output).not.toContain(long.slice(i, i + 20));
      expect(output).not.toContain(rand(40, 1).slice(0, 20));
    } finally {
      clearSecrets();
    }
  });
});
