// Bounded YAML reading with the dialect Helm and Argo CD use (sigs.k8s.io/yaml over go-yaml v2):
// YAML 1.1 scalars (`off` is false, `yes` is true), merge keys, and duplicate keys where the last
// one wins. Hostile input (alias bombs, deep nesting, huge strings) gets an error, never a hang.
import { parseDocument } from 'yaml';

export interface YamlLimits {
  bytes: number;
  aliases: number;
  depth: number;
}

export type YamlResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Deepest bracket nesting of flow collections, ignoring quoted text. Checked before parsing so a
 * `[[[[...` string cannot make the parser or the walk below recurse without bound.
 */
function flowDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return true;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === '\n') quote = null;
  }
  return false;
}

/**
 * Depth of a parsed value, iteratively (no recursion on attacker-controlled shapes). Two flat stacks
 * and for-in, not a pair and an array of values per node: every Cilium evaluation checks its values
 * this way, and the allocation was most of its cost.
 */
export function depthExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop() as object;
    const d = depths.pop() as number;
    if (d > limit) return true;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) {
          values.push(child);
          depths.push(d + 1);
        }
      }
    } else {
      for (const k in v) {
        const child = (v as Record<string, unknown>)[k];
        if (typeof child === 'object' && child !== null) {
          values.push(child);
          depths.push(d + 1);
        }
      }
    }
  }
  return false;
}

export function parseYaml11(text: string, limits: YamlLimits): YamlResult {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.bytes) {
    return { ok: false, error: `is ${bytes} bytes, more than the ${limits.bytes} bytes cilium-guard reads` };
  }
  if (flowDepthExceeds(text, limits.depth)) {
    return { ok: false, error: `nests deeper than ${limits.depth} levels` };
  }
  try {
    const doc = parseDocument(text, { version: '1.1', merge: true, uniqueKeys: false, prettyErrors: false });
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      return { ok: false, error: `is not valid YAML: ${first?.message.split('\n')[0] ?? 'parse error'}` };
    }
    const value: unknown = doc.toJS({ maxAliasCount: limits.aliases });
    if (depthExceeds(value, limits.depth)) return { ok: false, error: `nests deeper than ${limits.depth} levels` };
    return { ok: true, value };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(message)) {
      return { ok: false, error: `expands more than ${limits.aliases} YAML aliases (a YAML bomb?)` };
    }
    if (err instanceof RangeError) return { ok: false, error: 'nests too deeply to read' };
    return { ok: false, error: `is not valid YAML: ${message.split('\n')[0]}` };
  }
}
