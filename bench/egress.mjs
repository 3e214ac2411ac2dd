// The egress gateway's cost (issue 18): (1) the latency a small HTTP GET gains going through the
// gateway, against the same GET made container to container; (2) a 200 MB download through the
// gateway against the same download made directly; (3) a plan of 50 agents with allowlists (and
// the gateway) against the same plan without them.
//
// How it is measured. "The outside" is an internal Docker network on a TEST-NET range (nothing
// leaves this machine) that only the gateway and the bench's own containers join. On it, an
// upstream container holds a network namespace in which this file, run by the host's node under
// `nsenter -n`, serves HTTP/1.1 with keep-alive: /x (3 bytes) and /big (200 MiB from one 1 MiB
// buffer, so the disk is no part of it). A real workspace is applied with the built CLI: one agent
// with `egress: [api.example.test:80]`. The client is this file again, run by the host's node in a
// network namespace under `nsenter -n`:
//   - through the gateway: the agent's own namespace, to its HTTP_PROXY (the gateway's address on
//     its /29 link), asking for http://api.example.test/..., as any proxy client does;
//   - direct (the floor): a probe container's namespace on the outside network, to the upstream's
//     address; the agent itself has no route there, which is the point of the gateway.
// Both are one bridge hop from the server, with the same client and server code, so the
// difference is the proxy: one more bridge hop and squid. Requests are sequential; each latency
// sample is one request from the call to its last byte (process.hrtime). Keep-alive on both sides
// (client to proxy or server, and squid to the server) measures the proxy hop, not TCP set-up; the
// no-keep-alive rows open a new client connection per request (`Connection: close`). The machine
// is shared and noisy, so the direct and proxied runs alternate in blocks (ABBA order, each block
// after its own warm-up, warm-up samples dropped) and the floors come from the same run. "Added"
// is the proxied percentile minus the direct one.
// Throughput: the download's bytes over its wall time; 2×ROUNDS pairs of a direct and a proxied
// download back to back, the verdict the median of the pairs' ratios.
// Plans: `orx plan` as a whole process, the two workspaces alternating, medians of 2×ROUNDS.
// Every Docker object it makes carries io.orchestrix.workspace (orx's) or io.orchestrix.bench
// (the bench's own) and is removed in `finally`, with the nsenter'd server process.
//
// Usage (root: nsenter): node bench/egress.mjs [REQUESTS=2000] [ROUNDS=5]
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import Dockerode from 'dockerode';

const self = fileURLToPath(import.meta.url);
const BIG = 200 * 1024 * 1024;

if (process.argv[2] === '--serve') serve();
else if (process.argv[2] === '--client') await client(JSON.parse(process.argv[3]));
else await main();

/** The upstream: run inside the upstream container's network namespace. */
function serve() {
  const small = Buffer.from('ok\n');
  const chunk = Buffer.alloc(1024 * 1024, 120);
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/big') {
      res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': BIG});
      let sent = 0;
      const pump = () => {
        while (sent < BIG) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else {
      res.writeHead(200, {'content-type': 'text/plain', 'content-length': small.length});
      res.end(small);
    }
  });
  server.keepAliveTimeout = 120_000;
  server.listen(80, '0.0.0.0', () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => process.exit(0));
}

