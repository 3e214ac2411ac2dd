// `orx graph` through the built CLI: the configuration's graph with no engine reachable, as
// DOT that Graphviz itself reads back and as Mermaid checked by a small parser (no renderer
// here); a saved plan's graph with its actions, refused when tampered with or stale.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {Ajv} from 'ajv';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {AJV_OPTIONS, readResultSchema} from '../../src/config/schema.js';
import {orx} from '../helpers/cli.js';
import {BASE_YAML, makeWorkspace, SLEEP_CMD, type TestWorkspace} from '../helpers/workspace.js';

const NO_ENGINE = {DOCKER_HOST: 'unix:///nonexistent'};

// hyphens and dots in addresses: an unquoted DOT id or a bare Mermaid id would break on them
const YAML = `${BASE_YAML}  web-1:
    image: base
    command: ${SLEEP_CMD}
    resources: {cpus: 0.2, memory: 32m}
    networks: [backplane]
    depends_on: [alpha]
`;

interface Graph {
  source: string;
  plan_id?: string;
  nodes: Array<{address: string; kind: string; action?: string; step?: string}>;
  edges: Array<{from: string; to: string}>;
}

const validate = new Ajv({...AJV_OPTIONS, allErrors: true}).compile(readResultSchema('graph')!);

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('graph');
  ws.write(YAML);
});
afterEach(async () => {
  await ws.cleanup();
});

async function graphJson(args: string[], env: Record<string, string> = NO_ENGINE): Promise<Graph> {
  const r = await orx(['graph', ...args, '--json'], {cwd: ws.dir, env});
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as Graph;
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return doc;
}

/** What Graphviz itself parsed: node names and edges from `dot -Tjson`. */
function graphvizRead(dotText: string): {nodes: string[]; edges: Array<{from: string; to: string}>} {
  const svg = spawnSync('dot', ['-Tsvg'], {input: dotText, encoding: 'utf8'});
  expect(svg.status, svg.stderr).toBe(0);
  expect(svg.stdout).toContain('<svg');
  const r = spawnSync('dot', ['-Tjson'], {input: dotText, encoding: 'utf8'});
  expect(r.status, r.stderr).toBe(0);
  const g = JSON.parse(r.stdout) as {objects?: Array<{name: string}>; edges?: Array<{tail: number; head: number}>};
  const names = (g.objects ?? []).map((o) => o.name);
  return {nodes: names, edges: (g.edges ?? []).map((e) => ({from: names[e.tail], to: names[e.head]}))};
}

/** A Mermaid flowchart as orx writes it: a header, `id["label"]` nodes, `a --> b` edges; anything else fails. */
function parseMermaid(text: string): {nodes: Map<string, string>; edges: Array<{from: string; to: string}>} {
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^(flowchart|graph) (LR|TD|TB|RL|BT)$/);
  const nodes = new Map<string, string>();
  const edges: Array<{from: string; to: string}> = [];
  for (const line of lines.slice(1)) {
    const node = /^\s+([A-Za-z][A-Za-z0-9_]*)\["([^"]*)"\]$/.exec(line);
    const edge = /^\s+([A-Za-z][A-Za-z0-9_]*) --> ([A-Za-z][A-Za-z0-9_]*)$/.exec(line);
    if (node) nodes.set(node[1], node[2].replace(/#quot;/g, '"').replace(/#35;/g, '#'));
    else if (edge) edges.push({from: edge[1], to: edge[2]});
    else throw new Error(`not a line of a Mermaid flowchart: ${JSON.stringify(line)}`);
  }
  for (const e of edges) expect(nodes.has(e.from) && nodes.has(e.to), `edge ${e.from} --> ${e.to} names declared nodes`).toBe(true);
  return {nodes, edges: edges.map((e) => ({from: nodes.get(e.from)!, to: nodes.get(e.to)!}))};
}

const sortEdges = (e: Array<{from: string; to: string}>) => e.map((x) => `${x.from} -> ${x.to}`).sort();

