// L1: settings Cilium's docs say must not change on a running cluster, judged as the agent reads
// them: the cilium-config the chart writes for the Application (chart defaults, every Helm layer,
// extraConfig overrides; templates/cilium-configmap.yaml of 1.18) against what already runs.
//
// "Already runs" is the live cilium-config (the cluster view, when the Application deploys to this
// cluster) and, on UPDATE, what the old Application rendered. Sources:
// - ipam: docs network/concepts/ipam "Don't change the IPAM mode of an existing cluster";
// - clusterPoolIPv4PodCIDRList / MaskSize: ipam/cluster-pool.rst "Don't change any existing
//   elements of the clusterPoolIPv4PodCIDRList list … Changing clusterPoolIPv4MaskSize is also not
//   possible";
// - cluster name and id: clustermesh.rst "If you change the cluster ID and/or cluster name in a
//   cluster with running workloads, you will need to restart all workloads";
// - routing mode, tunnel protocol, native-routing CIDR, encryption: no doc forbids a live change, but
//   pod traffic between nodes changes path while agents roll: a warning.
import type { ClusterView } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import { goFields, goTrimSpace } from './gostrings.js';
import { deploysHere, type RenderSource } from './identify.js';
import type { JsonObject, Violation } from './types.js';
import type { EffectiveValues, Lookup } from './values/effective.js';
import { ciliumConfigValue, goTruth, helmToString, type ConfigEntry, type Unknown } from './view.js';

type Strength = 'deny' | 'warn';

/** What the chart computes for one cilium-config key from the values: its text, absent (null), or unknown. */
type ChartValue = { known: true; value: string | null; raw: unknown; path: string } | { known: false; lookup: Unknown };

export interface Setting {
  /** The cilium-config key, as the chart writes it. */
  key: string;
  /** The Helm values that set it, for messages. */
  values: string;
  strength: Strength;
  /** What the agent runs with when the key is absent from cilium-config. */
  absent: string;
  /** Existing list elements must stay (appending is allowed); compared only when both sides have the key. */
  list?: true;
  /** Compared only when both sides have the key (it exists only in one IPAM mode). */
  onlyWhenBoth?: true;
  boolean?: true;
  chart(ev: EffectiveValues): ChartValue;
}

type Read = { known: true; value: unknown; path: string } | { known: false; lookup: Unknown };

function read(ev: EffectiveValues, path: string[]): Read {
  const l: Lookup = ev.get(path);
  if (l.state === 'unknown') return { known: false, lookup: l };
  return { known: true, value: l.value, path: l.origin.fieldPath };
}

/**
 * How the template prints a value (`quote`, `{{ x }}`). (From 1e6 on, a float64 from YAML prints as
 * 1e+06 and an int64 from --set as 1000000; no setting here takes such numbers, and any of them
 * differs from what a working cluster runs.)
 */
const goPrint = helmToString;

const known = (value: string | null, r: { value: unknown; path: string }): ChartValue => ({ known: true, value, raw: r.value, path: r.path });

/** `{{ x | default d | quote }}`-like: the first truthy value, else the fallback. */
function orDefault(ev: EffectiveValues, path: string[], fallback: () => ChartValue): ChartValue {
  const r = read(ev, path);
  if (!r.known) return r;
  return goTruth(r.value) ? known(goPrint(r.value), r) : fallback();
}

/** `$ipam := coalesce .Values.ipam.mode "cluster-pool"` (the template's IPAM mode, before aksbyocni). */
function templateIpam(ev: EffectiveValues): ChartValue {
  return orDefault(ev, ['ipam', 'mode'], () => ({ known: true, value: 'cluster-pool', raw: undefined, path: 'ipam.mode' }));
}

/** sprig `join " "` of a list (nil items skipped) or of a single value. */
function joinList(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.filter((x) => x !== null && x !== undefined).map(goPrint).join(' ');
  return goPrint(v);
}

/** A key the chart writes only in cluster-pool IPAM with IPv4 on. */
function clusterPool(ev: EffectiveValues, path: string[], print: (v: unknown) => string): ChartValue {
  const ipam = templateIpam(ev);
  if (!ipam.known) return ipam;
  if (ipam.value !== 'cluster-pool') return { known: true, value: null, raw: undefined, path: ipam.path };
  const v4 = read(ev, ['ipv4', 'enabled']);
  if (!v4.known) return v4;
  if (!goTruth(v4.value)) return known(null, v4);
  const r = read(ev, path);
  return r.known ? known(print(r.value), r) : r;
}

