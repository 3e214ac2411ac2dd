// Egress through the gateway, driven by the built CLI against the real engine and a real squid
// (orx-test-squid:bookworm, built from Debian's package by scripts/prepare-egress-image.sh).
// "The outside" is a Docker network only the gateway joins, on TEST-NET-3 (203.0.113.0/24,
// internal: nothing leaves this machine), with an HTTP server under several names; "the LAN" is
// a second one on a private range. Every request is made from inside an agent, through its proxy.
import {execFileSync} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {PassThrough} from 'node:stream';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {orx} from '../helpers/cli.js';
import {execIn} from '../helpers/exec.js';
import {docker, makeWorkspace, repoRoot, type TestWorkspace} from '../helpers/workspace.js';

const SQUID_IMAGE = process.env.ORX_TEST_SQUID_IMAGE ?? 'orx-test-squid:bookworm';
const UPSTREAM_IMAGE = 'orx-test-egress-upstream:1';
// TEST-NET-3, else TEST-NET-2: documentation ranges, public to the guard, routed nowhere
const OUTSIDE_SUBNETS = ['203.0.113.0/24', '198.51.100.0/24'];
const LAN_SUBNETS = ['10.251.77.0/24', '10.251.78.0/24'];
const PUBLIC_NAMES = ['api.example.test', 'other.example.test', 'rebind.example.test', 'a.wild.example.test', 'b.c.wild.example.test'];

let ws: TestWorkspace;
const names = {outside: '', lan: '', pub: '', priv: ''};

function yaml(researcherEgress: string): string {
  return `workspace: __WS__
autonomy: 3
images:
  base: {build: {context: images/agent-base}}
egress_gateway: {image: "${SQUID_IMAGE}", uplinks: [${names.outside}, ${names.lan}]}
agents:
  researcher:
    image: base
    # ignores SIGTERM: a halt's stop waits for it, so egress is seen cut while it still runs
    command: ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
    resources: {cpus: 0.5, memory: 64m}
    egress: ${researcherEgress}
    talks_to: [planner]
  writer:
    image: base
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]
    resources: {cpus: 0.5, memory: 64m}
    egress: [other.example.test:80]
  planner:
    image: base
    command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
    resources: {cpus: 0.5, memory: 64m}
`;
}

const RESEARCHER = '[api.example.test:80, "*.wild.example.test:80", internal.example.test:80, rebind.example.test:80]';

const container = (agent: string) => `orx-${ws.name}-${agent}`;

/** The first line of the gateway's answer to one request line, sent from inside `agent` to its HTTP_PROXY. */
async function viaProxy(agent: string, request: string): Promise<string> {
  const script = `p=\${HTTP_PROXY#http://}; (printf '${request}\\r\\nHost: x\\r\\n\\r\\n'; sleep 1) | nc -w 3 \${p%:*} \${p##*:} | head -1`;
  const r = await execIn(container(agent), ['/bin/sh', '-c', script]);
  return r.out.trim();
}

/** On the first of `subnets` no other network holds (a benchmark may hold TEST-NET-3 meanwhile). */
async function ensureNetwork(name: string, subnets: string[]): Promise<void> {
  for (const subnet of subnets) {
    try {
      await docker.createNetwork({
        Name: name,
        Internal: true,
        IPAM: {Config: [{Subnet: subnet}]},
        Labels: {'io.orchestrix.workspace': ws.name},
      });
      return;
    } catch (err) {
      if (!/overlap/i.test(String(err)) || subnet === subnets.at(-1)) throw err;
    }
  }
}

async function startUpstream(name: string, network: string, aliases: string[]): Promise<void> {
  const c = await docker.createContainer({
    name,
    Image: UPSTREAM_IMAGE,
    Cmd: ['/bin/httpd', '-f', '-p', '80', '-h', '/www'],
    User: '1000:1000',
    Labels: {'io.orchestrix.workspace': ws.name},
    HostConfig: {NetworkMode: network},
    NetworkingConfig: {EndpointsConfig: {[network]: {Aliases: aliases}}},
  });
  await c.start();
}

