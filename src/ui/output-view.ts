// `orx output` and the "Outputs:" block at the end of an apply.
import type {OutputEntry} from '../app/output.js';
import {c} from './color.js';

function shown(o: OutputEntry): string {
  if (o.error !== null) return c.red(`(error: ${o.error})`);
  return JSON.stringify(o.value, null, 2);
}

/** NAME = VALUE per output, as Terraform prints them; an output that failed says why. */
export function renderOutputs(outputs: OutputEntry[]): string {
  if (outputs.length === 0) return 'No outputs: declare them under `outputs:` in orchestration.yml.';
  const width = Math.max(...outputs.map((o) => o.name.length));
  return outputs.map((o) => `${o.name.padEnd(width)} = ${shown(o)}`).join('\n');
}

/** `orx output NAME`: the value alone. */
export function renderOutputValue(o: OutputEntry): string {
  return shown(o);
}

/** The block an apply ends with; empty when the configuration declares no outputs. */
export function outputsBlock(outputs: OutputEntry[] | undefined): string {
  return outputs && outputs.length > 0 ? `\n\nOutputs:\n\n${renderOutputs(outputs)}` : '';
}
