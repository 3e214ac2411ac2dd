// clusters, manifests, tools and agents with target kubernetes: defaults, the kind config
// (inline or a file), manifest files and their objects, and every refusal at file:line:col,
// in orchestration.yml or in the kind config / manifest file the problem is in.
import {afterAll, describe, expect, it} from 'vitest';
import {mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseConfig} from '../../src/config/load.js';
import {CLUSTER_SCOPED_KINDS} from '../../src/config/manifests.js';
import {validateAgainstSchema} from '../../src/config/schema.js';
import type {WorkspaceConfig} from '../../src/config/types.js';
import {OrxError, formatDiagnostic} from '../../src/errors.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIGEST = 'a'.repeat(64);
const NODE = `kindest/node:v1.31.0@sha256:${DIGEST}`;

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, {recursive: true, force: true})));

/** A workspace holding `files` (path -> content). */
function workspace(files: Record<string, string> = {}): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'orx-config-kube-')));
  made.push(dir);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), {recursive: true});
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

function load(text: string, files: Record<string, string> = {}, dir = workspace(files)): WorkspaceConfig {
  return parseConfig(text, dir);
}

/** Each problem as a person reads it: "file:line:col: message". */
function errors(text: string, files: Record<string, string> = {}, dir = workspace(files)): string[] {
  try {
    parseConfig(text, dir);
  } catch (err) {
    expect(err).toBeInstanceOf(OrxError);
    expect((err as OrxError).code).toBe('config_invalid');
    return (err as OrxError).diagnostics.map(formatDiagnostic);
  }
  throw new Error('expected parseConfig to throw');
}