/** Networks a run killed long ago left on these subnets; a run going on now (CI beside a local run) is left alone. */
async function removeStale(): Promise<void> {
  const old = Date.now() - 30 * 60_000;
  for (const n of await docker.listNetworks()) {
    const subnet = n.IPAM?.Config?.[0]?.Subnet;
    if (!subnet || ![...OUTSIDE_SUBNETS, ...LAN_SUBNETS].includes(subnet) || !n.Name.startsWith('orx-egress-test-')) continue;
    if (Date.parse(n.Created) > old) continue;
    const info = await docker.getNetwork(n.Id).inspect();
    for (const id of Object.keys(info.Containers ?? {}))
      await docker
        .getContainer(id)
        .remove({force: true})
        .catch(() => undefined);
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  }
}

async function egressLog(args: string[] = []): Promise<Array<Record<string, unknown>>> {
  const r = await orx(['egress', 'log', '--json', ...args], {cwd: ws.dir});
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as {attempts: Array<Record<string, unknown>>}).attempts;
}

beforeAll(async () => {
  try {
    await docker.getImage(SQUID_IMAGE).inspect();
  } catch {
    throw new Error(`${SQUID_IMAGE} is missing: run scripts/prepare-egress-image.sh as root (CI does)`);
  }
  execFileSync('docker', ['build', '-q', '-t', UPSTREAM_IMAGE, join(repoRoot, 'templates/images/agent-base')], {stdio: 'ignore'});
  ws = makeWorkspace('eg');
  names.outside = `orx-egress-test-${ws.name}-outside`;
  names.lan = `orx-egress-test-${ws.name}-lan`;
  names.pub = `orx-egress-test-${ws.name}-pub`;
  names.priv = `orx-egress-test-${ws.name}-priv`;
  await removeStale();
  await ensureNetwork(names.outside, OUTSIDE_SUBNETS);
  await ensureNetwork(names.lan, LAN_SUBNETS);
  await startUpstream(names.pub, names.outside, PUBLIC_NAMES);
  await startUpstream(names.priv, names.lan, ['internal.example.test']);
  ws.write(yaml(RESEARCHER));
  const r = await orx(['apply', '-auto-approve'], {cwd: ws.dir});
  expect(r.code, r.stderr + r.stdout).toBe(0);
}, 180_000);

afterAll(async () => {
  await ws?.cleanup();
}, 120_000);

