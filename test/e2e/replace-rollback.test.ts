// A replace never leaves an agent down (DESIGN.md): through the built CLI against the real
// engine, three replaces whose new container cannot take over — its host port taken by another
// process after the plan was saved, its command exiting at once, a blue-green one that never gets
// healthy — each exit 6 with the old container (same id) running and serving, the step
// "rolled back" in the ledger, and the ledger and the next plan agreeing nothing changed.
import net from 'node:net';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Ledger} from '../../src/ledger/ledger.js';
import {orx, orxApproved, until, type CliResult} from '../helpers/cli.js';
import {loopbackGet} from '../helpers/http.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('rr');
});
afterEach(async () => {
  await ws.cleanup();
});

// two free-looking neighbours, unique per run
const P1 = 21_000 + 2 * Math.floor(Math.random() * 10_000);
const P2 = P1 + 1;

const serve = (version: string) =>
  `["/bin/sh", "-c", "mkdir -p /tmp/www && echo ${version} > /tmp/www/version && echo ok > /tmp/www/healthz && exec httpd -f -p 8080 -h /tmp/www"]`;

interface Web {
  version: string;
  port: number;
  command?: string;
  blueGreen?: {healthz: string};
}

const yaml = (w: Web) => `workspace: __WS__
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
    command: ${w.command ?? serve(w.version)}
    env: {VERSION: "${w.version}"}
    resources: {cpus: 0.5, memory: 64m}
    networks: [edge]
    ports: [{container: 8080, host: ${w.port}}]
${w.blueGreen ? `    health: {cmd: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080${w.blueGreen.healthz}"], interval: 1s, timeout: 1s, retries: 2, start_period: 3s}\n    update: {strategy: blue-green, health_timeout: 20s}\n` : ''}`;

async function approvedApply(code: number): Promise<CliResult> {
  const r = await orxApproved('apply', {cwd: ws.dir});
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(code);
  return r;
}

async function webContainers(): Promise<Array<{Id: string; Names: string[]; State: string}>> {
  return await docker.listContainers({
    all: true,
    filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.web']},
  });
}

/** v1 on P1, and its container's id. */
async function startV1(extra: Partial<Web> = {}): Promise<string> {
  ws.write(yaml({version: 'v1', port: P1, ...extra}));
  await approvedApply(0);
  expect(await until('v1 served', () => loopbackGet(P1, '/version', 500), 30_000)).toBe('v1');
  const [old] = await webContainers();
  return old.Id;
}

/** What every failed replace must leave: the old container serving, the ledger and the plan saying nothing changed. */
async function expectPutBack(r: CliResult, oldId: string): Promise<void> {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(6);
  expect(r.stdout).toMatch(/Rolled back \(1\), the old version runs as before: agent\.web replace \(/);
  expect(r.stdout).not.toMatch(/Done \(0\): nothing/);
  const now = await webContainers();
  expect(now.map((c) => c.Id)).toEqual([oldId]);
  expect(now[0].State).toBe('running');
  expect(await until('v1 served again', () => loopbackGet(P1, '/version', 500), 30_000)).toBe('v1');
  const l = Ledger.open(ws.dir);
  try {
    const rec = l.getResource('agent.web')!;
    expect(rec.object_id).toBe(oldId);
    expect(rec.attributes.env).toEqual({VERSION: 'v1'});
    const run = l.listRuns({limit: 1})[0];
    expect(run.status).toBe('failed');
    expect(l.listSteps(run.id).map((s) => [s.address, s.status])).toEqual([['agent.web', 'rolled_back']]);
    expect(l.currentLock()).toBeUndefined();
  } finally {
    l.close();
  }
  // the plan still wants the change, against the same recorded and observed agent: no drift
  const plan = await orx(['plan', '--detailed-exitcode'], {cwd: ws.dir});
  expect(plan.code, plan.stderr).toBe(2);
  expect(plan.stdout).toMatch(/agent\.web must be replaced/);
  expect(plan.stdout).not.toMatch(/changed outside|drift/i);
}

describe('a replace that cannot take over puts the old container back', () => {
  it('the new host port is taken by another process after the plan was saved', {timeout: 120_000}, async () => {
    const oldId = await startV1();
    ws.write(yaml({version: 'v2', port: P2}));
    const file = 'plans/port.json';
    expect((await orx(['plan', '-out', file], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['approve', file, '--all', '--reason', 'test'], {cwd: ws.dir})).code).toBe(0);
    const squatter = net.createServer((s) => s.end());
    await new Promise<void>((resolve) => squatter.listen(P2, '127.0.0.1', resolve));
    let r: CliResult;
    try {
      r = await orx(['apply', file], {cwd: ws.dir});
    } finally {
      // let go before the next plan: it would refuse a port something else holds
      await new Promise((resolve) => squatter.close(resolve));
    }
    expect(r.stdout + r.stderr).toMatch(/the new container did not start: .*address already in use/);
    expect(r.stdout).toMatch(/rolled back: orx-\S+-web runs again with the old configuration/);
    await expectPutBack(r, oldId);
    // while it is held, a new plan says so before anything is touched
    squatter.listen(P2, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      const again = await orx(['plan'], {cwd: ws.dir});
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`host port 127.0.0.1:${P2}/tcp is already in use by pid ${process.pid}`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('the new command exits at once', {timeout: 120_000}, async () => {
    const oldId = await startV1();
    ws.write(yaml({version: 'v2', port: P1, command: '["/bin/sh", "-c", "echo broken version; exit 3"]'}));
    const r = await approvedApply(6);
    expect(r.stdout).toMatch(/the new container did not stay up \(exit: the container exited/);
    await expectPutBack(r, oldId);
  });

  it('a blue-green replace whose new container never gets healthy (stop-first: both publish the port)', {timeout: 120_000}, async () => {
    const oldId = await startV1({blueGreen: {healthz: '/healthz'}});
    ws.write(yaml({version: 'v2', port: P1, blueGreen: {healthz: '/missing'}}));
    const r = await approvedApply(6);
    expect(r.stdout).toMatch(/blue-green: the new container was not healthy \(unhealthy: /);
    await expectPutBack(r, oldId);
  });
});
