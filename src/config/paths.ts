// Locations inside the config, as segment arrays internally and as "agents.x.ports[0]" for people.
import {preview} from '../errors.js';

export type Segment = string | number;
export type ConfigPath = readonly Segment[];

const PLAIN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(path: ConfigPath): string {
  if (path.length === 0) return 'the top level';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN.test(seg) && seg.length <= 64) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(preview(seg, 40))}]`;
  }
  return out;
}

/** "in agents.researcher" or "at the top level". */
export function where(path: ConfigPath): string {
  return path.length === 0 ? 'at the top level' : `in ${formatPath(path)}`;
}

/**
 * An ajv instancePath ("/agents/a~1b/ports/0") as segments; array indexes become numbers
 * by looking at the data, because a map key may legitimately be "0".
 */
export function fromPointer(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(key);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(key);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}