describe('egress through the gateway', () => {
  it('allows a listed host:port over plain HTTP and over CONNECT', async () => {
    expect(await viaProxy('researcher', 'GET http://api.example.test/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 (200|404)/);
    expect(await viaProxy('researcher', 'CONNECT api.example.test:80 HTTP/1.1')).toBe('HTTP/1.1 200 Connection established');
    expect(await viaProxy('researcher', 'GET http://a.wild.example.test/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 (200|404)/);
  });

  it('refuses an unlisted host, a listed host on another port, two labels under a wildcard, the metadata address and a name resolving to a private address', async () => {
    for (const req of [
      'GET http://other.example.test/ HTTP/1.0',
      'GET http://api.example.test:8080/ HTTP/1.0',
      'CONNECT api.example.test:443 HTTP/1.1',
      'GET http://b.c.wild.example.test/ HTTP/1.0',
      'GET http://169.254.169.254/latest/meta-data/ HTTP/1.0',
      'GET http://internal.example.test/ HTTP/1.0',
    ])
      expect(await viaProxy('researcher', req), req).toMatch(/^HTTP\/1\.1 403/);
  });

  it('has no route around the gateway: a direct connection to the outside fails', async () => {
    const up = await docker.getContainer(names.pub).inspect();
    const ip = up.NetworkSettings.Networks[names.outside].IPAddress;
    const r = await execIn(container('researcher'), ['/bin/sh', '-c', `echo x | nc -w 2 ${ip} 80`]);
    expect(r.code).not.toBe(0);
  });

  it('gives each agent only its own list', async () => {
    expect(await viaProxy('writer', 'GET http://other.example.test/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 (200|404)/);
    expect(await viaProxy('writer', 'GET http://api.example.test/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 403/);
    expect(await viaProxy('researcher', 'GET http://other.example.test/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 403/);
  });

  it('lets an agent reach another only where talks_to says so, and one way', async () => {
    // planner serves /www on 8080: reached, whatever the page
    expect(await viaProxy('researcher', 'GET http://planner:8080/healthz HTTP/1.0')).toBe('HTTP/1.1 200 OK');
    expect(await viaProxy('planner', 'GET http://researcher:8080/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 403/);
    expect(await viaProxy('writer', 'GET http://planner:8080/healthz HTTP/1.0')).toMatch(/^HTTP\/1\.1 403/);
  });

  it('refuses a name re-pointed to a private address between two requests', async () => {
    expect(await viaProxy('researcher', 'GET http://rebind.example.test/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 (200|404)/);
    // the public server gives the name up; the LAN one takes it
    await docker.getNetwork(names.outside).disconnect({Container: names.pub, Force: true});
    await docker
      .getNetwork(names.outside)
      .connect({Container: names.pub, EndpointConfig: {Aliases: PUBLIC_NAMES.filter((n) => !n.startsWith('rebind'))}});
    await docker.getNetwork(names.lan).disconnect({Container: names.priv, Force: true});
    await docker
      .getNetwork(names.lan)
      .connect({Container: names.priv, EndpointConfig: {Aliases: ['internal.example.test', 'rebind.example.test']}});
    let status = '';
    // the gateway keeps an answer 2 s at most; bounded: 10 tries
    for (let i = 0; i < 10 && !status.includes(' 403 '); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      status = await viaProxy('researcher', 'GET http://rebind.example.test/ HTTP/1.0');
    }
    expect(status).toMatch(/^HTTP\/1\.1 403/);
    const last = (await egressLog(['--agent', 'researcher', '--denied'])).filter((a) => a.host === 'rebind.example.test').at(-1);
    expect(last).toMatchObject({why: 'guard', allowed: false});
  }, 60_000);

  it('records every refusal in the ledger as a warning naming the agent and the destination', async () => {
    const denied = await egressLog(['--denied']);
    const seen = denied.map((a) => `${String(a.agent)} ${String(a.host)}:${String(a.port)} ${String(a.why)}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'researcher other.example.test:80 not_listed',
        'researcher api.example.test:8080 not_listed',
        'researcher b.c.wild.example.test:80 not_listed',
        'researcher 169.254.169.254:80 guard',
        'researcher internal.example.test:80 guard',
        'writer api.example.test:80 not_listed',
        'planner researcher:8080 link_pool',
        'writer planner:8080 link_pool',
      ]),
    );
    const events = await orx(['events', '--json'], {cwd: ws.dir});
    const warn = (JSON.parse(events.stdout) as {events: Array<{level: string; message: string}>}).events.filter((e) =>
      e.message.startsWith('egress denied: agent.researcher -> 169.254.169.254:80'),
    );
    expect(warn.length).toBeGreaterThan(0);
    expect(warn.every((e) => e.level === 'warn')).toBe(true);
    // the chain still verifies with the ingested events in it
    const verify = await orx(['audit', 'verify'], {cwd: ws.dir});
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('changes a list by reloading the gateway: no container is replaced, and the plan says so', async () => {
    const before = {
      researcher: (await docker.getContainer(container('researcher')).inspect()).Id,
      gateway: (await docker.getContainer(`orx-${ws.name}.egress`).inspect()).Id,
    };
    writeFileSync(
      join(ws.dir, 'orchestration.yml'),
      readFileSync(join(ws.dir, 'orchestration.yml'), 'utf8').replace(RESEARCHER, RESEARCHER.replace(']', ', other.example.test:80]')),
    );
    const plan = await orx(['plan', '-no-color'], {cwd: ws.dir});
    expect(plan.stdout).toContain('+ egress other.example.test:80');
    expect(plan.stdout).toContain('+ egress researcher -> other.example.test:80');
    expect(plan.stdout).toContain('no container is replaced');
    expect(plan.stdout).toMatch(/Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy/);
    const apply = await orx(['apply', '-auto-approve'], {cwd: ws.dir});
    expect(apply.code, apply.stderr).toBe(0);
    expect((await docker.getContainer(container('researcher')).inspect()).Id).toBe(before.researcher);
    expect((await docker.getContainer(`orx-${ws.name}.egress`).inspect()).Id).toBe(before.gateway);
    expect(await viaProxy('researcher', 'GET http://other.example.test/ HTTP/1.0')).toMatch(/^HTTP\/1\.1 (200|404)/);
  }, 60_000);

  it('sees an agent taken off its link as drift, and a replace puts it back', async () => {
    const link = `orx-${ws.name}.link-researcher`;
    await docker.getNetwork(link).disconnect({Container: container('researcher'), Force: true});
    expect(await viaProxy('researcher', 'GET http://api.example.test/healthz HTTP/1.0')).toMatch(/Network is unreachable/);
    const plan = await orx(['plan', '-no-color'], {cwd: ws.dir});
    expect(plan.stdout).toMatch(/agent\.researcher must be replaced/);
    expect(plan.stdout).toMatch(/link/);
    const apply = await orx(['apply', '-auto-approve'], {cwd: ws.dir});
    expect(apply.code, apply.stderr).toBe(0);
    expect(await viaProxy('researcher', 'GET http://api.example.test/healthz HTTP/1.0')).toBe('HTTP/1.1 200 OK');
  }, 60_000);

  it('halt cuts egress before it stops the agents: a request loop inside one fails from then on', async () => {
    // bounded: 400 requests, about 20 s at most
    const loop = `p=\${HTTP_PROXY#http://}; i=0; while [ $i -lt 400 ]; do s=$( (printf 'GET http://api.example.test/healthz HTTP/1.0\\r\\n\\r\\n'; sleep 0.05) | nc -w 1 \${p%:*} \${p##*:} | head -1); echo "$i \${s:-none}"; i=$((i+1)); done`;
    const exec = await docker
      .getContainer(container('researcher'))
      .exec({Cmd: ['/bin/sh', '-c', loop], AttachStdout: true, AttachStderr: true});
    const stream = await exec.start({hijack: true, stdin: false});
    const out = new PassThrough();
    const lines: Array<{at: number; text: string}> = [];
    let buf = '';
    out.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push({at: Date.now(), text: buf.slice(0, nl)});
        buf = buf.slice(nl + 1);
      }
    });
    docker.modem.demuxStream(stream, out, out);
    const ended = new Promise((r) => stream.on('end', r));
    const until = Date.now() + 10_000;
    while (!lines.some((l) => l.text.includes(' 200 ')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(
      lines.some((l) => l.text.includes(' 200 ')),
      lines.map((l) => l.text).join('\n'),
    ).toBe(true);

    const halt = await orx(['halt', '--reason', 'egress test', '--json'], {cwd: ws.dir});
    expect(halt.code, halt.stderr).toBe(0);
    const cutAt = Date.parse((JSON.parse(halt.stdout) as {egress_cut_at: string}).egress_cut_at);
    await ended;
    // a request counts as made after the cut when the line before it arrived after the cut (with a margin for the stream)
    const after = lines.filter((l, i) => i > 0 && lines[i - 1].at > cutAt + 200);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((l) => l.text.includes(' 200 '))).toEqual([]);
    const gateway = await docker.getContainer(`orx-${ws.name}.egress`).inspect();
    expect(gateway.State.Running).toBe(false);
  }, 60_000);
});