/** The client: run inside an agent's (or the probe's) network namespace; prints JSON. */
async function client(spec) {
  const agent = spec.keepAlive ? new http.Agent({keepAlive: true, maxSockets: 1}) : false;
  const once = () =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const headers = {host: spec.hostHeader, ...(spec.keepAlive ? {} : {connection: 'close'})};
      const req = http.request({host: spec.host, port: spec.port, path: spec.path, agent, headers}, (res) => {
        let bytes = 0;
        res.on('data', (d) => (bytes += d.length));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${spec.path}: HTTP ${res.statusCode}`));
          else resolve({ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes});
        });
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${spec.path}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  const out = [];
  for (let i = 0; i < spec.warmup + spec.n; i++) {
    const r = await once();
    if (i >= spec.warmup) out.push(r);
  }
  process.stdout.write(JSON.stringify(out));
  if (agent) agent.destroy();
}

async function main() {
  const {median, orxBin, removeWorkspaceObjects, root, tempWorkspace, timeProcess, AGENT_CMD} = await import('./lib.mjs');
  const REQUESTS = Number(process.argv[2] ?? 2000);
  const ROUNDS = Number(process.argv[3] ?? 5);
  const BLOCKS = 10;
  const SQUID = process.env.ORX_TEST_SQUID_IMAGE ?? 'orx-test-squid:bookworm';
  const docker = new Dockerode();

  const ctx = path.join(root, 'templates/images/agent-base');
  if (!fs.existsSync(path.join(ctx, 'busybox'))) spawnSync('bash', [path.join(root, 'scripts/prepare-images.sh')], {stdio: 'inherit'});
  await docker
    .getImage(SQUID)
    .inspect()
    .catch(() => {
      throw new Error(`${SQUID} is missing: run scripts/prepare-egress-image.sh as root`);
    });

  const ws = tempWorkspace('begress');
  const benchLabel = {'io.orchestrix.bench': ws.name};
  const upstreamImage = `orx-bench-upstream-${ws.name}`;
  const outside = `orx-bench-${ws.name}-outside`;
  let server;

  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  };
  const inNetns = (pid, spec) => {
    const r = spawnSync('nsenter', ['-t', String(pid), '-n', process.execPath, self, '--client', JSON.stringify(spec)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`client in netns of pid ${pid} exited ${r.status}: ${r.stderr?.slice(0, 2000)}`);
    return JSON.parse(r.stdout);
  };

  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(`egress bench on ${os.cpus().length} CPUs, load average ${load()} (shared machine: floors are measured alongside)`);
  try {
    // the outside: an internal network on a TEST-NET range, whichever is free here
    let made = false;
    for (const subnet of ['203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/24']) {
      try {
        await docker.createNetwork({Name: outside, Internal: true, IPAM: {Config: [{Subnet: subnet}]}, Labels: benchLabel});
        made = true;
        break;
      } catch {
        // in use by another run: the next range
      }
    }
    if (!made) throw new Error('no TEST-NET range is free for the outside network');

    const b = spawnSync('docker', ['build', '-q', '--label', `io.orchestrix.bench=${ws.name}`, '-t', upstreamImage, ctx], {
      encoding: 'utf8',
    });
    if (b.status !== 0) throw new Error(`docker build: ${b.stderr}`);
    const holder = async (name, aliases) => {
      const c = await docker.createContainer({
        name,
        Image: upstreamImage,
        Cmd: AGENT_CMD,
        Labels: benchLabel,
        HostConfig: {NetworkMode: outside},
        NetworkingConfig: {EndpointsConfig: {[outside]: {Aliases: aliases}}},
      });
      await c.start();
      return c.inspect();
    };
    const up = await holder(`orx-bench-${ws.name}-upstream`, ['api.example.test']);
    const probe = await holder(`orx-bench-${ws.name}-probe`, []);
    const upIp = up.NetworkSettings.Networks[outside].IPAddress;

    server = spawn('nsenter', ['-t', String(up.State.Pid), '-n', process.execPath, self, '--serve'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the upstream server did not start in 10 s')), 10_000);
      server.once('exit', (code) => reject(new Error(`the upstream server exited ${code}`)));
      server.stdout.once('data', () => (clearTimeout(t), resolve()));
    });

    fs.cpSync(ctx, path.join(ws.dir, 'images/agent-base'), {recursive: true});
    fs.writeFileSync(
      path.join(ws.dir, 'orchestration.yml'),
      `workspace: ${ws.name}\nautonomy: 3\nimages:\n  base: {build: {context: images/agent-base}}\n` +
        `egress_gateway: {image: "${SQUID}", uplinks: [${outside}]}\nagents:\n  client:\n    image: base\n` +
        `    command: ${JSON.stringify(AGENT_CMD)}\n    egress: [api.example.test:80]\n`,
    );
    timeProcess(process.execPath, [orxBin, 'apply', '-auto-approve'], {cwd: ws.dir});
    const agent = await docker.getContainer(`orx-${ws.name}-client`).inspect();
    const proxy = new URL(agent.Config.Env.find((e) => e.startsWith('HTTP_PROXY=')).slice('HTTP_PROXY='.length));
    const agentPid = agent.State.Pid;
    const probePid = probe.State.Pid;

    const direct = (p) => ({host: upIp, port: 80, path: p, hostHeader: 'api.example.test'});
    const proxied = (p) => ({
      host: proxy.hostname,
      port: Number(proxy.port),
      path: `http://api.example.test${p}`,
      hostHeader: 'api.example.test',
    });

    // (1) latency, direct and proxied alternating in blocks (ABBA), keep-alive then a connection each
    const latency = (keepAlive) => {
      const per = Math.ceil(REQUESTS / BLOCKS);
      const d = [];
      const g = [];
      for (let k = 0; k < BLOCKS; k++) {
        const runs = [
          () => d.push(...inNetns(probePid, {...direct('/x'), keepAlive, n: per, warmup: 20}).map((r) => r.ms)),
          () => g.push(...inNetns(agentPid, {...proxied('/x'), keepAlive, n: per, warmup: 20}).map((r) => r.ms)),
        ];
        if (k % 2) runs.reverse();
        runs.forEach((run) => run());
      }
      return {d, g};
    };
    const line = (label, xs) =>
      console.log(`${label.padEnd(44)} p50 ${pct(xs, 50).toFixed(3).padStart(7)} ms  p99 ${pct(xs, 99).toFixed(3).padStart(7)} ms`);
    const added = (label, d, g, goal) => {
      const a50 = pct(g, 50) - pct(d, 50);
      const a99 = pct(g, 99) - pct(d, 99);
      const ok = goal
        ? a50 <= goal[0] && a99 <= goal[1]
          ? `  ok (goal p50 ≤ ${goal[0]} ms, p99 ≤ ${goal[1]} ms)`
          : `  MISSED (goal p50 ≤ ${goal[0]} ms, p99 ≤ ${goal[1]} ms)`
        : '';
      console.log(`${label.padEnd(44)} p50 ${a50.toFixed(3).padStart(7)} ms  p99 ${a99.toFixed(3).padStart(7)} ms${ok}`);
    };
    const ka = latency(true);
    console.log(`small GET (3 bytes), ${ka.d.length} requests each, keep-alive:`);
    line('floor: direct, container to container', ka.d);
    line('through the gateway', ka.g);
    added('added by the gateway', ka.d, ka.g, [2, 10]);
    const nk = latency(false);
    console.log(`small GET (3 bytes), ${nk.d.length} requests each, a new connection per request:`);
    line('floor: direct, container to container', nk.d);
    line('through the gateway', nk.g);
    added('added by the gateway', nk.d, nk.g);

    // (2) 200 MiB download: pairs of one direct and one proxied download, back to back (order
    // alternating); the verdict is the median of the pairs' ratios, so load that drifts between
    // pairs cancels out
    const pairs = [];
    for (let k = 0; k < ROUNDS * 2; k++) {
      const pair = {};
      const runs = [
        () => (pair.d = inNetns(probePid, {...direct('/big'), keepAlive: false, n: 1, warmup: 0})[0]),
        () => (pair.g = inNetns(agentPid, {...proxied('/big'), keepAlive: false, n: 1, warmup: 0})[0]),
      ];
      if (k % 2) runs.reverse();
      runs.forEach((run) => run());
      for (const r of [pair.d, pair.g]) if (r.bytes !== BIG) throw new Error(`download got ${r.bytes} bytes of ${BIG}`);
      pairs.push(pair);
    }
    const mibps = (r) => BIG / 1024 / 1024 / (r.ms / 1000);
    const [dm, gm] = [median(pairs.map((p) => mibps(p.d))), median(pairs.map((p) => mibps(p.g)))];
    const ratios = pairs.map((p) => mibps(p.g) / mibps(p.d));
    const tr = median(ratios);
    console.log(`200 MiB download, ${pairs.length} pairs (medians):`);
    console.log(`${'floor: direct, container to container'.padEnd(44)} ${dm.toFixed(0).padStart(7)} MiB/s`);
    console.log(`${'through the gateway'.padEnd(44)} ${gm.toFixed(0).padStart(7)} MiB/s`);
    console.log(
      `${'gateway / direct, median of the pairs'.padEnd(44)} ${tr.toFixed(2).padStart(7)}×${tr >= 0.7 ? '  ok' : '  MISSED'} (goal ≥ 0.7×; pairs ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)})`,
    );
  } finally {
    if (server && server.exitCode === null) server.kill('SIGTERM');
    await removeWorkspaceObjects(ws.name, docker);
    await removeBenchObjects(docker, ws.name);
    fs.rmSync(ws.dir, {recursive: true, force: true});
  }

  // (3) plan of 50 agents with allowlists vs without; nothing applied
  const plain = tempWorkspace('bplaneg0');
  const listed = tempWorkspace('bplaneg1');
  const planYaml = (w, egress) => {
    let y = `workspace: ${w.name}\nautonomy: 3\nimages:\n  base: {build: {context: images/agent-base}}\n`;
    if (egress) y += `egress_gateway: {image: "${SQUID}"}\n`;
    y += 'agents:\n';
    for (let k = 0; k < 50; k++) {
      y += `  a${k}:\n    image: base\n    command: ${JSON.stringify(AGENT_CMD)}\n    resources: {cpus: 0.1, memory: 32m}\n`;
      if (egress) y += `    egress: [api.example.test:80, "*.cdn.example.test:443", pypi.org:443, files.pythonhosted.org:443]\n`;
    }
    fs.cpSync(ctx, path.join(w.dir, 'images/agent-base'), {recursive: true});
    fs.writeFileSync(path.join(w.dir, 'orchestration.yml'), y);
  };
  planYaml(plain, false);
  planYaml(listed, true);
  try {
    const t = {plain: [], listed: []};
    const plan = (w) => timeProcess(process.execPath, [orxBin, 'plan', '-no-color'], {cwd: w.dir, allowFail: true});
    // one untimed plan each: the page cache, not the first run, is what is measured
    for (const w of [plain, listed]) {
      const r = plan(w);
      if (r.status !== 0 || !/Plan: \d+ to add/.test(r.stdout))
        throw new Error(`unexpected plan for ${w.name}: ${r.stdout.slice(-800)}${r.stderr}`);
    }
    for (let k = 0; k < ROUNDS * 2; k++) {
      const order = k % 2 ? [listed, plain] : [plain, listed];
      for (const w of order) (w === plain ? t.plain : t.listed).push(plan(w).ms);
    }
    const [p0, p1] = [median(t.plain), median(t.listed)];
    console.log(`plan of 50 agents, nothing applied (median of ${ROUNDS * 2}):`);
    console.log(`${'floor: orx plan without allowlists'.padEnd(44)} ${p0.toFixed(0).padStart(7)} ms`);
    const pr = p1 / p0;
    console.log(
      `${'orx plan with allowlists and the gateway'.padEnd(44)} ${p1.toFixed(0).padStart(7)} ms  = ${pr.toFixed(2)}× without${pr <= 1.2 ? '  ok' : '  MISSED'} (goal ≤ 1.2×)`,
    );
    console.log(`load average at the end ${load()}`);
  } finally {
    for (const w of [plain, listed]) {
      await removeWorkspaceObjects(w.name, docker);
      fs.rmSync(w.dir, {recursive: true, force: true});
    }
  }
}

/** The bench's own objects (outside network, upstream and probe containers, their image). */
async function removeBenchObjects(docker, name) {
  const filters = {label: [`io.orchestrix.bench=${name}`]};
  const quiet = () => {};
  for (const c of await docker.listContainers({all: true, filters})) await docker.getContainer(c.Id).remove({force: true}).catch(quiet);
  for (const n of await docker.listNetworks({filters})) await docker.getNetwork(n.Id).remove().catch(quiet);
  for (const i of await docker.listImages({filters})) await docker.getImage(i.Id).remove({force: true}).catch(quiet);
}
