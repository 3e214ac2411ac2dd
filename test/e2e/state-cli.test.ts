import net from 'node:net';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {orx} from '../helpers/cli.js';
import {BASE_YAML, docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  ws = makeWorkspace('cli');
});
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f().catch(() => undefined);
  await ws.cleanup();
});

describe('state commands and partial failure through the CLI', () => {
  it('apply that fails partway exits 6 and says what was and was not done', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    // free at plan time (a held port is a plan error), taken before the apply
    await new Promise((resolve) => server.close(resolve));
    ws.write(`${BASE_YAML.replace('networks:\n', 'networks:\n  frontdoor: {internal: false}\n')}  web:
    image: base
    command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
    resources: {cpus: 0.2, memory: 32m}
    networks: [frontdoor]
    ports: [{container: 8080, host: ${port}}]
    depends_on: [alpha]
`);
    // agent.web gets a network with a route out: a human approves that first
    expect((await orx(['plan', '-out', 'plans/p.json'], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['approve', 'plans/p.json', '--all', '--reason', 'test'], {cwd: ws.dir})).code).toBe(0);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    let r;
    try {
      r = await orx(['apply', 'plans/p.json', '--json'], {cwd: ws.dir});
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(r.code, r.stderr).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('failed');
    expect(out.steps.find((s: {address: string}) => s.address === 'agent.web')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/address already in use|already allocated/),
    });
    expect(out.steps.find((s: {address: string}) => s.address === 'agent.alpha').status).toBe('succeeded');
    const human = await orx(['plan'], {cwd: ws.dir});
    expect(human.stdout).toContain('+ agent.web');
    expect(human.stdout).toContain('Plan: 1 to add');
  });

  it('import, state show, state rm', async () => {
    const name = `${ws.name}-legacy`;
    await docker.createVolume({Name: name, Labels: {keep: 'yes'}});
    cleanups.push(() => docker.getVolume(name).remove());
    ws.write(BASE_YAML.replace('memory: {backup: true}', 'memory: {backup: true, labels: {keep: "yes"}}'));
    const imp = await orx(['import', 'volume.memory', name], {cwd: ws.dir});
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain(`Imported ${name} as volume.memory`);
    const show = JSON.parse((await orx(['state', 'show', 'volume.memory', '--json'], {cwd: ws.dir})).stdout);
    expect(show.resource).toMatchObject({address: 'volume.memory', object_id: name, attributes: {name, labels: {keep: 'yes'}}});
    const plan = JSON.parse((await orx(['plan', '--json'], {cwd: ws.dir})).stdout);
    expect(plan.steps.find((s: {address: string}) => s.address === 'volume.memory').action).toBe('noop');
    const rm = await orx(['state', 'rm', 'volume.memory'], {cwd: ws.dir});
    expect(rm.code).toBe(0);
    expect((await docker.getVolume(name).inspect()).Name).toBe(name);
    const missing = await orx(['state', 'show', 'volume.memory'], {cwd: ws.dir});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not in the state/);
    const bad = await orx(['import', 'volume.memory', 'no-such-volume-anywhere'], {cwd: ws.dir});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no volume "no-such-volume-anywhere"/);
  });
});
