// What every value-based rule shares: the view of one rendered source, how a value reads in a Go
// template, and "the value the agent reads for a cilium-config key" (the chart's key plus the
// extraConfig entries viper reads as the same option).
import { goTrimSpace } from './gostrings.js';
import type { RuleId, Violation } from './types.js';
import type { RenderSource } from './identify.js';
import type { EffectiveValues, Lookup } from './values/effective.js';

export interface SourceView {
  src: RenderSource;
  ev: EffectiveValues;
}

export type Unknown = Lookup & { state: 'unknown' };

/** Turns a lookup that cannot be decided into a warning-strength violation. */
export function unknownViolation(rule: RuleId, key: string, lookup: Unknown, want: string): Violation {
  return {
    rule,
    path: lookup.origin.fieldPath,
    subject: key,
    certain: false,
    message: `${key} cannot be known before the sync: it may come from ${lookup.why}; pin ${key}: ${want} in valuesObject or parameters`,
  };
}

export function describeValue(v: unknown): string {
  return v === undefined ? 'unset' : JSON.stringify(v);
}

/** Go template `toString` (sprig strval) of a Helm value. */
export function helmToString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** Go text/template truth (`{{ if x }}`): false, 0, "", nil and empty lists and maps are false. */
export function goTruth(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

const EXTRA_CONFIG = ['extraConfig'] as const;

/** One line of cilium-config that the agent reads as the option: the chart's own key or an extraConfig entry. */
export interface ConfigEntry {
  /** The key as written in cilium-config. */
  key: string;
  /** The content the agent reads (trimmed as its file reader does); null when it cannot be known. */
  value: string | null;
  raw: unknown;
  path: string;
  /** Unknown entries: why. */
  lookup?: Unknown;
}

export type ConfigValue =
  /** The extraConfig map itself cannot be known at this key. */
  | { state: 'unknown'; lookup: Unknown; entries: ConfigEntry[] }
  /** An extraConfig entry is not a string: the API server refuses cilium-config. */
  | { state: 'not-string'; entry: ConfigEntry; entries: ConfigEntry[] }
  /** Some entry cannot be known (the others are listed). */
  | { state: 'partly-unknown'; entries: ConfigEntry[] }
  /** Several spellings with different values: viper's choice is a coin toss. */
  | { state: 'conflict'; entries: ConfigEntry[] }
  /** One agreed value, or none at all (`value` null: the option is not in cilium-config). */
  | { state: 'known'; value: string | null; entries: ConfigEntry[] };

/**
 * The value the agent reads for cilium-config option `key`. `chart` is what the chart writes for it
 * (null: the chart does not write the key). extraConfig is appended after the chart's keys, so the
 * same key replaces it, and a case variant becomes a second file that viper reads as the same
 * option (option names are case-insensitive).
 */
export function ciliumConfigValue(ev: EffectiveValues, key: string, chart: ConfigEntry | null): ConfigValue {
  const extra = ev.get(EXTRA_CONFIG);
  const entries: ConfigEntry[] = [];
  if (extra.state === 'unknown') {
    const own = ev.get(['extraConfig', key]);
    if (own.state === 'unknown') return { state: 'unknown', lookup: own, entries: chart ? [chart] : [] };
  }
  const extraKeys = ev.keysAt(EXTRA_CONFIG);
  if (extraKeys.length === 0) {
    // The usual case, no extraConfig: what the chart writes is all there is (as the loop below
    // would find, without its map and set).
    if (!chart) return { state: 'known', value: null, entries };
    entries.push(chart);
    return chart.value === null ? { state: 'partly-unknown', entries } : { state: 'known', value: chart.value, entries };
  }
  const byKey = new Map<string, ConfigEntry>();
  if (chart) byKey.set(key, chart);
  for (const k of extraKeys) {
    if (k.toLowerCase() !== key.toLowerCase()) continue;
    const e = ev.get(['extraConfig', k]);
    const v = e.state === 'set' ? e.value : undefined;
    const entry: ConfigEntry =
      e.state === 'unknown'
        ? { key: k, value: null, raw: undefined, path: e.origin.fieldPath, lookup: e }
        : { key: k, value: goTrimSpace(helmToString(v)), raw: v, path: e.origin.fieldPath };
    if (e.state === 'set' && typeof v !== 'string') {
      // toYaml writes it unquoted: ConfigMap data must be strings, so the API server refuses cilium-config.
      return { state: 'not-string', entry, entries: [...byKey.values(), entry] };
    }
    byKey.set(k, entry);
  }
  entries.push(...byKey.values());
  if (entries.some((e) => e.value === null)) return { state: 'partly-unknown', entries };
  const values = new Set(entries.map((e) => e.value));
  if (values.size > 1) return { state: 'conflict', entries };
  return { state: 'known', value: entries.length === 0 ? null : (entries[0]?.value ?? null), entries };
}