const y = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('defaults', () => {
  it('a workspace without them has no clusters, no manifests and docker agents', () => {
    const cfg = load(y('workspace: lab', 'images:', '  base: {ref: alpine}', 'agents:', '  a: {image: base}'));
    expect(cfg.clusters).toEqual({});
    expect(cfg.manifests).toEqual({});
    expect('tools' in cfg).toBe(false);
    expect(cfg.agents.a).toMatchObject({target: 'docker', kube: null});
  });

  it('a cluster with only its node image gets one control-plane node, a 5m wait and no kubeconfig export', () => {
    expect(load(y('workspace: lab', 'clusters:', `  dev: {node_image: "${NODE}"}`)).clusters).toEqual({
      dev: {
        config: {kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', nodes: [{role: 'control-plane'}]},
        config_file: null,
        node_image: NODE,
        wait_ms: 300_000,
        export_kubeconfig: false,
      },
    });
  });

  it('wait, export_kubeconfig and the cluster and manifests budgets are read', () => {
    const cfg = load(
      y(
        'workspace: lab',
        'budgets: {cluster: 15m, manifests: 90s}',
        'clusters:',
        `  dev: {node_image: "${NODE}", wait: 2m30s, export_kubeconfig: true}`,
      ),
    );
    expect(cfg.clusters.dev).toMatchObject({wait_ms: 150_000, export_kubeconfig: true});
    expect(cfg.budgets).toEqual({cluster: 900_000, manifests: 90_000});
  });

  it('tools: is an error at its key that says where tool paths go instead (the repository never picks the binary)', () => {
    for (const tools of ['tools: {kubectl: ./evil.sh}', 'tools: {kind: /opt/kind/kind}', 'tools: {}']) {
      const out = errors(y('workspace: lab', 'autonomy: 1', tools));
      expect(out).toHaveLength(1);
      expect(out[0]).toMatch(/^orchestration\.yml:3:1: tools: is not read from orchestration\.yml: /);
      expect(out[0]).toContain('--tool-kind / --tool-kubectl or ORX_KIND / ORX_KUBECTL');
    }
  });

  it('the cluster-scoped kinds are exported for the resources that apply them', () => {
    for (const k of ['Namespace', 'ClusterRole', 'CustomResourceDefinition', 'APIService']) expect(CLUSTER_SCOPED_KINDS.has(k)).toBe(true);
    expect(CLUSTER_SCOPED_KINDS.has('ConfigMap')).toBe(false);
  });
});

describe('kind config', () => {
  it('inline: extraPortMappings get 127.0.0.1 and TCP where not written; nothing else is added', () => {
    const cfg = load(
      y(
        'workspace: lab',
        'clusters:',
        '  dev:',
        `    node_image: "${NODE}"`,
        '    config:',
        '      kind: Cluster',
        '      apiVersion: kind.x-k8s.io/v1alpha4',
        '      networking: {disableDefaultCNI: true}',
        '      nodes:',
        '        - role: control-plane',
        '          extraPortMappings:',
        '            - {containerPort: 30080, hostPort: 18080}',
        '            - {containerPort: 30053, hostPort: 15353, listenAddress: 0.0.0.0, protocol: UDP}',
        '        - role: worker',
      ),
    );
    expect(cfg.clusters.dev.config).toEqual({
      kind: 'Cluster',
      apiVersion: 'kind.x-k8s.io/v1alpha4',
      networking: {disableDefaultCNI: true},
      nodes: [
        {
          role: 'control-plane',
          extraPortMappings: [
            {containerPort: 30080, hostPort: 18080, listenAddress: '127.0.0.1', protocol: 'TCP'},
            {containerPort: 30053, hostPort: 15353, listenAddress: '0.0.0.0', protocol: 'UDP'},
          ],
        },
        {role: 'worker'},
      ],
    });
    expect(cfg.clusters.dev.config_file).toBeNull();
  });

  it('inline without nodes stays without nodes (kind makes one control-plane)', () => {
    const cfg = load(
      y('workspace: lab', 'clusters:', `  dev: {node_image: "${NODE}", config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4}}`),
    );
    expect(cfg.clusters.dev.config).toEqual({kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4'});
  });

  it('from a file: the shipped template, with its port mapping bound to 127.0.0.1', () => {
    const template = readFileSync(join(REPO, 'templates', 'kind', 'dev.yaml'), 'utf8');
    const cfg = load(y('workspace: lab', 'clusters:', `  dev: {config: templates/kind/dev.yaml, node_image: "${NODE}"}`), {
      'templates/kind/dev.yaml': template,
    });
    expect(cfg.clusters.dev).toEqual({
      config: {
        kind: 'Cluster',
        apiVersion: 'kind.x-k8s.io/v1alpha4',
        nodes: [
          {role: 'control-plane'},
          {role: 'worker', extraPortMappings: [{containerPort: 30080, hostPort: 18080, listenAddress: '127.0.0.1', protocol: 'TCP'}]},
        ],
      },
      config_file: 'templates/kind/dev.yaml',
      node_image: NODE,
      wait_ms: 300_000,
      export_kubeconfig: false,
    });
  });

  it('an unknown key in a node is an error with did-you-mean, inline and in a file at its own line:col', () => {
    const inline = y(
      'workspace: lab',
      'clusters:',
      '  dev:',
      `    node_image: "${NODE}"`,
      '    config:',
      '      kind: Cluster',
      '      apiVersion: kind.x-k8s.io/v1alpha4',
      '      nodes:',
      '        - role: control-plane',
      '          extraPortMapping: []',
    );
    expect(errors(inline)).toEqual([
      'orchestration.yml:10:11: unknown key "extraPortMapping" in clusters.dev.config.nodes[0] (did you mean "extraPortMappings"?)',
    ]);
    const file = y('kind: Cluster', 'apiVersion: kind.x-k8s.io/v1alpha4', 'nodes:', '  - role: control-plane', '    extraPortMapping: []');
    expect(errors(y('workspace: lab', 'clusters:', `  dev: {config: kind.yaml, node_image: "${NODE}"}`), {'kind.yaml': file})).toEqual([
      'kind.yaml:5:5: unknown key "extraPortMapping" in nodes[0] (did you mean "extraPortMappings"?)',
    ]);
  });

  it('refuses name, node images, a missing control-plane and a wrong kind, in the config file', () => {
    const file = y(
      'kind: Clutser', // 1
      'apiVersion: kind.x-k8s.io/v1alpha4',
      'name: dev',
      'nodes:',
      '  - role: worker', // 5
      '    image: kindest/node:v1.31.0',
      '    extraPortMappings:',
      '      - {containerPort: 0, protocol: tcp}',
    );
    expect(errors(y('workspace: lab', 'clusters:', `  dev: {config: kind.yaml, node_image: "${NODE}"}`), {'kind.yaml': file})).toEqual([
      'kind.yaml:1:7: kind must be Cluster (got "Clutser") (did you mean "Cluster"?)',
      'kind.yaml:3:1: name: orx names the cluster itself ("orx-lab-dev"); remove name',
      'kind.yaml:5:3: nodes has no control-plane node; add one with role: control-plane',
      'kind.yaml:6:5: nodes[0].image: pin the node image with clusters.dev.node_image',
      'kind.yaml:8:25: nodes[0].extraPortMappings[0].containerPort must be between 1 and 65535 (got 0)',
      'kind.yaml:8:38: nodes[0].extraPortMappings[0].protocol must be TCP, UDP or SCTP (got "tcp") (did you mean "TCP"?)',
    ]);
  });

  it('the same refusals inline, at orchestration.yml line:col', () => {
    const text = y(
      'workspace: lab',
      'clusters:',
      '  dev:',
      `    node_image: "${NODE}"`,
      '    config:', // 5
      '      kind: Cluster',
      '      name: dev',
      '      nodes: [{role: control-plane, image: "kindest/node:v1.30.0"}]',
    );
    expect(errors(text)).toEqual([
      'orchestration.yml:5:5: missing required key "apiVersion" in clusters.dev.config',
      'orchestration.yml:7:7: clusters.dev.config.name: orx names the cluster itself ("orx-lab-dev"); remove name',
      'orchestration.yml:8:37: clusters.dev.config.nodes[0].image: pin the node image with clusters.dev.node_image',
    ]);
  });

  it('a config that is neither a path nor a mapping says which forms it may take', () => {
    expect(errors(y('workspace: lab', 'clusters:', `  dev: {config: 5, node_image: "${NODE}"}`))).toEqual([
      'orchestration.yml:3:17: clusters.dev.config must be the path of a kind config file in the workspace or an inline kind Cluster config (got 5)',
    ]);
  });

  it('a config file that is not YAML, empty or a list is reported in that file', () => {
    const text = y(
      'workspace: lab',
      'clusters:',
      `  a: {config: a.yaml, node_image: "${NODE}"}`,
      `  b: {config: b.yaml, node_image: "${NODE}"}`,
      `  c: {config: c.yaml, node_image: "${NODE}"}`,
    );
    expect(errors(text, {'a.yaml': 'kind: [Cluster\n', 'b.yaml': '# nothing\n', 'c.yaml': '- kind: Cluster\n'})).toEqual([
      expect.stringMatching(/^a\.yaml:\d+:\d+: YAML syntax error/),
      'b.yaml: kind config b.yaml is empty; it needs at least kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4',
      'c.yaml:1:1: kind config c.yaml must be a mapping (got a list); it needs at least kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4',
    ]);
  });

  it('refuses config paths outside the workspace, missing files and directories', () => {
    const outside = workspace({'kind.yaml': 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n'});
    const dir = workspace({'sub/x.txt': ''});
    symlinkSync(join(outside, 'kind.yaml'), join(dir, 'link.yaml'));
    const text = y(
      'workspace: lab',
      'clusters:',
      `  a: {config: ../kind.yaml, node_image: "${NODE}"}`,
      `  b: {config: link.yaml, node_image: "${NODE}"}`,
      `  c: {config: nope.yaml, node_image: "${NODE}"}`,
      `  d: {config: sub, node_image: "${NODE}"}`,
    );
    expect(errors(text, {}, dir)).toEqual([
      'orchestration.yml:3:15: clusters.a.config: kind config "../kind.yaml" is outside the workspace; use a path inside it',
      'orchestration.yml:4:15: clusters.b.config: kind config "link.yaml" is a symlink to a path outside the workspace',
      'orchestration.yml:5:15: clusters.c.config: kind config "nope.yaml" does not exist',
      'orchestration.yml:6:15: clusters.d.config: "sub" is a directory; give the kind config file',
    ]);
  });

  it('node_image must be given and pinned by digest', () => {
    const text = y(
      'workspace: lab',
      'clusters:',
      '  a: {node_image: "kindest/node:v1.31.0"}',
      '  b: {}',
      '  c: {node_image: "kindest/node@sha256:abc"}',
    );
    expect(errors(text)).toEqual([
      'orchestration.yml:3:19: clusters.a.node_image must be pinned by digest, REPO[:TAG]@sha256:<64 hex digits> (got "kindest/node:v1.31.0"), e.g. kindest/node:v1.31.0@sha256:<digest from the kind release notes>',
      'orchestration.yml:4:3: clusters.b needs node_image, the kind node image pinned by digest, e.g. kindest/node:v1.31.0@sha256:<digest from the kind release notes>',
      expect.stringMatching(/^orchestration\.yml:5:19: clusters\.c\.node_image must be an image reference/),
      expect.stringMatching(/^orchestration\.yml:5:19: clusters\.c\.node_image must be pinned by digest/),
    ]);
    expect(load(y('workspace: lab', 'clusters:', `  a: {node_image: "kindest/node@sha256:${DIGEST}"}`)).clusters.a.node_image).toBe(
      `kindest/node@sha256:${DIGEST}`,
    );
  });

  it('wait is 1s..1h', () => {
    expect(
      errors(y('workspace: lab', 'clusters:', `  a: {node_image: "${NODE}", wait: 2h}`, `  b: {node_image: "${NODE}", wait: 500ms}`)),
    ).toEqual([
      'orchestration.yml:3:121: clusters.a.wait must be between 1s and 1h (got "2h")',
      'orchestration.yml:4:121: clusters.b.wait must be between 1s and 1h (got "500ms")',
    ]);
  });
});

describe('host ports', () => {
  const cluster = (name: string, port: number, extra = '') =>
    `  ${name}: {node_image: "${NODE}", config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4, nodes: [{role: control-plane, extraPortMappings: [{containerPort: 30080, hostPort: ${port}${extra}}]}]}}`;

  it('two clusters publishing the same host port clash; different addresses and random ports do not', () => {
    expect(errors(y('workspace: lab', 'clusters:', cluster('a', 18080), cluster('b', 18080)))).toEqual([
      'orchestration.yml:4:225: host port 127.0.0.1:18080/tcp in clusters.b.config.nodes[0].extraPortMappings[0] is already published by clusters.a.config.nodes[0].extraPortMappings[0]',
    ]);
    expect(
      errors(
        y(
          'workspace: lab',
          'clusters:',
          cluster('a', 18080, ', listenAddress: 0.0.0.0'),
          cluster('b', 18080, ', listenAddress: 127.0.0.2'),
        ),
      ),
    ).toHaveLength(1);
    expect(() =>
      load(y('workspace: lab', 'clusters:', cluster('a', 18080, ', listenAddress: 127.0.0.2'), cluster('b', 18080))),
    ).not.toThrow();
    expect(() => load(y('workspace: lab', 'clusters:', cluster('a', 0), cluster('b', 0)))).not.toThrow();
    expect(() => load(y('workspace: lab', 'clusters:', cluster('a', 18080, ', protocol: UDP'), cluster('b', 18080)))).not.toThrow();
  });

  it("a cluster's mapping in its config file and an agent's published port clash", () => {
    const kind = readFileSync(join(REPO, 'templates', 'kind', 'dev.yaml'), 'utf8');
    const text = y(
      'workspace: lab',
      'networks: {out: {internal: false}}',
      'images: {base: {ref: alpine}}',
      'clusters:',
      `  dev: {config: kind.yaml, node_image: "${NODE}"}`,
      'agents:',
      '  web: {image: base, networks: [out], ports: ["18080:8080"]}',
    );
    expect(errors(text, {'kind.yaml': kind})).toEqual([
      'orchestration.yml:7:47: host port 127.0.0.1:18080/tcp in agents.web.ports[0] is already published by nodes[1].extraPortMappings[0] of kind.yaml (clusters.dev)',
    ]);
  });
});

describe('manifests', () => {
  const CM = (name: string, extra: string[] = []) =>
    y('apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}`, ...extra, 'data: {a: "1"}');
  const text = (...entry: string[]) => y('workspace: lab', 'clusters:', `  dev: {node_image: "${NODE}"}`, 'manifests:', ...entry);

  it('a directory contributes its *.yaml, *.yml and *.json files in name order; objects are labelled and namespaced', () => {
    const cfg = load(text('  base: {cluster: dev, path: k8s/}'), {
      'k8s/b.yaml': CM('b'),
      'k8s/a.yml': y('apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: team', '  labels: {owner: me}'),
      'k8s/c.json': JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {name: 'web', namespace: 'team'},
        spec: {replicas: 1},
      }),
      'k8s/notes.txt': 'not a manifest',
      'k8s/sub/d.yaml': CM('d'),
    });
    const m = cfg.manifests.base;
    expect(m.target).toEqual({cluster: 'dev'});
    expect(m.files).toEqual(['k8s/a.yml', 'k8s/b.yaml', 'k8s/c.json']);
    expect(m.prune).toBe(true);
    expect(m.digest).toMatch(/^[0-9a-f]{64}$/);
    const own = {'io.orchestrix.workspace': 'lab', 'io.orchestrix.address': 'manifests.base'};
    expect(m.objects).toEqual([
      {
        id: 'v1/Namespace//team',
        file: 'k8s/a.yml',
        object: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'team', labels: {owner: 'me', ...own}}},
      },
      {
        id: 'v1/ConfigMap/default/b',
        file: 'k8s/b.yaml',
        object: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'b', labels: own, namespace: 'default'}, data: {a: '1'}},
      },
      {
        id: 'apps/v1/Deployment/team/web',
        file: 'k8s/c.json',
        object: {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'web', namespace: 'team', labels: own}, spec: {replicas: 1}},
      },
    ]);
  });

  it('the shipped example: a Namespace, a ConfigMap and a Deployment in namespace lab', () => {
    const files: Record<string, string> = {};
    for (const f of ['namespace.yaml', 'configmap.yaml', 'deployment.yaml'])
      files[`templates/k8s/base/${f}`] = readFileSync(join(REPO, 'templates', 'k8s', 'base', f), 'utf8');
    const m = load(text('  dev-base: {cluster: dev, path: templates/k8s/base/}'), files).manifests['dev-base'];
    expect(m.objects.map((o) => o.id)).toEqual(['v1/ConfigMap/lab/web-content', 'apps/v1/Deployment/lab/web', 'v1/Namespace//lab']);
  });

  it('a list of paths keeps its order, each file once; multiple documents, empty documents and Lists', () => {
    const m = load(text('  base: {cluster: dev, path: [k8s/z.yaml, k8s/, k8s/z.yaml], namespace: team, prune: false}'), {
      'k8s/z.yaml': y('---', CM('z1'), '---', '# only a comment', '---', CM('z2')),
      'k8s/a.yaml': y(
        'apiVersion: v1',
        'kind: List',
        'items:',
        ...CM('a1')
          .trimEnd()
          .split('\n')
          .map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)),
        '  - {apiVersion: v1, kind: Namespace, metadata: {name: team}}',
      ),
    }).manifests.base;
    expect(m.files).toEqual(['k8s/z.yaml', 'k8s/a.yaml']);
    expect(m.objects.map((o) => o.id)).toEqual([
      'v1/ConfigMap/team/z1',
      'v1/ConfigMap/team/z2',
      'v1/ConfigMap/team/a1',
      'v1/Namespace//team',
    ]);
    expect(m.prune).toBe(false);
  });

  it('the digest follows the files: their bytes and names', () => {
    const dir = workspace({'k8s/a.yaml': CM('a')});
    const digest = () => load(text('  base: {cluster: dev, path: k8s}'), {}, dir).manifests.base.digest;
    const first = digest();
    expect(digest()).toBe(first);
    writeFileSync(join(dir, 'k8s', 'a.yaml'), CM('a', ['  annotations: {x: y}']));
    const second = digest();
    expect(second).not.toBe(first);
    rmSync(join(dir, 'k8s', 'a.yaml'));
    writeFileSync(join(dir, 'k8s', 'b.yaml'), CM('a', ['  annotations: {x: y}']));
    expect(digest()).not.toBe(second);
  });

  it('context kind-NAME of a workspace cluster means that cluster; other contexts keep their kubeconfig', () => {
    const dir = workspace({'k.yaml': CM('a')});
    const cfg = load(
      text(
        '  a: {context: kind-dev, path: k.yaml}',
        '  b: {context: kind-other, path: k.yaml}',
        '  c: {context: prod, kubeconfig: kube/config, path: k.yaml}',
        '  d: {context: kind-dev, kubeconfig: /etc/kubeconfig, path: k.yaml}',
      ),
      {},
      dir,
    );
    expect(cfg.manifests.a.target).toEqual({cluster: 'dev'});
    expect(cfg.manifests.b.target).toEqual({context: 'kind-other', kubeconfig: null});
    expect(cfg.manifests.c.target).toEqual({context: 'prod', kubeconfig: join(dir, 'kube', 'config')});
    expect(cfg.manifests.d.target).toEqual({context: 'kind-dev', kubeconfig: '/etc/kubeconfig'});
  });

  it('a kubeconfig named in the file may not run commands: exec and auth-provider users are refused', () => {
    const kubeconfig = (user: string) =>
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: prod, context: {cluster: c, user: u}}]\nusers:\n  - name: u\n    user: ${user}\n`;
    const refused = (user: string) =>
      errors(text('  c: {context: prod, kubeconfig: kube/config, path: k.yaml}'), {'k.yaml': CM('a'), 'kube/config': kubeconfig(user)});
    expect(refused('{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./evil.sh}}')).toEqual([
      expect.stringMatching(
        /^orchestration\.yml:\d+:\d+: user "u" in kube\/config runs an exec credential plugin, which kubectl would run during orx plan: a kubeconfig named in orchestration\.yml may hold only token or certificate users/,
      ),
    ]);
    expect(refused('{auth-provider: {name: gcp}}')[0]).toMatch(/runs an auth-provider/);
    const ok = load(text('  c: {context: prod, kubeconfig: kube/config, path: k.yaml}'), {
      'k.yaml': CM('a'),
      'kube/config': kubeconfig('{token: not-a-real-token}'),
    });
    expect(ok.manifests.c.target).toMatchObject({context: 'prod'});
  });

  it('needs exactly one of cluster and context, a known cluster, and kubeconfig only with a context', () => {
    expect(
      errors(
        text(
          '  a: {path: k.yaml}',
          '  b: {cluster: dev, context: prod, path: k.yaml}',
          '  c: {cluster: deb, path: k.yaml}',
          '  d: {cluster: dev, kubeconfig: k, path: k.yaml}',
        ),
        {'k.yaml': CM('a')},
      ),
    ).toEqual([
      'orchestration.yml:5:3: manifests.a needs one of "cluster" (a name under clusters) or "context" (a kubeconfig context)',
      'orchestration.yml:6:21: manifests.b must have only one of "cluster" or "context" (found both)',
      'orchestration.yml:7:16: unknown cluster "deb" in manifests.c.cluster: not defined under clusters (did you mean "dev"?)',
      'orchestration.yml:8:21: manifests.d.kubeconfig is only for a "context": a cluster of this workspace has its own kubeconfig',
    ]);
  });

  it('refuses missing paths, empty directories and paths outside the workspace', () => {
    expect(errors(text('  a: {cluster: dev, path: [nope.yaml, empty, ../x.yaml]}'), {'empty/README.md': ''})).toEqual([
      'orchestration.yml:5:28: manifests.a.path[0]: "nope.yaml" does not exist',
      'orchestration.yml:5:39: manifests.a.path[1]: directory "empty" has no *.yaml, *.yml, *.json file',
      'orchestration.yml:5:46: manifests.a.path[2]: "../x.yaml" is outside the workspace; use a path inside it',
    ]);
    expect(errors(text('  a: {cluster: dev}'))).toEqual(['orchestration.yml:5:3: missing required key "path" in manifests.a']);
  });

  it('objects without apiVersion, kind or metadata.name are reported in their file at line:col', () => {
    const web = y(
      'apiVersion: v1', // 1
      'kind: ConfigMap',
      'metadata: {name: ok}',
      '---',
      'apiVersion: apps/v1', // 5
      'kind: Deployment',
      'metadata:',
      '  labels: {app: web}',
      '---',
      'kind: Service', // 10
      'metadata: {name: Web_1}',
      '---',
      '- not an object',
    );
    expect(errors(text('  base: {cluster: dev, path: k8s/web.yaml}'), {'k8s/web.yaml': web})).toEqual([
      'k8s/web.yaml:8:3: object 2 has no metadata.name',
      'k8s/web.yaml:10:1: object 3 has no apiVersion',
      'k8s/web.yaml:11:18: object 3: metadata.name "Web_1" must be 1-253 lowercase letters, digits, "-", "." and ":", starting and ending with a letter or digit',
      'k8s/web.yaml:13:1: object 4 must be a mapping with apiVersion, kind and metadata (got a list)',
    ]);
  });

  it('a YAML error in a manifest is reported in that file', () => {
    expect(
      errors(text('  base: {cluster: dev, path: bad.yaml}'), {
        'bad.yaml': y('apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: a', 'data: {}'),
      }),
    ).toEqual([expect.stringMatching(/^bad\.yaml:\d+:\d+: YAML syntax error/)]);
    expect(
      errors(text('  base: {cluster: dev, path: tag.yaml}'), {
        'tag.yaml': y('apiVersion: v1', 'kind: Secret', 'metadata: {name: a}', 'data: !!binary aGk='),
      }),
    ).toEqual(['tag.yaml:4:16: unsupported YAML tag !!binary at data']);
  });

  it('refuses reserved labels, and a namespace on a cluster-scoped kind', () => {
    const file = y(
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: a',
      '  labels:', // 5
      '    io.orchestrix.address: agent.x',
      '---',
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: team, namespace: default}', // 10
    );
    expect(errors(text('  base: {cluster: dev, path: k.yaml}'), {'k.yaml': file})).toEqual([
      'k.yaml:6:5: object 1 (ConfigMap "a"): label "io.orchestrix.address" uses the reserved prefix "io.orchestrix." (orx sets these labels itself)',
      'k.yaml:10:24: object 2 (Namespace "team"): a Namespace is cluster-scoped; remove metadata.namespace',
    ]);
  });

  it('the same object twice in one entry is an error naming both places', () => {
    expect(
      errors(text('  base: {cluster: dev, path: k8s}'), {
        'k8s/a.yaml': CM('x'),
        'k8s/b.yaml': y('# the same, again', '---', CM('x', ['  namespace: default'])),
      }),
    ).toEqual(['k8s/b.yaml:3:1: object 1 (v1/ConfigMap/default/x) is defined twice in manifests.base; first at k8s/a.yaml:1:1']);
  });

  it('the same object in two entries for the same cluster is an error; for different targets it is not', () => {
    const files = {'a.yaml': CM('x'), 'b.yaml': CM('x')};
    expect(errors(text('  one: {cluster: dev, path: a.yaml}', '  two: {context: kind-dev, path: b.yaml}'), files)).toEqual([
      'b.yaml:1:1: object 1 (v1/ConfigMap/default/x) is also in manifests.one (a.yaml:1:1), which targets the same cluster "dev"',
    ]);
    expect(() => load(text('  one: {cluster: dev, path: a.yaml}', '  two: {context: prod, path: b.yaml}'), files)).not.toThrow();
    expect(() =>
      load(text('  one: {cluster: dev, path: a.yaml}', '  two: {cluster: dev, path: b.yaml, namespace: other}'), files),
    ).not.toThrow();
  });
});

describe('agents with target kubernetes', () => {
  const base = (...agent: string[]) =>
    y(
      'workspace: lab',
      'images:',
      '  built: {build: {context: ctx}}',
      '  pulled: {ref: alpine}',
      'networks: {out: {internal: false}}',
      'volumes: {data: {}}',
      'clusters:',
      `  dev: {node_image: "${NODE}"}`,
      'agents:',
      ...agent,
    );
  const files = {'ctx/Dockerfile': 'FROM scratch\n'};

  it('run on a workspace cluster (also written as its kind context) or a context, in a namespace', () => {
    const dir = workspace(files);
    const cfg = load(
      base(
        '  a: {image: built, target: kubernetes, cluster: dev}',
        '  b: {image: built, target: kubernetes, context: kind-dev, namespace: team}',
        '  c: {image: pulled, target: kubernetes, context: prod, kubeconfig: kube.yaml}',
      ),
      {},
      dir,
    );
    expect(cfg.agents.a).toMatchObject({
      target: 'kubernetes',
      kube: {target: {cluster: 'dev'}, namespace: 'default'},
      networks: [],
      volumes: [],
      ports: [],
    });
    expect(cfg.agents.b.kube).toEqual({target: {cluster: 'dev'}, namespace: 'team'});
    expect(cfg.agents.c.kube).toEqual({target: {context: 'prod', kubeconfig: join(dir, 'kube.yaml')}, namespace: 'default'});
  });

  it('refuses Docker-only keys, a built image on a context, and a missing or doubled target', () => {
    const text = base(
      '  a:', // 10
      '    image: built',
      '    target: kubernetes',
      '    context: prod',
      '    networks: [out]',
      '    volumes: ["data:/data"]', // 15
      '    ports: ["18080:8080"]',
      '  b: {image: pulled, target: kubernetes}',
      '  c: {image: pulled, target: kubernetes, cluster: dev, context: prod}',
      '  d: {image: pulled, target: kubernetes, cluster: nope}',
    );
    expect(errors(text, files)).toEqual([
      'orchestration.yml:11:12: agents.a.image: image "built" is built, and a built image exists only on this machine\'s Docker engine; for context "prod" use an image `ref` the cluster can pull',
      'orchestration.yml:14:5: agents.a.networks: Docker networks do not apply to target kubernetes (pods use the cluster network); remove it',
      'orchestration.yml:15:5: agents.a.volumes: Docker volumes do not apply to target kubernetes; remove it',
      'orchestration.yml:16:5: agents.a.ports: target kubernetes publishes no host ports; use a Service in manifests',
      'orchestration.yml:17:3: agents.b needs one of "cluster" (a name under clusters) or "context" (a kubeconfig context)',
      'orchestration.yml:18:56: agents.c must have only one of "cluster" or "context" (found both)',
      'orchestration.yml:19:51: unknown cluster "nope" in agents.d.cluster: not defined under clusters (defined: dev)',
    ]);
  });

  it('a docker agent refuses the kubernetes keys', () => {
    expect(
      errors(
        base('  a: {image: pulled, cluster: dev, namespace: team}', '  b: {image: pulled, target: docker, context: prod, kubeconfig: k}'),
        files,
      ),
    ).toEqual([
      'orchestration.yml:10:22: agents.a.cluster: only with target: kubernetes (this agent runs on Docker)',
      'orchestration.yml:10:36: agents.a.namespace: only with target: kubernetes (this agent runs on Docker)',
      'orchestration.yml:11:38: agents.b.context: only with target: kubernetes (this agent runs on Docker)',
      'orchestration.yml:11:53: agents.b.kubeconfig: only with target: kubernetes (this agent runs on Docker)',
    ]);
  });

  it('namespace must be a DNS label; target must be docker or kubernetes', () => {
    expect(errors(base('  a: {image: pulled, target: k8s, namespace: Team_1}'), files)).toEqual([
      'orchestration.yml:10:30: agents.a.target must be docker or kubernetes (got "k8s")',
      expect.stringMatching(/^orchestration\.yml:10:46: agents\.a\.namespace is not a valid name/),
    ]);
  });
});

describe('the schema', () => {
  it('accepts the DESIGN.md sample with clusters, manifests and a kubernetes agent', () => {
    const sample = {
      workspace: 'research-lab',
      images: {tools: {ref: 'ghcr.io/example/tools:1.4'}},
      agents: {worker: {image: 'tools', target: 'kubernetes', context: 'kind-dev'}},
      clusters: {dev: {config: 'templates/kind/dev.yaml', node_image: `kindest/node@sha256:${DIGEST}`}},
      manifests: {'dev-base': {cluster: 'dev', path: 'templates/k8s/base/'}},
      budgets: {cluster: '10m', manifests: '2m'},
    };
    expect(validateAgainstSchema(sample)).toEqual([]);
  });
});
