// M1: argocd-cm must exclude cilium.io/CiliumIdentity from Argo CD's watch, or Argo CD shows
// Cilium as OutOfSync forever. The entry is merged into resource.exclusions without losing a byte
// of what is there: textual append in the existing style first, then a comment-keeping
// re-serialisation, each verified by parsing the result back.
import { isDeepStrictEqual } from 'node:util';
import { parseDocument, isSeq, type YAMLSeq } from 'yaml';
import { yamlLimits, type ExclusionEntry, type PolicyConfig } from './config.js';
import { globMatch, matchesEverything } from './glob.js';
import { obj, str } from './identify.js';
import type { JsonObject, Violation } from './types.js';
import { parseYaml11 } from './yaml11.js';

export const EXCLUSIONS_KEY = 'resource.exclusions';

interface Filtered {
  apiGroups: string[];
  kinds: string[];
  clusters: string[];
}

type Parsed = { ok: true; entries: Filtered[]; raw: unknown[] } | { ok: false; error: string };

const FIELDS = { apigroups: 'apiGroups', kinds: 'kinds', clusters: 'clusters' } as const;

/**
 * Reads resource.exclusions the way Argo CD does (sigs.k8s.io/yaml into []FilteredResource):
 * YAML 1.1, keys matched case-insensitively, unknown keys ignored, wrong types are an error.
 */
export function parseExclusions(text: string, config: PolicyConfig): Parsed {
  const parsed = parseYaml11(text, yamlLimits(config));
  if (!parsed.ok) return { ok: false, error: `${EXCLUSIONS_KEY} ${parsed.error}` };
  if (parsed.value === null || parsed.value === undefined) return { ok: true, entries: [], raw: [] };
  if (!Array.isArray(parsed.value)) return { ok: false, error: `${EXCLUSIONS_KEY} is not a list` };
  const entries: Filtered[] = [];
  for (const [i, item] of parsed.value.entries()) {
    const entry: Filtered = { apiGroups: [], kinds: [], clusters: [] };
    if (item !== null && (typeof item !== 'object' || Array.isArray(item))) {
      return { ok: false, error: `${EXCLUSIONS_KEY}[${i}] is not a mapping` };
    }
    for (const [k, v] of Object.entries(obj(item))) {
      const field = FIELDS[k.toLowerCase() as keyof typeof FIELDS];
      if (!field || v === null) continue;
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
        return { ok: false, error: `${EXCLUSIONS_KEY}[${i}].${k} is not a list of strings` };
      }
      entry[field] = v as string[];
    }
    entries.push(entry);
  }
  return { ok: true, entries, raw: parsed.value };
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

function candidates(text: string, want: ExclusionEntry): string[] {
  const out: string[] = [];
  if (text.trim() === '') return [blockEntry(want, '')];
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false });
  const root = doc.contents;
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
  if (parsed.entries.some((e) => covers(e, want))) return { kind: 'covered' };

  let patchedText: string | null = null;
  for (const candidate of candidates(text, want)) {
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