/** enable-ipsec / enable-wireguard: written when encryption is on with that type. */
function encryption(ev: EffectiveValues, type: string): ChartValue {
  const on = read(ev, ['encryption', 'enabled']);
  if (!on.known) return on;
  if (!goTruth(on.value)) return known(null, on);
  const t = read(ev, ['encryption', 'type']);
  if (!t.known) return t;
  return t.value === type ? known(goPrint(on.value), on) : known(null, t);
}

export const LIVE_SETTINGS: readonly Setting[] = [
  {
    key: 'ipam',
    values: 'ipam.mode',
    strength: 'deny',
    absent: 'cluster-pool',
    chart(ev) {
      const aks = read(ev, ['aksbyocni', 'enabled']);
      if (!aks.known) return aks;
      return goTruth(aks.value) ? known('cluster-pool', aks) : templateIpam(ev);
    },
  },
  { key: 'cluster-name', values: 'cluster.name', strength: 'deny', absent: 'default', chart: (ev) => { const r = read(ev, ['cluster', 'name']); return r.known ? known(goPrint(r.value), r) : r; } },
  {
    key: 'cluster-id',
    values: 'cluster.id',
    strength: 'deny',
    absent: '0',
    chart(ev) {
      // `{{- if hasKey .Values.cluster "id" }}`: a key deleted with null is not written.
      const r = read(ev, ['cluster', 'id']);
      if (!r.known) return r;
      return known(r.value === undefined || r.value === null ? null : goPrint(r.value), r);
    },
  },
  {
    key: 'cluster-pool-ipv4-cidr',
    values: 'ipam.operator.clusterPoolIPv4PodCIDRList',
    strength: 'deny',
    absent: '',
    list: true,
    onlyWhenBoth: true,
    chart: (ev) => clusterPool(ev, ['ipam', 'operator', 'clusterPoolIPv4PodCIDRList'], joinList),
  },
  {
    key: 'cluster-pool-ipv4-mask-size',
    values: 'ipam.operator.clusterPoolIPv4MaskSize',
    strength: 'deny',
    absent: '',
    onlyWhenBoth: true,
    chart: (ev) => clusterPool(ev, ['ipam', 'operator', 'clusterPoolIPv4MaskSize'], goPrint),
  },
  {
    key: 'routing-mode',
    values: 'routingMode',
    strength: 'warn',
    absent: 'tunnel',
    chart: (ev) =>
      orDefault(ev, ['routingMode'], () => {
        const gke = read(ev, ['gke', 'enabled']);
        return gke.known ? known(goTruth(gke.value) ? 'native' : 'tunnel', gke) : gke;
      }),
  },
  { key: 'tunnel-protocol', values: 'tunnelProtocol', strength: 'warn', absent: 'vxlan', chart: (ev) => orDefault(ev, ['tunnelProtocol'], () => ({ known: true, value: 'vxlan', raw: undefined, path: 'tunnelProtocol' })) },
  {
    key: 'ipv4-native-routing-cidr',
    values: 'ipv4NativeRoutingCIDR',
    strength: 'warn',
    absent: '',
    chart: (ev) => orDefault(ev, ['ipv4NativeRoutingCIDR'], () => ({ known: true, value: null, raw: undefined, path: 'ipv4NativeRoutingCIDR' })),
  },
  { key: 'enable-ipsec', values: 'encryption.enabled / encryption.type', strength: 'warn', absent: 'false', boolean: true, chart: (ev) => encryption(ev, 'ipsec') },
  { key: 'enable-wireguard', values: 'encryption.enabled / encryption.type', strength: 'warn', absent: 'false', boolean: true, chart: (ev) => encryption(ev, 'wireguard') },
];

/** What the agent reads for one setting of one rendered source. */
export type LiveValue =
  | { state: 'known'; value: string | null; path: string }
  /** Several spellings in cilium-config with different values: the agent takes either. */
  | { state: 'ambiguous'; values: string[]; path: string }
  /** `orders`: when it depends on the order of parameters (a Go map), the value in each order. */
  | { state: 'unknown'; path: string; why: string; orders?: LiveValue[] }
  /** A non-string extraConfig value (this key's or another's): the API server refuses cilium-config, nothing changes. */
  | { state: 'refused'; path: string };

/**
 * The values of every L1 setting as the agent would read them from the cilium-config this source
 * renders. Once per view, kept with it: a view is shared by every review of the same source content
 * (application.ts sourceValues), so the second and later reviews read this instead of walking the
 * settings again. Read only: callers copy (merged) or read (agreed, align) it.
 */