describe('orx graph', () => {
  it('the configuration as DOT and Mermaid, without a Docker engine', async () => {
    const g = await graphJson([]);
    expect(g.source).toBe('config');
    expect(g.nodes.map((n) => n.address).sort()).toEqual(
      ['agent.alpha', 'agent.web-1', 'image.base', 'network.backplane', 'volume.memory'].sort(),
    );
    expect(sortEdges(g.edges)).toEqual(
      sortEdges([
        {from: 'agent.alpha', to: 'image.base'},
        {from: 'agent.alpha', to: 'network.backplane'},
        {from: 'agent.alpha', to: 'volume.memory'},
        {from: 'agent.web-1', to: 'image.base'},
        {from: 'agent.web-1', to: 'network.backplane'},
        {from: 'agent.web-1', to: 'agent.alpha'},
      ]),
    );

    // the default format is DOT, and Graphviz reads back exactly these nodes and edges
    const dot = await orx(['graph'], {cwd: ws.dir, env: NO_ENGINE});
    expect(dot.code, dot.stderr).toBe(0);
    expect(dot.stdout).toMatch(/^digraph /);
    const read = graphvizRead(dot.stdout);
    expect(read.nodes.sort()).toEqual(g.nodes.map((n) => n.address).sort());
    expect(sortEdges(read.edges)).toEqual(sortEdges(g.edges));

    const mm = await orx(['graph', '--format', 'mermaid'], {cwd: ws.dir, env: NO_ENGINE});
    expect(mm.code, mm.stderr).toBe(0);
    const parsed = parseMermaid(mm.stdout);
    expect([...parsed.nodes.values()].sort()).toEqual(g.nodes.map((n) => n.address).sort());
    expect(sortEdges(parsed.edges)).toEqual(sortEdges(g.edges));
    // ids are generated, never the dotted address itself
    for (const id of parsed.nodes.keys()) expect(id).toMatch(/^n\d+$/);
  });

  it('an unknown format is refused', async () => {
    const r = await orx(['graph', '--format', 'png'], {cwd: ws.dir, env: NO_ENGINE});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dot, mermaid/);
  });

  it("a saved plan's steps with their actions; a tampered or stale plan is refused", {timeout: 120_000}, async () => {
    const planned = await orx(['plan', '-out', 'plans/p.json'], {cwd: ws.dir});
    expect(planned.code, planned.stderr).toBe(0);
    const doc = JSON.parse(fs.readFileSync(path.join(ws.dir, 'plans/p.json'), 'utf8')) as {
      plan_id: string;
      steps: Array<{id: string; address: string; action: string; depends_on: string[]}>;
    };

    // reading a saved plan needs no engine either
    const g = await graphJson(['--plan', 'plans/p.json']);
    expect(g.source).toBe('plan');
    expect(g.plan_id).toBe(doc.plan_id);
    expect(g.nodes).toEqual(doc.steps.map((s) => ({address: s.address, kind: s.address.split('.')[0], action: s.action, step: s.id})));
    expect(g.nodes.every((n) => n.action === 'create')).toBe(true);
    expect(sortEdges(g.edges)).toEqual(sortEdges(doc.steps.flatMap((s) => s.depends_on.map((d) => ({from: s.address, to: d})))));

    const dot = await orx(['graph', '--plan', 'plans/p.json'], {cwd: ws.dir, env: NO_ENGINE});
    expect(dot.code, dot.stderr).toBe(0);
    expect(dot.stdout).toContain('"agent.web-1" [label = "create agent.web-1"');
    expect(sortEdges(graphvizRead(dot.stdout).edges)).toEqual(sortEdges(g.edges));
    const mm = parseMermaid((await orx(['graph', '--plan', 'plans/p.json', '--format', 'mermaid'], {cwd: ws.dir})).stdout);
    expect([...mm.nodes.values()]).toContain('create agent.alpha');

    // an edited step fails the signature
    const tampered = {...doc, steps: doc.steps.map((s) => (s.address === 'agent.alpha' ? {...s, action: 'delete'} : s))};
    fs.writeFileSync(path.join(ws.dir, 'plans/t.json'), JSON.stringify(tampered));
    const t = await orx(['graph', '--plan', 'plans/t.json'], {cwd: ws.dir, env: NO_ENGINE});
    expect(t.code, t.stderr).toBe(5);
    expect(t.stdout).toBe('');

    // a configuration changed since the plan makes it stale
    ws.write(YAML.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug'));
    const s = await orx(['graph', '--plan', 'plans/p.json'], {cwd: ws.dir, env: NO_ENGINE});
    expect(s.code, s.stderr).toBe(5);
    expect(s.stderr).toContain('is stale');
    expect(s.stdout).toBe('');
  });
});
