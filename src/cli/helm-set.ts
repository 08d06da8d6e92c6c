// Values trees as `align` shows them: nulls dropped as Helm's coalescing drops them, and every leaf
// under a dotted key (escaped as for `--set`). Parsing `--set` itself is Helm's strvals
// (src/policy/values/strvals.ts).
import { isObject } from '../policy/json.js';
import type { JsonObject } from '../policy/types.js';
import { walk, type Segment } from '../policy/values/effective.js';

/** A null at any level deletes the key (what Helm does when it coalesces with the chart). */
export function dropNulls(tree: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(tree)) {
    if (v === null) continue;
    out[k] = isObject(v) ? dropNulls(v) : v;
  }
  return out;
}

function keyText(segments: Segment[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${s.replace(/([.\\[\]])/g, '\\$1')}`))
    .join('');
}

/**
 * Every leaf of a values tree as (dotted key, value): scalars, lists (compared whole, as Helm
 * replaces them whole) and empty maps. Keys with dots are escaped as for `--set`.
 */
export function flattenValues(tree: JsonObject): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const visit = (node: unknown, segments: Segment[]): void => {
    if (isObject(node) && (Object.keys(node).length > 0 || segments.length === 0)) {
      for (const [k, v] of Object.entries(node)) visit(v, [...segments, k]);
    } else {
      out.set(keyText(segments), node);
    }
  };
  visit(tree, []);
  return out;
}

/** The segments of a key as keyText writes it (`a.b\\.c[1]`). */
function keySegments(key: string): Segment[] {
  const out: Segment[] = [];
  let cur = '';
  let started = false;
  for (let i = 0; i < key.length; i++) {
    const c = key[i] as string;
    if (c === '\\' && i + 1 < key.length) {
      cur += key[++i];
      started = true;
    } else if (c === '.') {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else if (c === '[') {
      if (started) out.push(cur);
      const close = key.indexOf(']', i);
      out.push(Number(key.slice(i + 1, close)));
      i = close;
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (started) out.push(cur);
  return out;
}

/** The value under a dotted key as flattenValues writes it, or undefined. */
export function valueAt(tree: unknown, key: string): unknown {
  const hit = walk(tree, keySegments(key));
  return hit.found ? hit.value : undefined;
}
