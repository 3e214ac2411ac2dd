// `orx graph` as Graphviz DOT or a Mermaid flowchart. Addresses hold dots (and a plan's
// steps could hold anything), so DOT ids are always quoted strings and Mermaid nodes get
// generated ids with the address as a quoted label.
import type {GraphResult} from '../app/graph.js';

export type GraphFormat = 'dot' | 'mermaid';

function label(n: GraphResult['nodes'][number]): string {
  return n.action ? `${n.action} ${n.address}` : n.address;
}

/** A DOT quoted string: backslash and double quote escaped, line breaks as \n. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

const DOT_STYLE: Record<string, string> = {
  create: 'color="darkgreen"',
  update: 'color="goldenrod"',
  replace: 'color="darkorange"',
  delete: 'color="red3"',
  move: 'color="blue"',
  noop: 'color="gray50"',
};

export function renderDot(g: GraphResult): string {
  const lines = [`digraph ${dotString(g.plan_id ?? 'orx')} {`, '  rankdir = "LR";', '  node [shape = "box"];'];
  for (const n of g.nodes) {
    const style = n.action ? DOT_STYLE[n.action] : undefined;
    lines.push(`  ${dotString(n.address)} [label = ${dotString(label(n))}${style ? `, ${style}` : ''}];`);
  }
  for (const e of g.edges) lines.push(`  ${dotString(e.from)} -> ${dotString(e.to)};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/**
 * A Mermaid label in double quotes: a double quote is written as the entity Mermaid reads
 * back (#quot;), and # itself as #35; so a label cannot start an entity of its own.
 */
export function mermaidLabel(s: string): string {
  return `"${s.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/\r?\n/g, ' ')}"`;
}

export function renderMermaid(g: GraphResult): string {
  const id = new Map(g.nodes.map((n, i) => [n.address, `n${i}`]));
  const lines = ['flowchart LR'];
  for (const n of g.nodes) lines.push(`  ${id.get(n.address)}[${mermaidLabel(label(n))}]`);
  for (const e of g.edges) lines.push(`  ${id.get(e.from)} --> ${id.get(e.to)}`);
  return lines.join('\n') + '\n';
}

export function renderGraph(g: GraphResult, format: GraphFormat): string {
  return format === 'mermaid' ? renderMermaid(g) : renderDot(g);
}
