// orx apply of N new agents vs (a) a dockerode Promise.all floor creating and starting
// the same hardened containers, (b) docker-compose up -d of an equivalent compose file; and
// a replace of the N agents (recreate: new container first, old one removed once the new one
// runs) vs the same replace done as remove-then-create with dockerode.
// Usage: node bench/apply.mjs [N=20] [ROUNDS=3]
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';
import {AGENT_CMD, median, orxBin, root, row, tempWorkspace, timeProcess} from './lib.mjs';

const N = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const docker = new Dockerode();

// one image for everyone, built once outside the timing
const ctx = path.join(root, 'templates/images/agent-base');
if (!fs.existsSync(path.join(ctx, 'busybox'))) spawnSync('bash', [path.join(root, 'scripts/prepare-images.sh')], {stdio: 'inherit'});
const IMAGE = 'orx-bench-base:latest';
await new Promise((resolve, reject) =>
  docker.buildImage({context: ctx, src: fs.readdirSync(ctx)}, {t: IMAGE}, (err, stream) =>
    err ? reject(err) : docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve())),
  ),
);

async function removeLabelled(label) {
  const list = await docker.listContainers({all: true, filters: {label: [label]}});
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({force: true})));
}

const floorScript = path.join(root, 'bench/floor-create.mjs');

async function floorRun(tag, replace = false) {
  // a replace replaces what an untimed create made first
  if (replace) timeProcess(process.execPath, [floorScript, String(N), IMAGE, tag]);
  const r = timeProcess(process.execPath, [floorScript, String(N), IMAGE, tag, ...(replace ? ['replace'] : [])]);
  await removeLabelled(`bench.floor=${tag}`);
  fs.rmSync(`/dev/shm/bench-floor-${tag}`, {recursive: true, force: true});
  return r.ms;
}

function orxConfig(ws, version) {
  let y = `workspace: ${ws.name}\nautonomy: 3\nimages:\n  base: {ref: "${IMAGE}"}\nagents:\n`;
  for (let k = 0; k < N; k++)
    y += `  a${k}:\n    image: base\n    command: ${JSON.stringify(AGENT_CMD)}\n    env: {VERSION: "${version}"}\n    resources: {cpus: 0.1, memory: 32m}\n`;
  fs.writeFileSync(path.join(ws.dir, 'orchestration.yml'), y);
}

async function orxRun(i, replace = false) {
  const ws = tempWorkspace(replace ? 'breplace' : 'bapply');
  const apply = () => timeProcess(process.execPath, [orxBin, 'apply', '--auto-approve', '--parallelism', String(N)], {cwd: ws.dir});
  orxConfig(ws, 'v1');
  if (replace) {
    // the agents to replace, made untimed; then every one is replaced (a new env forces it)
    apply();
    orxConfig(ws, 'v2');
  }
  const r = apply();
  await removeLabelled(`io.orchestrix.workspace=${ws.name}`);
  // the agents' secrets directories on the host tmpfs
  for (const d of fs.existsSync('/dev/shm/orchestrix') ? fs.readdirSync('/dev/shm/orchestrix') : [])
    if (d.startsWith(`${ws.name}-`)) fs.rmSync(path.join('/dev/shm/orchestrix', d), {recursive: true, force: true});
  fs.rmSync(ws.dir, {recursive: true, force: true});
  return r.ms;
}

function composeAvailable() {
  return spawnSync('docker-compose', ['version'], {encoding: 'utf8'}).status === 0;
}

async function composeRun(_i) {
  const ws = tempWorkspace('bcompose');
  let y = 'version: "2.4"\nservices:\n';
  for (let k = 0; k < N; k++) {
    fs.mkdirSync(path.join(ws.dir, 'secrets', `a${k}`), {recursive: true});
    y += `  a${k}:\n    image: ${IMAGE}\n    command: ${JSON.stringify(AGENT_CMD).replaceAll('$', '$$$$')}\n    read_only: true\n    cap_drop: [ALL]\n    security_opt: [no-new-privileges]\n    pids_limit: 256\n    mem_limit: 32m\n    memswap_limit: 32m\n    cpus: 0.1\n    init: true\n    network_mode: none\n    tmpfs: ["/tmp:rw,noexec,nosuid,size=64m,uid=1000,gid=1000"]\n    volumes: ["./secrets/a${k}:/run/secrets:ro"]\n    labels: {bench.compose: "${ws.name}"}\n`;
  }
  fs.writeFileSync(path.join(ws.dir, 'docker-compose.yml'), y);
  const r = timeProcess('docker-compose', ['-p', ws.name, 'up', '-d'], {cwd: ws.dir});
  await removeLabelled(`bench.compose=${ws.name}`);
  fs.rmSync(ws.dir, {recursive: true, force: true});
  return r.ms;
}

const floor = [];
const orx = [];
const compose = [];
const floorReplace = [];
const orxReplace = [];
const haveCompose = composeAvailable();
for (let i = 0; i < ROUNDS; i++) {
  // interleaved so machine noise hits every contender alike
  floor.push(await floorRun(`f${i}-${process.pid}`));
  orx.push(await orxRun(i));
  if (haveCompose) compose.push(await composeRun(i));
  floorReplace.push(await floorRun(`r${i}-${process.pid}`, true));
  orxReplace.push(await orxRun(i, true));
}
console.log(`apply of ${N} new hardened agents (median of ${ROUNDS}):`);
const f = median(floor);
console.log(`${'floor: dockerode Promise.all create+start'.padEnd(44)} ${f.toFixed(0).padStart(7)} ms`);
row(`orx apply --auto-approve (N=${N})`, median(orx), 'floor', f, 1.1);
if (haveCompose) {
  const c = median(compose);
  console.log(`${'docker-compose up -d'.padEnd(44)} ${c.toFixed(0).padStart(7)} ms  = ${(c / f).toFixed(2)}× floor`);
  const ratio = median(orx) / c;
  console.log(
    `${'orx vs docker-compose'.padEnd(44)} ${''.padStart(7)}     = ${ratio.toFixed(2)}× compose${ratio <= 0.95 ? '  ok (goal ≤ 0.95×)' : '  MISSED (goal ≤ 0.95×)'}`,
  );
} else {
  console.log('docker-compose: not installed (apt-get install docker-compose), row skipped');
}
console.log(`replace of ${N} agents (median of ${ROUNDS}):`);
const fr = median(floorReplace);
console.log(`${'floor: dockerode stop+remove, create+start'.padEnd(44)} ${fr.toFixed(0).padStart(7)} ms`);
row(`orx apply: replace, new container first (N=${N})`, median(orxReplace), 'floor', fr, 1.25);
await docker
  .getImage(IMAGE)
  .remove({force: true})
  .catch(() => undefined);
