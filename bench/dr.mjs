// Disaster recovery, the data path: backupVolume (the engine's archive stream of a volume,
// gzip, sha256 of the archive, content digest of every file) against the floor measured
// in the same run: `tar c -C <the volume's directory on the host> . | sha256sum`, which reads
// the same files without the engine, compression or per-file hashing. Goal: backupVolume's
// throughput is at least 0.7x the floor's. Median of ROUNDS each, order alternating.
// The volume holds one big file of random bytes (incompressible) plus thousands of small
// log-like text files (~20% of the bytes). Needs root (to read the volume's host directory)
// and a local engine; nothing is pulled: the image is built from templates/images/agent-base.
// Run `npm run build` first.
// Second part, a sparse volume: one 2 GiB file with 12 KB of data (what an agent's
// preallocated database or disk image looks like). A backup (the step's scan before the
// pause, then the pack under it) must take under 2 s: it reads and writes the allocated
// bytes only. Floors, measured in the same run: one helper container's whole life
// (create, attach, start, wait, remove: what any run of the helper costs at least) and
// `tar --sparse -c <host dir> | sha256sum` (GNU tar finding the holes without the engine).
// Usage: node bench/dr.mjs [MB=500] [ROUNDS=3]   (ORX_DIST=DIR uses another build of dist/.)
import {spawnSync} from 'node:child_process';
import {randomBytes, randomFillSync} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {pathToFileURL} from 'node:url';
import Dockerode from 'dockerode';
import {median, root, row} from './lib.mjs';

const MB = Number(process.argv[2] ?? 500);
const ROUNDS = Number(process.argv[3] ?? 3);
const distDir = process.env.ORX_DIST ?? path.join(root, 'dist');
const {backupVolume, restoreVolume, scanVolume, volumeContentDigest, fileSha256} = await import(
  pathToFileURL(path.join(distDir, 'src/dr/archive.js')).href
);
const {helperImage} = await import(pathToFileURL(path.join(distDir, 'src/dr/helper.js')).href);

const docker = new Dockerode();
const run = randomBytes(3).toString('hex');
const labels = {'io.orchestrix.bench': `dr-${run}`};
const IMAGE = `orx-bench-dr-${run}:1`;
const VOLUME = `orx-bench-dr-${run}`;
const SPARSE = `orx-bench-dr-${run}-sparse`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-bench-dr-'));
const fmt = (n) => n.toLocaleString('en-US');

// --- the data: one tar stream written into the volume through PUT archive -------------

function ustarHeader(name, size, mode, type = '0') {
  const h = Buffer.alloc(512);
  const put = (s, off, len) => h.write(s, off, len, 'latin1');
  const oct = (n, len) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(mode, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(Math.floor(Date.now() / 1000), 12), 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(oct(sum, 7) + ' ', 148, 8);
  return h;
}

const LEVELS = ['info', 'info', 'info', 'debug', 'warn', 'error'];
const AGENTS = ['alpha', 'beta', 'gamma', 'delta'];
const PATHS = ['/v1/tasks', '/v1/memory', '/v1/tools/run', '/healthz', '/v1/messages'];
const MSGS = ['task completed', 'tool call finished', 'memory compacted', 'retrying after timeout', 'cache miss', 'message delivered'];
let seed = 12345;
const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
function logText(bytes) {
  let s = '';
  let t = Date.UTC(2026, 0, 1);
  while (s.length < bytes) {
    t += rnd(5000);
    s += `${new Date(t).toISOString()} level=${LEVELS[rnd(6)]} agent=${AGENTS[rnd(4)]}-${rnd(8)} req=${rnd(1 << 24)
      .toString(16)
      .padStart(6, '0')}${rnd(1 << 24)
      .toString(16)
      .padStart(6, '0')} path=${PATHS[rnd(5)]}/${rnd(100000)} status=${rnd(10) ? 200 : 500} latency_ms=${rnd(900)} msg="${MSGS[rnd(6)]}"\n`;
  }
  return Buffer.from(s.slice(0, bytes));
}

function* volumeTar(totalBytes) {
  const smallTotal = Math.floor(totalBytes * 0.2);
  let small = 0;
  let files = 0;
  yield ustarHeader('logs/', 0, 0o755, '5');
  for (let d = 0; d < 50; d++) yield ustarHeader(`logs/d${d}/`, 0, 0o755, '5');
  while (small < smallTotal) {
    const size = 1000 + rnd(40_000);
    yield ustarHeader(`logs/d${files % 50}/agent-${files}.log`, size, 0o644);
    yield logText(size);
    yield Buffer.alloc((512 - (size % 512)) % 512);
    small += size;
    files++;
  }
  const big = totalBytes - small;
  yield ustarHeader('model.bin', big, 0o644);
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let left = big; left > 0; left -= buf.length) yield Buffer.from(randomFillSync(buf).subarray(0, Math.min(left, buf.length)));
  yield Buffer.alloc((512 - (big % 512)) % 512);
  yield Buffer.alloc(1024);
  console.log(
    `data: one ${fmt(Math.round(big / 1e6))} MB file of random bytes + ${fmt(files)} log-like text files (${fmt(Math.round(small / 1e6))} MB)`,
  );
}

