// From a position inside a YAML string value (a CEL expression, a message) back to the source
// offset, so an error in a `when` points at the character in the file, whatever the quoting.
import {isScalar, Scalar} from 'yaml';

/** Source characters that a scalar's value can drop: indentation, folded line breaks, quotes, escapes. */
const SKIPPABLE = new Set([' ', '\t', '\n', '\r', "'", '"', '\\']);

/**
 * The source offset of `value[index]` for a scalar node read from `text`. Walks value and
 * source side by side: every value character is found at or after the previous one, skipping
 * only characters the YAML scalar forms can drop, so a match is never taken from a comment or
 * another key. An index at the end of the value (a CEL "unexpected end") gives the position
 * just past the last character.
 */
export function valueOffset(text: string, node: unknown, index: number): number | undefined {
  if (!isScalar(node) || !node.range) return undefined;
  const value = typeof node.value === 'string' ? node.value : node.source;
  if (typeof value !== 'string') return node.range[0];
  const [start, end] = node.range;
  let s = start;
  switch (node.type) {
    case Scalar.QUOTE_SINGLE:
    case Scalar.QUOTE_DOUBLE:
      s = start + 1;
      break;
    case Scalar.BLOCK_LITERAL:
    case Scalar.BLOCK_FOLDED: {
      // the header line ("|-  # comment") holds no value characters
      const nl = text.indexOf('\n', start);
      s = nl === -1 || nl >= end ? end : nl + 1;
      break;
    }
    default:
      break;
  }
  const limit = Math.min(end, text.length);
  // Past the last visible character (CEL's "unexpected end"): point just after it, not at the
  // line break or the next key that a block scalar's trailing newline would reach.
  const visible = value.trimEnd().length;
  if (index >= visible && visible > 0) {
    const lastChar = valueOffset(text, node, visible - 1);
    return lastChar === undefined ? undefined : lastChar + 1;
  }
  const upto = Math.min(index, value.length);
  let last = s;
  for (let i = 0; i <= upto; i++) {
    if (i === value.length) return Math.min(last, limit);
    const ch = value[i];
    let p = s;
    while (p < limit && text[p] !== ch && SKIPPABLE.has(text[p])) p++;
    if (p >= limit) return last;
    // text[p] !== ch: an escape such as \n; its last source character stands for it
    if (i === upto) return p;
    s = p + 1;
    last = s;
  }
  return last;
}
