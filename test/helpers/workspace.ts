import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import Dockerode from 'dockerode';
import {removeWorkspaceSecrets, secretsRoot} from '../../src/secrets/delivery.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const docker = new Dockerode();

export interface TestWorkspace {
  dir: string;
  name: string;
  write(yaml: string): void;
  cleanup(): Promise<void>;
}

/**
 * A temp workspace with a unique name (so Docker objects carry a unique workspace
 * label) and the registry-free agent image context copied in.
 */
export function makeWorkspace(prefix = 't'): TestWorkspace {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `orx-${name}-`));
  const src = path.join(repoRoot, 'templates/images/agent-base');
  const dst = path.join(dir, 'images/agent-base');
  fs.mkdirSync(dst, {recursive: true});
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  fs.chmodSync(path.join(dst, 'busybox'), 0o755);
  return {
    dir,
    name,
    write(yaml: string) {
      fs.writeFileSync(path.join(dir, 'orchestration.yml'), yaml.replaceAll('__WS__', name));
    },
    async cleanup() {
      await removeWorkspaceObjects(name);
      // the agents' secrets live on the host tmpfs, outside the workspace directory
      removeWorkspaceSecrets(secretsRoot(), dir, null);
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}

/** Removes every Docker object carrying the workspace label, whatever state the test left. */
export async function removeWorkspaceObjects(workspace: string): Promise<void> {
  const filters = {label: [`io.orchestrix.workspace=${workspace}`]};
  const containers = await docker.listContainers({all: true, filters});
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({force: true})
        .catch(() => undefined),
    ),
  );
  const networks = await docker.listNetworks({filters});
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
  const volumes = (await docker.listVolumes({filters})).Volumes ?? [];
  await Promise.all(
    volumes.map((v) =>
      docker
        .getVolume(v.Name)
        .remove({force: true})
        .catch(() => undefined),
    ),
  );
  const images = await docker.listImages({filters});
  for (const i of images)
    await docker
      .getImage(i.Id)
      .remove({force: true})
      .catch(() => undefined);
}

/** An agent command that idles and exits at once on SIGTERM, as a YAML flow sequence. */
export const SLEEP_CMD = `["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]`;

export const BASE_YAML = `workspace: __WS__
autonomy: 3
networks:
  backplane: {internal: true}
volumes:
  memory: {backup: true}
images:
  base:
    build: {context: images/agent-base}
agents:
  alpha:
    image: base
    command: ${SLEEP_CMD}
    env: {LOG_LEVEL: info}
    resources: {cpus: 0.5, memory: 128m}
    networks: [backplane]
    volumes: ["memory:/data"]
`;

/**
 * The DR tests' workspace: one agent, `keeper`, running as uid 1000 with its backed-up volume `memory` at /data
 * (and `cache` at /cache, stopped for backups, when asked). `health` is the agent's health entry.
 */
export function keeperYaml(o: {health: string; cache?: boolean; agentExtra?: string; drHealthTimeout?: string | null}): string {
  const cache = o.cache ?? false;
  const timeout = o.drHealthTimeout === undefined ? '8s' : o.drHealthTimeout;
  return `workspace: __WS__
autonomy: 3
volumes:
  memory: {backup: true}
${cache ? '  cache: {backup: true, quiesce: stop}\n' : ''}images:
  base:
    build: {context: images/agent-base}
agents:
  keeper:
    image: base
    user: "1000:1000"
    command: ${SLEEP_CMD}
    resources: {cpus: 0.2, memory: 64m}
    volumes: ${cache ? '["memory:/data", "cache:/cache"]' : '["memory:/data"]'}
${o.agentExtra ?? ''}    health: ${o.health}
${timeout === null ? '' : `dr:\n  health_timeout: ${timeout}\n`}`;
}
