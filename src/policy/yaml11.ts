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

/** Depth of a parsed value, iteratively (no recursion on attacker-controlled shapes). */
export function depthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (d > limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const child of children) stack.push([child, d + 1]);
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