const RENDERED = Symbol('liveConfig');

export function liveConfig(ev: EffectiveValues): ReadonlyMap<string, LiveValue> {
  return ev.memo(RENDERED, () => renderLiveConfig(ev));
}

function renderLiveConfig(ev: EffectiveValues): Map<string, LiveValue> {
  const out = new Map<string, LiveValue>();
  // ConfigMap data are strings: one extraConfig value of any key that toYaml writes as a boolean,
  // number, list or map makes the API server refuse the whole cilium-config (Argo CD's dry run fails
  // the sync first), so no key changes at all. (A null is stored as "".)
  const refusing = ev
    .keysAt(['extraConfig'])
    .map((k) => ev.get(['extraConfig', k]))
    .find((l) => l.state === 'set' && typeof l.value !== 'string');
  if (refusing) {
    for (const s of LIVE_SETTINGS) out.set(s.key, { state: 'refused', path: refusing.origin.fieldPath });
    return out;
  }
  for (const s of LIVE_SETTINGS) {
    const c = s.chart(ev);
    const chart: ConfigEntry | null = c.known
      ? c.value === null
        ? null
        : { key: s.key, value: goTrimSpace(c.value), raw: c.raw, path: c.path }
      : { key: s.key, value: null, raw: undefined, path: c.lookup.origin.fieldPath, lookup: c.lookup };
    const cfg = ciliumConfigValue(ev, s.key, chart);
    if (cfg.state === 'unknown') out.set(s.key, { state: 'unknown', path: cfg.lookup.origin.fieldPath, why: cfg.lookup.why });
    else if (cfg.state === 'not-string') out.set(s.key, { state: 'refused', path: cfg.entry.path });
    else if (cfg.state === 'partly-unknown') {
      const u = cfg.entries.find((e) => e.value === null);
      out.set(s.key, { state: 'unknown', path: u?.path ?? s.values, why: u?.lookup?.why ?? `${s.values} cannot be known before the sync` });
    } else if (cfg.state === 'conflict') {
      out.set(s.key, { state: 'ambiguous', values: [...new Set(cfg.entries.map((e) => e.value ?? ''))], path: cfg.entries.find((e) => e !== chart)?.path ?? s.values });
    } else {
      const entry = cfg.entries.find((e) => e.value === cfg.value && e !== chart) ?? chart;
      out.set(s.key, { state: 'known', value: cfg.value, path: entry?.path ?? (c.known ? c.path : s.values) });
    }
  }
  return out;
}

/** runningConfig() of the cluster view's cilium-config, which every review compares with until it changes. */
const running = new WeakMap<Record<string, string>, ReadonlyMap<string, LiveValue>>();

function runningOf(data: Record<string, string>): ReadonlyMap<string, LiveValue> {
  let found = running.get(data);
  if (!found) running.set(data, (found = runningConfig(data)));
  return found;
}

/** The same settings in a running cilium-config (option names case-insensitive, contents trimmed). */
export function runningConfig(data: Record<string, string>): Map<string, LiveValue> {
  const out = new Map<string, LiveValue>();
  for (const s of LIVE_SETTINGS) {
    const values = [...new Set(Object.entries(data).filter(([k]) => k.toLowerCase() === s.key).map(([, v]) => goTrimSpace(v)))];
    const path = `cilium-config ${s.key}`;
    out.set(s.key, values.length > 1 ? { state: 'ambiguous', values, path } : { state: 'known', value: values[0] ?? null, path });
  }
  return out;
}

/** strconv.ParseBool, which the agent's option parsing uses for booleans. */
function parseBool(s: string): string {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return 'true';
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return 'false';
    default:
      return s;
  }
}

function normal(s: Setting, v: string | null): string {
  const x = v ?? s.absent;
  return s.boolean ? parseBool(x) : x;
}

export function show(s: Setting, v: string | null): string {
  return v === null ? `unset (the agent uses ${JSON.stringify(s.absent)})` : JSON.stringify(v);
}

/** Why `next` is a change of `running` that L1 reports, or null. */
export function changed(s: Setting, running: string | null, next: string | null): string | null {
  if (s.onlyWhenBoth && (running === null || next === null)) return null;
  if (s.list) {
    const was = goFields(running ?? '');
    const now = goFields(next ?? '');
    const i = was.findIndex((x, n) => now[n] !== x);
    if (i < 0) return null;
    return now.includes(was[i]!) ? `moves the existing entry ${was[i]}` : `drops or changes the existing entry ${was[i]}`;
  }
  return normal(s, running) === normal(s, next) ? null : 'changes it';
}

