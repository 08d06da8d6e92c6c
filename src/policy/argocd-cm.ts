// M1: argocd-cm must exclude cilium.io/CiliumIdentity from Argo CD's watch, or Argo CD shows
// Cilium as OutOfSync forever. The entry is merged into resource.exclusions without losing a byte
// of what is there: textual append in the existing style first, then a comment-keeping
// re-serialisation, each verified by parsing the result back. Argo CD reads only the first YAML
// document of the value, so that is where the entry goes; what follows it is kept as it was.
import { isDeepStrictEqual } from 'node:util';
import { parseDocument, isScalar, isSeq, type YAMLSeq } from 'yaml';
import { yamlLimits, type ExclusionEntry, type PolicyConfig } from './config.js';
import { globMatch, matchesEverything } from './glob.js';
import { obj, str } from './identify.js';
import type { JsonObject, Violation } from './types.js';
import { unmarshalYaml } from './values/goyaml.js';

export const EXCLUSIONS_KEY = 'resource.exclusions';

interface Filtered {
  apiGroups: string[];
  kinds: string[];
  clusters: string[];
}

type Parsed = { ok: true; entries: Filtered[]; raw: unknown[]; exact: boolean } | { ok: false; error: string };

type Field = keyof Filtered;

/**
 * The FilteredResource field a JSON key lands in. encoding/json tries the exact name, then a
 * case-insensitive match (bytes.EqualFold: ASCII case, and Unicode simple folding, by which U+212A
 * KELVIN SIGN is a K and U+017F LONG S an S; no other character folds onto these ASCII names).
 */
function fieldOf(key: string): Field | null {
  let folded = '';
  for (const c of key) folded += c === '\u212a' ? 'K' : c === '\u017f' ? 'S' : c >= 'a' && c <= 'z' ? c.toUpperCase() : c;
  return folded === 'APIGROUPS' ? 'apiGroups' : folded === 'KINDS' ? 'kinds' : folded === 'CLUSTERS' ? 'clusters' : null;
}

/**
 * A YAML scalar where a []string element belongs. sigs.k8s.io/yaml's convertToJSONableObject turns
 * numbers and booleans aimed at a string into strings; their exact spelling never matters here,
 * since none can be a glob that matches cilium.io or every cluster, or the kind CiliumIdentity.
 * Anything else (a map, a list) is a JSON decoding error. (That coercion also turns `.inf` into
 * "+Inf", which unmarshalYaml, reading without a target type, reports as unreadable: such a value
 * gets a warning instead of a patch.)
 */
function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/**
 * One list item as encoding/json decodes it into FilteredResource after sigs.k8s.io/yaml made it
 * JSON: keys arrive sorted (json.Marshal of a map), so of several keys that fold onto one field the
 * last in byte order wins; `null` resets the field to nil (which matches everything); a null element
 * leaves the element the slice already held at that index, or "". `exact` is false only where that
 * reuse could depend on the capacity Go's slice happened to grow to (several keys, nulls inside).
 */
function decodeEntry(item: unknown, i: number): { ok: true; entry: Filtered; exact: boolean } | { ok: false; error: string } {
  const entry: Filtered = { apiGroups: [], kinds: [], clusters: [] };
  if (item === null) return { ok: true, entry, exact: true };
  if (typeof item !== 'object' || Array.isArray(item)) return { ok: false, error: `${EXCLUSIONS_KEY}[${i}] is not a mapping` };
  const hits = new Map<Field, string[]>();
  for (const key of Object.keys(item)) {
    const field = fieldOf(key);
    if (field) hits.set(field, [...(hits.get(field) ?? []), key]);
  }
  let exact = true;
  for (const [field, keys] of hits) {
    let current: string[] = [];
    for (const key of keys.sort()) {
      const v = (item as Record<string, unknown>)[key];
      if (v === null) {
        current = [];
        continue;
      }
      if (!Array.isArray(v)) return { ok: false, error: `${EXCLUSIONS_KEY}[${i}].${key} is not a list of strings` };
      const next: string[] = [];
      for (const [j, s] of v.entries()) {
        if (s === null) {
          next.push(current[j] ?? '');
          if (keys.length > 1) exact = false;
          continue;
        }
        const text = scalarText(s);
        if (text === null) return { ok: false, error: `${EXCLUSIONS_KEY}[${i}].${key} is not a list of strings` };
        next.push(text);
      }
      current = next;
    }
    entry[field] = current;
  }
  return { ok: true, entry, exact };
}