async function fill() {
  const ctx = path.join(root, 'templates/images/agent-base');
  if (!fs.existsSync(path.join(ctx, 'busybox'))) spawnSync('bash', [path.join(root, 'scripts/prepare-images.sh')], {stdio: 'inherit'});
  const stream = await docker.buildImage({context: ctx, src: fs.readdirSync(ctx)}, {t: IMAGE, labels});
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err, out) =>
      err || out.find((o) => o.error) ? reject(err ?? new Error(JSON.stringify(out.find((o) => o.error)))) : resolve(),
    ),
  );
  await docker.createVolume({Name: VOLUME, Labels: labels});
  const c = await docker.createContainer({
    Image: IMAGE,
    Labels: labels,
    HostConfig: {Mounts: [{Type: 'volume', Source: VOLUME, Target: '/v'}]},
  });
  try {
    await c.putArchive(Readable.from(volumeTar(MB * 1e6)), {path: '/v'});
  } finally {
    await c.remove({force: true});
  }
}

async function cleanup() {
  const filters = {label: [`io.orchestrix.bench=dr-${run}`]};
  for (const c of await docker.listContainers({all: true, filters}))
    await docker
      .getContainer(c.Id)
      .remove({force: true})
      .catch(() => undefined);
  for (const v of [VOLUME, SPARSE, `${SPARSE}-restored`])
    await docker
      .getVolume(v)
      .remove({force: true})
      .catch(() => undefined);
  await docker
    .getImage(IMAGE)
    .remove({force: true})
    .catch(() => undefined);
  fs.rmSync(tmp, {recursive: true, force: true});
}

// --- the measurements ----------------------------------------------------------------

function floor(dir) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', 'set -o pipefail; tar c -C "$1" . | sha256sum', 'floor', dir], {encoding: 'utf8'});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`floor pipeline failed (root is needed to read ${dir}): ${r.stderr.slice(0, 500)}`);
  return ms;
}

let archive;
async function backup(i) {
  const dest = path.join(tmp, `b${i}.tar.gz`);
  const t0 = process.hrtime.bigint();
  archive = await backupVolume(docker, {volume: VOLUME, dest, labels});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (i === 0 && (await fileSha256(dest)) !== archive.sha256) throw new Error('the archive sha256 does not match the file');
  // the last one is restored below, for the RTO figure
  if (i < ROUNDS - 1) fs.rmSync(dest);
  return ms;
}

