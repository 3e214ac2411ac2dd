import net from 'node:net';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx, orxApproved} from '../helpers/cli.js';
import {freePort} from '../helpers/http.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
let other: TestWorkspace;
const servers: net.Server[] = [];
beforeEach(() => {
  ws = makeWorkspace('port');
  other = makeWorkspace('port-other');
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await Promise.all([ws.cleanup(), other.cleanup()]);
});

/** A loopback port this test holds for as long as it runs (the holder of the conflict). */
async function holdPort(): Promise<number> {
  const srv = net.createServer();
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return (srv.address() as net.AddressInfo).port;
}

function yaml(port: number, name = 'web'): string {
  return `workspace: __WS__
autonomy: 3
networks:
  edge: {internal: false}
images:
  base: {build: {context: images/agent-base}}
agents:
  ${name}:
    image: base
    command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
    resources: {cpus: 0.1, memory: 32m}
    networks: [edge]
    ports: ["${port}:8080"]
`;
}

describe('host ports held by something else are a plan error', () => {
  it('names the port, the file position and the process that holds it; nothing is saved or started', async () => {
    const port = await holdPort();
    ws.write(yaml(port));
    const r = await orx(['plan', '-out', 'plans/p.plan.json'], {cwd: ws.dir});
    expect(r.code, r.stdout).toBe(1);
    expect(noStack(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(
      new RegExp(
        `orchestration\\.yml:\\d+:\\d+: agent\\.web: host port 127\\.0\\.0\\.1:${port}/tcp is already in use by pid ${process.pid} \\(`,
      ),
    );
    expect(r.stderr).toMatch(/Pick another port/);
    const j = await orx(['plan', '--json'], {cwd: ws.dir});
    expect(j.code).toBe(1);
    const err = JSON.parse(j.stdout).error;
    expect(err.code).toBe('port_in_use');
    expect(err.data.conflicts).toEqual([
      {address: 'agent.web', host_ip: '127.0.0.1', port, protocol: 'tcp', holder: expect.stringContaining(`pid ${process.pid}`)},
    ]);
    const containers = await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});
    expect(containers).toEqual([]);
  }, 60_000);

  it("names another workspace's container; this workspace's own container keeps its port through a replace", async () => {
    const port = await freePort();
    other.write(yaml(port, 'holder'));
    const first = await orxApproved('apply', {cwd: other.dir});
    expect(first.code, first.stderr).toBe(0);
    ws.write(yaml(port));
    const r = await orx(['plan'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `host port 127.0.0.1:${port}/tcp is already in use by container orx-${other.name}-holder (orx workspace ${other.name})`,
    );

    // the holder itself: a replace keeps the same port, which its own running container holds
    other.write(
      yaml(port, 'holder').replace('resources: {cpus: 0.1, memory: 32m}', 'resources: {cpus: 0.2, memory: 32m}\n    env: {V: "2"}'),
    );
    const plan = await orx(['plan', '--detailed-exitcode'], {cwd: other.dir});
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toMatch(/agent\.holder must be replaced/);
  }, 120_000);
});