/** A line that is a YAML document marker: `---` or `...` at column 0, then a blank or the end. */
const MARKER = /^(---|\.\.\.)(?:[ \t\r]|$)/;
/** YAML blanks and a comment: no content (JavaScript's trim() would also eat NBSP, a BOM, ...). */
const NOTHING = /^[ \t\r]*(?:#.*)?$/;

/**
 * Where the first YAML document of the value ends: the patch goes before that point, since
 * sigs.k8s.io/yaml unmarshals the first document only and libyaml never scans past the marker that
 * ends it. A `---` before any content starts that first document; once a document has started, a
 * `---` or `...` at column 0 ends it (libyaml takes one there even inside a flow collection or a
 * quoted string, where it is an error either way). Comments, blank lines and directives are not
 * content. Only the place to edit is found here; reading is unmarshalYaml's, and every patch is read
 * back with it, so a split in the wrong place can only cost a patch, never add a wrong one.
 */
export function splitFirstDocument(text: string): { head: string; tail: string } {
  let started = false;
  let content = false;
  let offset = 0;
  for (const line of text.split('\n')) {
    const marker = MARKER.exec(line);
    if (marker) {
      if (content || started) return { head: text.slice(0, offset), tail: text.slice(offset) };
      if (marker[1] === '---') {
        started = true;
        if (!NOTHING.test(line.slice(3))) content = true;
      }
    } else if (!(line.startsWith('%') && !started) && !NOTHING.test(line)) {
      content = true;
    }
    offset += line.length + 1;
  }
  return { head: text, tail: '' };
}

/**
 * Reads resource.exclusions the way Argo CD does (util/settings GetResourcesFilter:
 * sigs.k8s.io/yaml.Unmarshal into []FilteredResource): go-yaml v2 itself (values/goyaml.ts), so
 * the first YAML document only, and null, `~`, an empty text or only comments are an empty list;
 * then encoding/json's decoding into the struct (decodeEntry): keys matched as it matches them,
 * unknown keys ignored, wrong types an error.
 */
export function parseExclusions(text: string, config: PolicyConfig): Parsed {
  const parsed = unmarshalYaml(text, yamlLimits(config));
  if (!parsed.ok) return { ok: false, error: `${EXCLUSIONS_KEY} ${parsed.error}` };
  if (parsed.value === null || parsed.value === undefined) return { ok: true, entries: [], raw: [], exact: true };
  if (!Array.isArray(parsed.value)) return { ok: false, error: `${EXCLUSIONS_KEY} is not a list` };
  const entries: Filtered[] = [];
  let exact = true;
  for (const [i, item] of parsed.value.entries()) {
    const decoded = decodeEntry(item, i);
    if (!decoded.ok) return decoded;
    entries.push(decoded.entry);
    exact &&= decoded.exact;
  }
  return { ok: true, entries, raw: parsed.value, exact };
}

/** Argo CD's FilteredResource match (kinds are exact or "*", never globs), for every cluster. */
export function covers(entry: Filtered, want: ExclusionEntry): boolean {
  const groups = want.apiGroups;
  const groupOk = entry.apiGroups.length === 0 || groups.every((g) => entry.apiGroups.some((p) => globMatch(p, g)));
  const kindOk = entry.kinds.length === 0 || want.kinds.every((k) => entry.kinds.includes('*') || entry.kinds.includes(k));
  const clusterOk =
    entry.clusters.length === 0 ||
    want.clusters.every((c) => (matchesEverything(c) ? entry.clusters.some(matchesEverything) : entry.clusters.some((p) => globMatch(p, c))));
  return groupOk && kindOk && clusterOk;
}

function blockEntry(want: ExclusionEntry, indent: string): string {
  const list = (key: string, items: string[]): string =>
    `${indent}  ${key}:\n${items.map((s) => `${indent}  - ${JSON.stringify(s)}`).join('\n')}\n`;
  const body = list('apiGroups', want.apiGroups) + list('kinds', want.kinds) + list('clusters', want.clusters);
  return `${indent}- ${body.slice(indent.length + 2)}`;
}

function flowEntry(want: ExclusionEntry): string {
  return JSON.stringify({ apiGroups: want.apiGroups, kinds: want.kinds, clusters: want.clusters });
}

/** Only YAML's own blanks (JavaScript's trim() also eats a byte-order mark, NBSP and more). */
const YAML_BLANK = /^[ \t\r\n]*$/;

/**
 * The first document without its null scalar (`null`, `~`, `Null`, `NULL`: Argo CD's empty list),
 * so a block list can follow; comments around it stay, a line left blank goes.
 */
function withoutNull(head: string, range: [number, number, number]): string {
  const before = head.slice(0, range[0]);
  const after = head.slice(range[1]);
  const lineStart = before.lastIndexOf('\n') + 1;
  const nl = after.indexOf('\n');
  const lineEnd = nl < 0 ? after.length : nl + 1;
  if (YAML_BLANK.test(before.slice(lineStart)) && YAML_BLANK.test(after.slice(0, lineEnd))) return before.slice(0, lineStart) + after.slice(lineEnd);
  return before + after;
}

/** Patched first documents: only the part of the value Argo CD reads is edited. */
function candidates(head: string, want: ExclusionEntry): string[] {
  const out: string[] = [];
  const doc = parseDocument(head, { version: '1.1', uniqueKeys: false });
  let root = doc.contents;
  let text = head;
  if (isScalar(root) && root.value === null && root.range) {
    text = withoutNull(head, root.range);
    root = null;
  }
  if (YAML_BLANK.test(text)) return [blockEntry(want, '')];
  if (isSeq(root) && root.flow) {
    const end = text.lastIndexOf(']');
    if (end >= 0) {
      const sep = root.items.length > 0 ? ', ' : '';
      out.push(`${text.slice(0, end)}${sep}${flowEntry(want)}${text.slice(end)}`);
    }
  } else {
    const m = /^([ \t]*)- /m.exec(text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n'));
    const indent = m ? (m[1] ?? '') : '';
    const base = text.endsWith('\n') ? text : `${text}\n`;
    out.push(base + blockEntry(want, indent));
  }
  if (isSeq(root)) {
    const seq: YAMLSeq<unknown> = root;
    seq.add(doc.createNode({ apiGroups: want.apiGroups, kinds: want.kinds, clusters: want.clusters }));
    out.push(String(doc));
  }
  return out;
}

export type M1Result =
  | { kind: 'covered' }
  | { kind: 'unreadable'; violation: Violation }
  | { kind: 'missing'; violation: Violation; patched: JsonObject | null };

export function isArgoCDConfigMap(cm: JsonObject, namespace: string, config: PolicyConfig): boolean {
  const meta = obj(cm.metadata);
  if (str(meta.name) !== config.argocd.configMapName) return false;
  if (config.argocd.namespaces.length > 0 && !config.argocd.namespaces.includes(namespace)) return false;
  return str(obj(meta.labels)['app.kubernetes.io/part-of']) === config.argocd.partOfLabel;
}

/** What M1 makes of one resource.exclusions text: the costly part, the same for the same text. */
type Plan = { kind: 'covered' } | { kind: 'unreadable'; violation: Violation } | { kind: 'missing'; violation: Violation; patchedText: string | null };

function planFor(text: string, config: PolicyConfig): Plan {
  const want = config.argocd.exclusion;
  const path = `data["${EXCLUSIONS_KEY}"]`;
  const parsed = parseExclusions(text, config);
  if (!parsed.ok) {
    return {
      kind: 'unreadable',
      violation: {
        rule: 'M1',
        path,
        certain: false,
        message: `${parsed.error}, so Argo CD cannot read it either and cilium-guard left it unchanged; fix it and add ${flowEntry(want)}`,
      },
    };
  }
  // An entry read only approximately (see decodeEntry) never counts as covering: appending is harmless.
  if (parsed.exact && parsed.entries.some((e) => covers(e, want))) return { kind: 'covered' };

  let patchedText: string | null = null;
  const { head, tail } = splitFirstDocument(text);
  for (const first of candidates(head, want)) {
    const candidate = first + tail;
    const again = parseExclusions(candidate, config);
    if (again.ok && isDeepStrictEqual(again.raw, [...parsed.raw, { ...want }])) {
      patchedText = candidate;
      break;
    }
  }
  const violation: Violation = {
    rule: 'M1',
    path,
    value: text === '' ? undefined : text,
    certain: patchedText !== null,
    message: `${path} does not exclude ${want.apiGroups.join(',')}/${want.kinds.join(',')} for all clusters, so Argo CD shows Cilium OutOfSync; add ${flowEntry(want)} (put it in Git too, or Argo CD will see the webhook's change as drift)`,
  };
  return { kind: 'missing', violation, patchedText };
}

// The API server sends the same argocd-cm again and again (every Argo CD sync or kubectl apply of
// it), and parsing, rewriting and re-verifying its YAML is most of a mutation's cost. Plans are
// kept per policy, for at most PLAN_CACHE_SIZE texts of at most PLAN_CACHE_TEXT_BYTES each (a
// bounded 4 MiB), least recently used first out. Plans are never mutated by callers.
const PLAN_CACHE_SIZE = 64;
const PLAN_CACHE_TEXT_BYTES = 64 * 1024;
const plans = new WeakMap<PolicyConfig, Map<string, Plan>>();

function cachedPlan(text: string, config: PolicyConfig): Plan {
  if (text.length > PLAN_CACHE_TEXT_BYTES) return planFor(text, config);
  let cache = plans.get(config);
  if (!cache) {
    cache = new Map();
    plans.set(config, cache);
  }
  const hit = cache.get(text);
  if (hit) {
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  const plan = planFor(text, config);
  cache.set(text, plan);
  if (cache.size > PLAN_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return plan;
}

/** Checks argocd-cm and builds the mutated copy when the exclusion is missing. */
export function ensureExclusion(cm: JsonObject, config: PolicyConfig): M1Result {
  const plan = cachedPlan(str(obj(cm.data)[EXCLUSIONS_KEY]), config);
  if (plan.kind !== 'missing') return plan;
  if (plan.patchedText === null) return { kind: 'missing', violation: plan.violation, patched: null };
  // A new top-level object and data map; everything else is shared with the request, read-only.
  const patched: JsonObject = { ...cm, data: { ...obj(cm.data), [EXCLUSIONS_KEY]: plan.patchedText } };
  return { kind: 'missing', violation: plan.violation, patched };
}