async function digestOnly() {
  const t0 = process.hrtime.bigint();
  await volumeContentDigest(docker, {volume: VOLUME, labels});
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

// --- the sparse volume ----------------------------------------------------------------

async function runIn(volume, script) {
  const c = await docker.createContainer({
    Image: IMAGE,
    User: '0:0',
    Cmd: ['/bin/sh', '-c', script],
    Labels: labels,
    HostConfig: {Mounts: [{Type: 'volume', Source: volume, Target: '/v'}]},
  });
  try {
    await c.start();
    const {StatusCode} = await c.wait();
    if (StatusCode !== 0) throw new Error(`filling ${volume} failed (exit ${StatusCode})`);
  } finally {
    await c.remove({force: true});
  }
}

/** One helper container's life, doing nothing but a scan of an empty directory's worth. */
async function helperLife(image) {
  const t0 = process.hrtime.bigint();
  const c = await docker.createContainer({
    Image: image,
    Cmd: ['/orx-volume-helper', 'scan'],
    Labels: labels,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      NetworkMode: 'none',
      LogConfig: {Type: 'none', Config: {}},
      Mounts: [{Type: 'volume', Source: SPARSE, Target: '/orx-volume', ReadOnly: true}],
    },
  });
  const stream = await c.attach({stream: true, hijack: true, stdout: true, stderr: true});
  const ended = new Promise((resolve) => stream.on('end', resolve));
  stream.resume();
  await c.start();
  await ended;
  await c.wait();
  await c.remove({force: true});
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function sparseBench() {
  await docker.createVolume({Name: SPARSE, Labels: labels});
  const GIB2 = 2 * 1024 ** 3;
  await runIn(
    SPARSE,
    `set -e; dd if=/dev/zero of=/v/disk.img bs=1 count=0 seek=${GIB2} 2>/dev/null; for at in 4096 1000000000 2147000000; do head -c 4096 /dev/urandom | dd of=/v/disk.img bs=4096 seek=$((at / 4096)) conv=notrunc 2>/dev/null; done`,
  );
  const dir = (await docker.getVolume(SPARSE).inspect()).Mountpoint;
  const image = await helperImage(docker);
  const scan = await scanVolume(docker, {volume: SPARSE, labels});
  console.log(`\nsparse: one file of ${fmt(scan.apparent)} bytes, ${fmt(scan.allocated)} allocated; median of ${ROUNDS} rounds`);
  const backupMs = [];
  const lifeMs = [];
  const tarMs = [];
  let a;
  for (let r = 0; r < ROUNDS; r++) {
    lifeMs.push(await helperLife(image));
    const t0 = process.hrtime.bigint();
    // what the backup step does: the scan (before any pause), then the pack (under it)
    await scanVolume(docker, {volume: SPARSE, labels});
    const dest = path.join(tmp, `sparse${r}.tar.gz`);
    a = await backupVolume(docker, {volume: SPARSE, dest, labels});
    backupMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r < ROUNDS - 1) fs.rmSync(dest);
    const t1 = process.hrtime.bigint();
    const t = spawnSync('bash', ['-c', 'set -o pipefail; tar --sparse -c -C "$1" . | sha256sum', 'floor', dir], {encoding: 'utf8'});
    if (t.status !== 0) throw new Error(`tar --sparse failed: ${t.stderr.slice(0, 300)}`);
    tarMs.push(Number(process.hrtime.bigint() - t1) / 1e6);
  }
  const b = median(backupMs);
  row('sparse 2 GiB: scan + backupVolume', b, 'one helper container life', median(lifeMs));
  row('sparse 2 GiB: scan + backupVolume', b, 'tar --sparse | sha256sum', median(tarMs));
  console.log(
    `${'  goal: the 2 GiB sparse file backs up in'.padEnd(44)} ${b.toFixed(0).padStart(7)} ms  ${b < 2000 ? 'ok' : 'MISSED'} (goal < 2000 ms); archive ${fmt(a.size)} bytes`,
  );
  console.log(
    `  rounds (ms): backup ${backupMs.map((x) => x.toFixed(0)).join(' ')}; helper life ${lifeMs.map((x) => x.toFixed(0)).join(' ')}; tar --sparse ${tarMs.map((x) => x.toFixed(0)).join(' ')}`,
  );
  const fresh = `${SPARSE}-restored`;
  await docker.createVolume({Name: fresh, Labels: labels});
  const t0 = process.hrtime.bigint();
  await restoreVolume(docker, {volume: fresh, archive: path.join(tmp, `sparse${ROUNDS - 1}.tar.gz`), sha256: a.sha256, labels});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const back = await scanVolume(docker, {volume: fresh, labels});
  console.log(
    `${'sparse 2 GiB: restore into a fresh volume'.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms; ${fmt(back.allocated)} bytes allocated after (${back.allocated <= scan.allocated * 2 ? 'still sparse' : 'NOT SPARSE'})`,
  );
}

