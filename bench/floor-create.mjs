// The floor for bench/apply.mjs: the least a Node program can do to create and start
// N hardened containers, all at once, each with a read-only directory of its own from a host
// tmpfs at /run/secrets (what orx gives every agent for its secrets and identity token).
// With `replace`: each of the N containers made before is stopped and removed first, then
// made again (a replace done as remove-then-create).
import fs from 'node:fs';
import Dockerode from 'dockerode';

const [n, image, tag, mode] = [Number(process.argv[2]), process.argv[3], process.argv[4], process.argv[5]];
const docker = new Dockerode();
const cmd = ['/bin/sh', '-c', "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
await Promise.all(
  Array.from({length: n}, async (_, i) => {
    const secrets = `/dev/shm/bench-floor-${tag}/${i}`;
    fs.mkdirSync(secrets, {recursive: true, mode: 0o700});
    if (mode === 'replace') {
      const old = docker.getContainer(`bench-floor-${tag}-${i}`);
      await old.stop({t: 10});
      await old.remove({force: true});
    }
    const c = await docker.createContainer({
      name: `bench-floor-${tag}-${i}`,
      Image: image,
      Cmd: cmd,
      Labels: {'bench.floor': tag},
      HostConfig: {
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Init: true,
        PidsLimit: 256,
        Memory: 32 * 1024 * 1024,
        MemorySwap: 32 * 1024 * 1024,
        NanoCpus: 1e8,
        Tmpfs: {'/tmp': 'rw,noexec,nosuid,nodev,size=64m,mode=1777'},
        Mounts: [{Type: 'bind', Source: secrets, Target: '/run/secrets', ReadOnly: true}],
        NetworkMode: 'none',
      },
    });
    await c.start();
  }),
);
