// Updates that cannot take an agent down, through the built CLI against the real engine: a
// blue-green replace under a probe loop on a loopback port (the traffic reaches the agent by
// its network alias through a front agent), a new version that never gets healthy (rolled
// back, exit 6), and a chaos rehearsal that injects the same fault twice for the same seed.
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {orx, orxApproved, startOrx, until, type CliResult} from '../helpers/cli.js';
import {loopbackGet} from '../helpers/http.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('bg');
});
afterEach(async () => {
  await ws.cleanup();
});

const port = 21_000 + Math.floor(Math.random() * 20_000);

// the version is served at /version after three seconds of start-up (so a recreate leaves a
// gap a blue-green must not); v-broken serves no /healthz, so its health check never passes
const serve = (version: string, healthz = true) =>
  `["/bin/sh", "-c", "mkdir -p /tmp/www && echo ${version} > /tmp/www/version && ${healthz ? 'echo ok > /tmp/www/healthz && ' : ''}sleep 3 && exec httpd -f -p 8080 -h /tmp/www"]`;

const yaml = (version: string, opts: {healthz?: boolean; chaos?: boolean; strategy?: string} = {}) => `workspace: __WS__
autonomy: 3
${opts.chaos ? 'chaos: {allowed: true}\n' : ''}networks:
  edge: {internal: false}
images:
  base:
    build: {context: images/agent-base}
agents:
  web:
    image: base
    user: "1000:1000"
    command: ${serve(version, opts.healthz ?? true)}
    env: {VERSION: "${version}"}
    resources: {cpus: 0.5, memory: 64m}
    networks: [edge]
    health: {cmd: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"], interval: 1s, timeout: 1s, retries: 2, start_period: 6s}
    update: {strategy: ${opts.strategy ?? 'blue-green'}, health_timeout: 20s}
  front:
    image: base
    user: "1000:1000"
    command: ["nc", "-ll", "-p", "8080", "-e", "nc", "web", "8080"]
    resources: {cpus: 0.5, memory: 64m}
    networks: [edge]
    ports: [{container: 8080, host: ${port}}]
    depends_on: [web]
`;

async function cli(args: string[], code = 0): Promise<CliResult> {
  const r = await orx(args, {cwd: ws.dir});
  expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  return r;
}

