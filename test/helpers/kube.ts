// Helpers for tests that drive the process-boundary stand-ins for kind and kubectl
// (test/fixtures/bin/README.md): real kind cannot run on our CI machines.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {docker, repoRoot} from './workspace.js';
import {buildImage} from '../../src/drivers/image-build.js';

/** Absolute paths of the stand-in executables (not the real tools). */
export const standinBin = {
  kind: path.join(repoRoot, 'test/fixtures/bin/kind'),
  kubectl: path.join(repoRoot, 'test/fixtures/bin/kubectl'),
};

export const STANDIN_NODE_IMAGE = 'orx-test-kind-node:standin';
const KIND_CLUSTER_LABEL = 'io.x-k8s.kind.cluster';

let nodeImage: Promise<string> | undefined;

/**
 * The local image the stand-in kind runs as its "nodes": built once per process from
 * templates/images/agent-base (FROM scratch + static busybox), skipped when the tag exists.
 */
export function ensureStandinNodeImage(): Promise<string> {
  nodeImage ??= (async () => {
    try {
      await docker.getImage(STANDIN_NODE_IMAGE).inspect();
      return STANDIN_NODE_IMAGE;
    } catch (err) {
      if ((err as {statusCode?: number}).statusCode !== 404) throw err;
    }
    const context = path.join(repoRoot, 'templates/images/agent-base');
    if (!fs.existsSync(path.join(context, 'busybox'))) {
      throw new Error(`${context}/busybox is missing: run \`bash scripts/prepare-images.sh\` first`);
    }
    await buildImage(docker, {context, src: ['Dockerfile', 'busybox']}, {t: STANDIN_NODE_IMAGE, rm: true, forcerm: true}).catch(
      (err: Error) => {
        throw new Error(`building ${STANDIN_NODE_IMAGE} failed: ${err.message}`);
      },
    );
    return STANDIN_NODE_IMAGE;
  })();
  nodeImage.catch(() => (nodeImage = undefined));
  return nodeImage;
}

export interface StandinCall {
  tool: string;
  argv: string[];
  kubeconfig_env: string | null;
}

export interface Standin {
  /** ORX_STANDIN_STATE: a fresh temp directory */
  state: string;
  /** ORX_STANDIN_STATE, ORX_STANDIN_NODE_IMAGE, a HOME inside state (so ~/.kube/config is never the real one), and ORX_KIND / ORX_KUBECTL naming the stand-ins */
  env: Record<string, string>;
  /** every stand-in invocation so far, in order */
  calls(): StandinCall[];
  /** the objects of the store `cluster` (e.g. "kind-dev", or a remote cluster's name); [] when there is none */
  objects(cluster: string): any[];
  /** writes the store `cluster` (creating it makes a non-kind cluster reachable) */
  writeObjects(cluster: string, objects: any[]): void;
  /** removes the node containers of every cluster it knows of, then the state directory */
  cleanup(): Promise<void>;
}

const storeFile = (state: string, cluster: string) => path.join(state, 'k8s', `${cluster.replace(/\.json$/, '')}.json`);

export function makeStandin(): Standin {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-standin-'));
  const home = path.join(state, 'home');
  fs.mkdirSync(home, {recursive: true});
  const calls = (): StandinCall[] => {
    let text: string;
    try {
      text = fs.readFileSync(path.join(state, 'calls.log'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StandinCall);
  };
  return {
    state,
    env: {
      ORX_STANDIN_STATE: state,
      ORX_STANDIN_NODE_IMAGE: STANDIN_NODE_IMAGE,
      HOME: home,
      ORX_KIND: standinBin.kind,
      ORX_KUBECTL: standinBin.kubectl,
    },
    calls,
    objects(cluster) {
      try {
        return (JSON.parse(fs.readFileSync(storeFile(state, cluster), 'utf8')) as {objects?: any[]}).objects ?? [];
      } catch {
        return [];
      }
    },
    writeObjects(cluster, objects) {
      const file = storeFile(state, cluster);
      fs.mkdirSync(path.dirname(file), {recursive: true});
      const tmp = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, JSON.stringify({objects}, null, 2) + '\n');
      fs.renameSync(tmp, file);
    },
    async cleanup() {
      const names = new Set<string>();
      try {
        for (const f of fs.readdirSync(path.join(state, 'kind'))) if (f.endsWith('.json')) names.add(f.slice(0, -'.json'.length));
      } catch {
        /* no cluster recorded */
      }
      for (const c of calls()) {
        if (c.tool !== 'kind') continue;
        c.argv.forEach((a, i) => {
          if (a === '--name' && c.argv[i + 1]) names.add(c.argv[i + 1]);
          else if (a.startsWith('--name=')) names.add(a.slice('--name='.length));
        });
      }
      for (const name of names) await removeContainers([`${KIND_CLUSTER_LABEL}=${name}`], () => true);
      fs.rmSync(state, {recursive: true, force: true});
    },
  };
}

async function removeContainers(label: string[], keep: (value: string) => boolean): Promise<void> {
  const list = await docker.listContainers({all: true, filters: {label}});
  await Promise.all(
    list
      .filter((c) => keep(c.Labels?.[KIND_CLUSTER_LABEL] ?? ''))
      .map((c) =>
        docker
          .getContainer(c.Id)
          .remove({force: true})
          .catch(() => undefined),
      ),
  );
}

/** Force-removes the stand-in (or real) kind node containers of every cluster whose name starts with prefix. */
export async function removeKindClusters(prefix: string): Promise<void> {
  await removeContainers([KIND_CLUSTER_LABEL], (v) => v.startsWith(prefix));
}

/** Manifest files the kube tests write into a workspace's k8s/ (null: remove the file). */
export function writeManifests(dir: string, files: Record<string, string | null>): void {
  fs.mkdirSync(path.join(dir, 'k8s'), {recursive: true});
  for (const [name, text] of Object.entries(files)) {
    const f = path.join(dir, 'k8s', name);
    if (text === null) fs.rmSync(f, {force: true});
    else fs.writeFileSync(f, text);
  }
}

export const MANIFEST = {
  namespace: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n',
  settings: (mode: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: lab}\ndata: {mode: "${mode}"}\n`,
  extra: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: lab}\ndata: {a: "1"}\n',
};
