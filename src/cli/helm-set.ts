// Helm's value layering outside Argo CD, for `align`: `--set a=b,c={x,y}` strings as helm and
// cilium-cli read them (strvals), values files merged in order, and the result as one tree.
import { isObject } from '../policy/json.js';
import { parseSetName, typedSetValue, walk, type Segment } from '../policy/helm-values.js';
import type { JsonObject } from '../policy/types.js';

/** Splits on commas that are neither escaped (`\,`) nor inside a `{...}` list. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      current += c + s[++i];
    } else if (c === '{') {
      depth++;
      current += c;
    } else if (c === '}') {
      depth = Math.max(0, depth - 1);
      current += c;
    } else if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/gs, '$1');
}

/**
 * One `--set` (or `--set-string`) argument: `name=value[,name=value...]`. `{a,b}` is a list; with
 * forceString every scalar stays a string. Returns the assignments in order, or an error message.
 */
export function parseSetArgument(arg: string, forceString: boolean): Array<{ segments: Segment[]; name: string; value: unknown }> | string {
  const out: Array<{ segments: Segment[]; name: string; value: unknown }> = [];
  for (const part of splitTopLevel(arg)) {
    if (part === '') continue;
    const eq = part.search(/(?<!\\)=/);
    if (eq <= 0) return `"${part}" is not name=value`;
    const name = part.slice(0, eq);
    const raw = part.slice(eq + 1);
    let value: unknown;
    if (raw.startsWith('{') && raw.endsWith('}')) {
      const inner = raw.slice(1, -1);
      value = inner === '' ? [] : splitTopLevel(inner).map((item) => typedSetValue(unescape(item), forceString));
    } else {
      value = typedSetValue(unescape(raw), forceString);
    }
    out.push({ segments: parseSetName(name), name, value });
  }
  return out;
}

/** Helm's strvals: sets one path, making maps and lists on the way (lists padded with null). */
export function setPath(tree: JsonObject, segments: Segment[], value: unknown): void {
  let node: unknown = tree;
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    const next = segments[i + 1];
    const fresh = (): unknown => (typeof next === 'number' ? [] : {});
    if (typeof seg === 'number') {
      if (!Array.isArray(node)) return;
      while (node.length <= seg) node.push(null);
      if (last) node[seg] = value;
      else {
        if (typeof node[seg] !== 'object' || node[seg] === null) node[seg] = fresh();
        node = node[seg];
      }
    } else {
      if (!isObject(node)) return;
      if (last) node[seg] = value;
      else {
        const child = node[seg];
        if (typeof child !== 'object' || child === null || Array.isArray(child) !== (typeof next === 'number')) node[seg] = fresh();
        node = node[seg];
      }
    }
  });
}

/** Helm's coalescing of values files: maps merge key by key, anything else is replaced. */
export function mergeValues(dst: JsonObject, src: JsonObject): JsonObject {
  const out: JsonObject = { ...dst };
  for (const [k, v] of Object.entries(src)) {
    const cur = out[k];
    out[k] = isObject(cur) && isObject(v) ? mergeValues(cur, v) : v;
  }
  return out;
}

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

/** The value under a dotted key as flattenValues writes it, or undefined. */
export function valueAt(tree: unknown, key: string): unknown {
  const hit = walk(tree, parseSetName(key));
  return hit.found ? hit.value : undefined;
}