interface Reference {
  values: ReadonlyMap<string, LiveValue>;
  /** "the running cilium-config" / "the previous Application". */
  describe: string;
  what: 'running' | 'previous';
  /** A stale view may no longer be what runs: what it shows can only warn. */
  stale?: boolean;
}

/** The one value several rendered sources agree on, if they all know it. */
function agreed(maps: Array<ReadonlyMap<string, LiveValue>>, key: string): LiveValue | null {
  // A loop, not map and filter: L1 asks this for every setting of every UPDATE of the Cilium Application.
  let first: LiveValue | null = null;
  for (const m of maps) {
    const v = m.get(key);
    if (v === undefined || v.state === 'refused') continue;
    if (v.state !== 'known') return null;
    if (first === null) first = v;
    else if (v.value !== (first as { value: string | null }).value) return null;
  }
  return first;
}

export interface RenderedConfig {
  src: RenderSource;
  /** One map per Go-map-order alternative of the source's values (usually one). */
  alternatives: Array<ReadonlyMap<string, LiveValue>>;
}

/** Merges a source's alternatives: a key on which they disagree is unknown. */
function merged(r: RenderedConfig): ReadonlyMap<string, LiveValue> {
  const [first, ...rest] = r.alternatives;
  if (!first) return new Map();
  if (rest.length === 0) return first; // the usual case: one order, nothing to merge
  const out = new Map(first);
  for (const [k, v] of first) {
    if (rest.some((m) => JSON.stringify(m.get(k)) !== JSON.stringify(v))) {
      const orders = r.alternatives.map((m) => m.get(k)).filter((x): x is LiveValue => x !== undefined);
      out.set(k, { state: 'unknown', path: v.path, why: 'it depends on the order Argo CD passes parameters in (a Go map)', orders });
    }
  }
  return out;
}

/**
 * L1 for the sources an Application renders (`render(app, true)`: its spec and a pending sync),
 * against what runs: the live cilium-config when `cluster` has one and the Application deploys
 * here, and what the old Application rendered (`render(oldApp, false)`) on UPDATE.
 */