/** An apply or destroy a human approved first: creating agents on a network with a route out, and every delete, need one. */
async function approved(kind: 'apply' | 'destroy', code = 0, applyArgs: string[] = []): Promise<CliResult> {
  const r = await orxApproved(kind, {cwd: ws.dir}, applyArgs);
  expect(r.code, `orx ${kind} (approved) ${applyArgs.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  return r;
}

// short: a connection that hangs counts as a gap, it does not stall the loop
const get = (path: string): Promise<string | null> => loopbackGet(port, path, 300);

/** Probes /version every 20 ms while `during` runs, and after it until an answer came and half a second passed (bounded: at most 60 s); the longest time without an answer. */
async function probeWhile(during: Promise<unknown>): Promise<{maxGapMs: number; versions: string[]; failures: number}> {
  let doneAt = Infinity;
  void during.finally(() => (doneAt = Date.now()));
  const versions: string[] = [];
  let failures = 0;
  let lastOk = Date.now();
  let maxGapMs = 0;
  const t0 = Date.now();
  while ((Date.now() < doneAt + 500 || lastOk < doneAt) && Date.now() - t0 < 60_000) {
    const v = await get('/version');
    const now = Date.now();
    if (v) {
      maxGapMs = Math.max(maxGapMs, now - lastOk);
      lastOk = now;
      if (versions.at(-1) !== v) versions.push(v);
    } else failures++;
    await new Promise((r) => setTimeout(r, 20));
  }
  await during;
  return {maxGapMs: Math.max(maxGapMs, (await get('/version')) ? 0 : Date.now() - lastOk), versions, failures};
}

async function webContainers(): Promise<Array<{Id: string; Names: string[]; State: string}>> {
  return await docker.listContainers({
    all: true,
    filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.web']},
  });
}

describe('blue-green updates', () => {
  it('a healthy new version takes over with no gap in service; the old container is gone', {timeout: 120_000}, async () => {
    ws.write(yaml('v1'));
    await approved('apply');
    expect(await until('v1 served', () => get('/version'), 30_000)).toBe('v1');
    const [old] = await webContainers();

    ws.write(yaml('v2'));
    const plan = await cli(['plan']);
    expect(plan.stdout).toMatch(
      /agent\.web must be replaced\n\+\/- agent\.web\n +# blue-green: the new container starts beside the old one/,
    );
    const {child: _c, done} = startOrx(['apply', '--auto-approve'], {cwd: ws.dir});
    const probe = await probeWhile(done);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    // the engine runs its first check an interval after the start: until then no attempt is claimed
    expect(r.stderr).toMatch(/agent\.web: waiting for health: starting, no check has run yet\n/);
    expect(r.stderr).toMatch(/agent\.web: waiting for health: \w+, attempt [1-9]\d* of 20 \(\d of 2 failed in a row\)\n/);
    expect(await get('/version')).toBe('v2');
    // v1 until the new container is healthy, both while the name moves over, then v2 alone
    expect(probe.versions[0], JSON.stringify(probe)).toBe('v1');
    expect(probe.versions.at(-1), JSON.stringify(probe)).toBe('v2');
    // the new version's start-up costs nothing; a connection made in the moment the new container
    // joins the network may wait for one TCP retransmit (see README)
    expect(probe.maxGapMs, JSON.stringify(probe)).toBeLessThan(1500);
    const now = await webContainers();
    expect(now).toHaveLength(1);
    expect(now[0].Id).not.toBe(old.Id);
    expect(now[0].Names[0]).toMatch(new RegExp(`^/orx-${ws.name}-web-[0-9a-f]{8}$`));
    // converged: the new name is recorded and nothing is left to do
    await cli(['plan', '--detailed-exitcode']);

    // the same probe sees the gap a recreate leaves: the measurement would catch one
    ws.write(yaml('v3', {strategy: 'recreate'}));
    const recreate = startOrx(['apply', '--auto-approve'], {cwd: ws.dir});
    const gap = await probeWhile(recreate.done);
    expect((await recreate.done).code).toBe(0);
    expect(gap.maxGapMs, JSON.stringify(gap)).toBeGreaterThan(2500);
  });

  it(
    'a new version that never gets healthy is removed; the old one keeps serving; exit 6 and the rollback in the ledger',
    {timeout: 120_000},
    async () => {
      ws.write(yaml('v1'));
      await approved('apply');
      await until('v1 served', () => get('/version'), 30_000);
      const [old] = await webContainers();
      const startedAt = (await docker.getContainer(old.Id).inspect()).State.StartedAt;

      ws.write(yaml('v-broken', {healthz: false}));
      const {done} = startOrx(['apply', '--auto-approve'], {cwd: ws.dir});
      const probe = await probeWhile(done);
      const r = await done;
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toMatch(
        /blue-green: the new container was not healthy \(unhealthy: the health check failed 2 times in a row\); rolled back, orx-\S+-web keeps running/,
      );
      expect(probe.versions).toEqual(['v1']);
      // the proof that service never stopped: the old container ran throughout, never restarted
      const after = await docker.getContainer(old.Id).inspect();
      expect(after.State.StartedAt).toBe(startedAt);
      expect(after.RestartCount).toBe(0);
      // and the probe never went without an answer for as long as any restart of v1 would take (its
      // start-up alone is 3 s); what is shorter is the probe loop's own latency on a loaded machine
      expect(probe.maxGapMs, JSON.stringify(probe)).toBeLessThan(2500);
      const now = await webContainers();
      expect(now.map((c) => c.Id)).toEqual([old.Id]);
      expect(now[0].State).toBe('running');
      const events = JSON.parse((await cli(['events', '--json'])).stdout).events as Array<{
        message: string;
        payload: {rollback?: {reason: string; health_output: string}} | null;
      }>;
      const rollback = events.find((e) => e.payload?.rollback);
      expect(rollback?.payload?.rollback?.reason).toBe('unhealthy');
      expect(rollback?.message).toMatch(/blue-green rolled back/);
      // the plan still wants the new version: nothing was recorded as done
      expect((await cli(['plan', '--detailed-exitcode'], 2)).stdout).toMatch(/agent\.web must be replaced/);
    },
  );
});

describe('chaos rehearsal', () => {
  it('is refused unless the workspace allows it', async () => {
    ws.write(yaml('v1'));
    const r = await approved('apply', 1, ['--chaos', '7']);
    expect(r.stderr).toMatch(/does not allow chaos rehearsal/);
    expect(await webContainers()).toHaveLength(0);
  });

  it('the same seed injects the same fault at the same step twice; a plain apply then converges', {timeout: 120_000}, async () => {
    ws.write(yaml('v1', {chaos: true}));
    const faultsOf = (r: CliResult) => /injecting (.*)$/m.exec(r.stderr)?.[1];
    const first = await approved('apply', 6, ['--chaos', '3,rate=0.6']);
    const injected = faultsOf(first);
    expect(injected).toBeTruthy();
    expect(injected).not.toBe('none');
    await approved('destroy');
    const second = await approved('apply', 6, ['--chaos', '3,rate=0.6']);
    expect(faultsOf(second)).toBe(injected);
    // the failing step is the same one, with the same words
    const failedLine = (r: CliResult) =>
      r.stderr
        .split('\n')
        .filter((l) => l.startsWith('✗'))[0]
        ?.replace(/\(\d+\.\ds\)/, '');
    expect(failedLine(second)).toBe(failedLine(first));
    expect(failedLine(first)).toMatch(/chaos \(seed 3\): injected failure/);
    const events = JSON.parse((await cli(['events', '--json'])).stdout).events as Array<{payload: {chaos?: {fault: string}} | null}>;
    expect(events.some((e) => e.payload?.chaos?.fault)).toBe(true);

    await approved('apply');
    await cli(['plan', '--detailed-exitcode']);
    expect(await until('v1 served', () => get('/version'), 30_000)).toBe('v1');
  });
});