try {
  await fill();
  const dir = (await docker.getVolume(VOLUME).inspect()).Mountpoint;
  const du = spawnSync('du', ['-sb', dir], {encoding: 'utf8'});
  const bytes = Number(du.stdout.split('\t')[0]);
  console.log(`dr: volume of ${fmt(Math.round(bytes / 1e6))} MB, median of ${ROUNDS} rounds (order alternates), ${os.cpus().length} CPUs`);
  floor(dir); // warm the page cache: both sides read from memory
  const floorMs = [];
  const backupMs = [];
  const digestMs = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      floorMs.push(floor(dir));
      backupMs.push(await backup(r));
    } else {
      backupMs.push(await backup(r));
      floorMs.push(floor(dir));
    }
    digestMs.push(await digestOnly());
  }
  const f = median(floorMs);
  const mbps = (ms) => bytes / 1e3 / ms;
  row('backupVolume (stream+gzip+sha256+digest)', median(backupMs), 'tar|sha256sum', f, 1.43);
  const ratio = mbps(median(backupMs)) / mbps(f);
  console.log(
    `${'  throughput: backupVolume vs floor'.padEnd(44)} ${mbps(median(backupMs)).toFixed(0).padStart(7)} MB/s = ${ratio.toFixed(2)}× ${mbps(f).toFixed(0)} MB/s ${ratio >= 0.7 ? 'ok' : 'MISSED'} (goal ≥ 0.7×)`,
  );
  row('volumeContentDigest (stream+digest only)', median(digestMs), 'tar|sha256sum', f);
  console.log(`  archive: ${fmt(archive.size)} bytes = ${(archive.size / bytes).toFixed(3)} of the volume, ${fmt(archive.files)} files`);
  console.log(
    `  rounds (ms): floor ${floorMs.map((x) => x.toFixed(0)).join(' ')}; backup ${backupMs.map((x) => x.toFixed(0)).join(' ')}; digest ${digestMs.map((x) => x.toFixed(0)).join(' ')}`,
  );
  // RPO: the agents of a volume are paused for exactly the stream, so its pause is the backup's wall time
  console.log(
    `${'RPO pause (agents held while streaming)'.padEnd(44)} ${median(backupMs).toFixed(0).padStart(7)} ms for ${fmt(Math.round(bytes / 1e6))} MB`,
  );
  // RTO's data part: the archive restored (sha256 checked first) into a fresh volume
  const fresh = `${VOLUME}-restored`;
  await docker.createVolume({Name: fresh, Labels: labels});
  try {
    const t0 = process.hrtime.bigint();
    await restoreVolume(docker, {volume: fresh, archive: path.join(tmp, `b${ROUNDS - 1}.tar.gz`), sha256: archive.sha256, labels});
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(
      `${'RTO data part (verify + restore into a fresh volume)'.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms = ${(bytes / 1e3 / ms).toFixed(0)} MB/s (plus the agents' restart and health check)`,
    );
  } finally {
    await docker
      .getVolume(fresh)
      .remove({force: true})
      .catch(() => undefined);
  }
  await sparseBench();
} finally {
  await cleanup();
}