export function liveViolations(
  app: JsonObject,
  oldApp: JsonObject | null,
  render: (app: JsonObject, operation: boolean) => RenderedConfig[],
  config: PolicyConfig,
  cluster?: ClusterView,
): Violation[] {
  const here = cluster !== undefined && deploysHere(app, config);
  // Nothing to compare with: no need to work out what the Application renders.
  if (!oldApp && !(here && (cluster.ciliumConfig || cluster.unavailable))) return [];
  const rendered = render(app, true);
  const previous = oldApp ? render(oldApp, false) : null;
  const refs: Reference[] = [];
  const out: Violation[] = [];
  if (here && cluster.ciliumConfig) {
    refs.push({ values: runningOf(cluster.ciliumConfig.data), describe: `the running cilium-config${cluster.stale ? ' (as last seen; the view may be stale)' : ''}`, what: 'running', stale: cluster.stale === true });
  } else if (here && cluster.unavailable && rendered.length > 0) {
    out.push({
      rule: 'L1',
      path: rendered[0]!.src.path,
      subject: 'cilium-config vs running',
      certain: false,
      message: `cilium-guard cannot compare this Application with the running cilium-config (${cluster.unavailable}), so a change of IPAM mode, cluster name or id, or pod CIDRs would go unseen; check it with cilium-guard align --live`,
    });
  }
  if (previous && previous.length > 0) {
    const maps = previous.map(merged);
    const values = new Map<string, LiveValue>();
    for (const s of LIVE_SETTINGS) {
      const v = agreed(maps, s.key);
      if (v) values.set(s.key, v);
    }
    refs.push({ values, describe: 'the previous version of this Application', what: 'previous' });
  }
  if (refs.length === 0) return out;
  const ordered = [...refs].sort((a, b) => Number(a.stale === true) - Number(b.stale === true));
  for (const r of rendered) {
    const mine = merged(r);
    for (const s of LIVE_SETTINGS) {
      const next = mine.get(s.key);
      if (!next || next.state === 'refused') continue;
      // One finding per distinct value that runs: where the old Application and the running
      // cilium-config agree, the first (a current view before a stale one) speaks for both.
      let said: string[] | null = null; // the usual case, one reference, needs none
      for (const ref of ordered) {
        const was = ref.values.get(s.key);
        if (!was || was.state !== 'known') continue;
        if (ordered.length > 1) {
          const n = normal(s, was.value);
          if (said?.includes(n)) continue;
          (said ??= []).push(n);
        }
        // The usual answer, found before any message is written: a known value that changes nothing.
        if (next.state === 'known' && changed(s, was.value, next.value) === null) continue;
        const same = ordered.filter((o) => o !== ref && o.values.get(s.key)?.state === 'known' && normal(s, (o.values.get(s.key) as { value: string | null }).value) === normal(s, was.value));
        const where = same.length > 0 ? `${ref.describe} and ${same.map((o) => o.describe).join(' and ')}` : ref.describe;
        const subject = `cilium-config ${s.key} vs ${ref.what}`;
        const keep = was.value === null ? `leave ${s.values} as it was` : `set ${s.values} so that ${s.key} stays ${JSON.stringify(was.value)}`;
        type Seen = Extract<LiveValue, { state: 'known' | 'ambiguous' }>;
        /** How `v` changes the reference, or null. */
        const changeOf = (v: Seen): string | null => {
          const candidates = v.state === 'ambiguous' ? v.values : [v.value];
          // Spellings that list different entries: the agent takes one of them at each start (Go's map
          // order), so what one spelling appends can vanish again on a restart, even when every
          // spelling alone would only append.
          const flips =
            s.list && v.state === 'ambiguous' && was.value !== null && new Set(v.values.map((x) => goFields(x).join(' '))).size > 1
              ? 'alternates between them at each agent start (either spelling may win), so entries would come and go'
              : null;
          return candidates.map((c) => changed(s, was.value, c)).find((x) => x !== null) ?? flips;
        };
        const violation = (v: Seen, how: string, note = ''): Violation => {
          const shown = v.state === 'ambiguous' ? `${v.values.map((x) => JSON.stringify(x)).join(' or ')} (several spellings in cilium-config; the agent takes either)` : show(s, v.value);
          const deny = s.strength === 'deny';
          return {
            rule: 'L1',
            path: next.path,
            subject,
            value: v.state === 'known' ? v.value : v.values,
            certain: deny && !ref.stale,
            message: deny
              ? `this would make cilium-config ${s.key} ${shown}${note}, which ${how} from ${show(s, was.value)} in ${where}; ${SINCE[s.key] ?? 'Cilium does not support changing it on a running cluster'}: ${keep}`
              : `this would make cilium-config ${s.key} ${shown}${note}, not ${show(s, was.value)} as in ${where}; pod traffic between nodes changes path while the agents roll (only a warning): ${keep} unless the change is planned`,
          };
        };
        if (next.state === 'unknown') {
          if (s.strength === 'warn') continue;
          // The value depends on the parameter order, but if every order changes it, the change is
          // certain (as application.ts judges the other rules: broken in every order that renders).
          const orders = (next.orders ?? []).filter((o): o is Seen => o.state === 'known' || o.state === 'ambiguous');
          const hows = orders.map(changeOf);
          if (orders.length > 0 && orders.length === next.orders?.length && hows.every((h) => h !== null)) {
            out.push(violation(orders[0]!, hows[0]!, ' (in one order of the parameters; every order Argo CD may pass them in changes it)'));
            continue;
          }
          out.push({
            rule: 'L1',
            path: next.path,
            subject,
            certain: false,
            message: `${s.key} (${s.values}) cannot be known before the sync: ${next.why}; ${where} ${same.length > 0 ? 'have' : 'has'} ${show(s, was.value)}, and Cilium must not change it on a running cluster: pin it in valuesObject or parameters`,
          });
          continue;
        }
        const how = changeOf(next);
        if (!how) continue;
        out.push(violation(next, how));
      }
    }
  }
  return out;
}

export const SINCE: Record<string, string> = {
  ipam: 'changing the IPAM mode of a running cluster may cause persistent loss of connectivity (Cilium docs, IPAM)',
  'cluster-name': 'a new cluster name on a running cluster means restarting every workload (Cilium docs, Cluster Mesh)',
  'cluster-id': 'the cluster ID is part of every security identity: changing it on a running cluster means restarting every workload (Cilium docs, Cluster Mesh)',
  'cluster-pool-ipv4-cidr': 'existing clusterPoolIPv4PodCIDRList entries must never change; only append new ones at the end (Cilium docs, cluster-pool IPAM)',
  'cluster-pool-ipv4-mask-size': 'clusterPoolIPv4MaskSize cannot change on a running cluster (Cilium docs, cluster-pool IPAM)',
};
