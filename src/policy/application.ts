// R1-R5, V1 and D1 on one Argo CD Application object. Every value-based rule reads one view: the
// effective Helm values of each rendered source, computed as Argo CD and Helm compute them
// (values/effective.ts).
import { yamlLimits, type PolicyConfig } from './config.js';
import { CHART_DEFAULTS_TREE, OBJECT_ANNOTATION_VALUES } from './data/cilium-chart.js';
import { goTrimSpace } from './gostrings.js';
import { ciliumApplicationReason, obj, operationSources, specSources, str, type RenderSource } from './identify.js';
import { checkSyncOptions } from './sync-options.js';
import { liveConfig, type RenderedConfig } from './live.js';
import { contentKey, sharedValuesFor } from './shared-values.js';
import { talosViolations } from './talos.js';
import type { JsonObject, RuleId, Violation } from './types.js';
import { appContext, type AppContext } from './values/argocd-helm.js';
import { effectiveValues, type EffectiveValues } from './values/effective.js';
import { ciliumConfigValue, describeValue, helmToString, unknownViolation, type ConfigEntry, type SourceView, type Unknown } from './view.js';


export { helmToString };

export const CASCADE_FINALIZERS = [
  'resources-finalizer.argocd.argoproj.io',
  'resources-finalizer.argocd.argoproj.io/foreground',
  'resources-finalizer.argocd.argoproj.io/background',
];

function hiddenLayerOf(src: RenderSource): string | null {
  if (src.kind === 'git-chart') {
    return `the chart directory ${str(src.source.path)} in Git (its values.yaml and .argocd-source*.yaml overrides) that cilium-guard cannot read`;
  }
  return null;
}

/** Sprig `default`'s notion of empty: such a namespaceOverride falls through to the release namespace. */
function sprigEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

/** R1: the namespace every Cilium object lands in (`namespaceOverride | default .Release.Namespace`). */
function checkNamespace(view: SourceView, config: PolicyConfig): Violation[] {
  const want = config.cilium.namespace;
  const { opts } = view.ev;
  const releaseNs = opts.namespace;
  const override = view.ev.get(['namespaceOverride']);
  if (override.state === 'set' && !sprigEmpty(override.value)) {
    const s = helmToString(override.value);
    if (s === want) return [];
    return [
      {
        rule: 'R1',
        path: override.origin.fieldPath,
        subject: 'namespace',
        value: override.value,
        certain: true,
        message: `namespaceOverride is ${describeValue(override.value)} (${override.origin.fieldPath}), which moves every Cilium object out of ${want}, so Cilium would be installed a second time; remove it or set it to "${want}"`,
      },
    ];
  }
  const unknownOverride = override.state === 'unknown' ? override : null;
  if (releaseNs === want) {
    return unknownOverride ? [unknownViolation('R1', 'namespaceOverride', unknownOverride, `"${want}" (or leave it empty)`)] : [];
  }
  const certain = unknownOverride === null;
  const maybe = certain ? '' : ` (unless ${unknownOverride.why} sets namespaceOverride: ${want})`;
  if (releaseNs === '') {
    return [
      {
        rule: 'R1',
        path: 'spec.destination.namespace',
        subject: 'namespace',
        value: '',
        certain,
        message: `spec.destination.namespace is empty, so Helm renders Cilium into its default namespace, not ${want}${maybe}; set spec.destination.namespace: ${want}`,
      },
    ];
  }
  const field = opts.namespacePath;
  return [
    {
      rule: 'R1',
      path: field,
      subject: 'namespace',
      value: releaseNs,
      certain,
      message: `${field} is "${releaseNs}", so Cilium would be installed a second time outside ${want}${maybe}; set it to "${want}"${field.endsWith('helm.namespace') ? ' or remove it' : ''}`,
    },
  ];
}

function checkReleaseName(view: SourceView, config: PolicyConfig): Violation[] {
  const want = config.cilium.releaseName;
  const { name, namePath: path } = view.ev.opts;
  const explicit = path !== 'metadata.name';
  if (name.includes('{{')) {
    return [
      {
        rule: 'R2',
        path,
        subject: 'releaseName',
        value: name,
        certain: true,
        message: `${path} is "${name}": Helm runs the release name through its template engine, so the real name cannot be checked; write the literal "${want}"`,
      },
    ];
  }
  if (name === want) return [];
  const how = explicit
    ? `set ${view.src.path}.helm.releaseName: ${want}`
    : `Argo CD uses metadata.name "${name}" as the release name; set ${view.src.path}.helm.releaseName: ${want}`;
  return [
    {
      rule: 'R2',
      path,
      subject: 'releaseName',
      value: name,
      certain: true,
      message: `Helm release name is "${name}" but Talos installed Cilium as release "${want}"; a different name installs a second Cilium. ${how}`,
    },
  ];
}

function kprOn(value: string, config: PolicyConfig): boolean {
  return config.cilium.kubeProxyReplacementOn.includes(value);
}

const KPR_FLAG = /^--kube-proxy-replacement(?:=([\s\S]*))?$/;
const KPR_ENV = 'CILIUM_KUBE_PROXY_REPLACEMENT';

/**
 * R4: the kube-proxy replacement the agent runs with. Like the agent (cobra/viper): the last
 * `--kube-proxy-replacement` flag in extraArgs wins; else the last CILIUM_KUBE_PROXY_REPLACEMENT in
 * extraEnv; else cilium-config, where extraConfig (rendered last, option names read
 * case-insensitively) overrides what the chart writes from kubeProxyReplacement.
 */
function checkKubeProxyReplacement(view: SourceView, config: PolicyConfig): Violation[] {
  const ev = view.ev;
  const fix = 'set kubeProxyReplacement: true (this cluster runs no kube-proxy)';
  const bad = (path: string, value: unknown, message: string, certain = true): Violation[] => [
    { rule: 'R4', path, subject: 'kubeProxyReplacement', value, certain, message },
  ];

  // The chart renders `toString .Values.kubeProxyReplacement` (default "false") and refuses anything
  // but "true" or "false" (cilium-configmap.yaml) before any override could matter.
  const kpr = ev.get(['kubeProxyReplacement']);
  // Unknown (null) when invisible layers or parameter order decide it; overrides may still decide.
  const chartValue = kpr.state === 'unknown' ? null : kpr.state === 'set' && helmToString(kpr.value) !== '' ? helmToString(kpr.value) : 'false';
  // (A value the policy counts as on, such as "strict" for a 1.14 chart, is the chart's to accept.)
  if (chartValue !== null && chartValue !== 'true' && chartValue !== 'false' && !kprOn(chartValue, config)) {
    const hint =
      chartValue.toLowerCase() === 'true'
        ? ' (the chart compares case-sensitively)'
        : chartValue === 'strict'
          ? ' ("strict" was only honoured by Cilium 1.14)'
          : '';
    const raw = kpr.state === 'set' ? kpr.value : undefined;
    return bad(kpr.origin.fieldPath, raw, `kubeProxyReplacement is ${describeValue(raw)} at ${kpr.origin.fieldPath}${hint}; the chart accepts only true or false and refuses to render anything else; ${fix}`);
  }

  const args = ev.get(['extraArgs']);
  if (args.state === 'unknown') return [unknownViolation('R4', 'extraArgs', args, 'a list without --kube-proxy-replacement')];
  if (args.state === 'set' && Array.isArray(args.value)) {
    let flag: { index: number; value: string } | null = null;
    args.value.forEach((a, i) => {
      const m = typeof a === 'string' ? KPR_FLAG.exec(a) : null;
      if (m) flag = { index: i, value: m[1] ?? helmToString((args.value as unknown[])[i + 1]) };
    });
    if (flag !== null) {
      const f: { index: number; value: string } = flag;
      if (kprOn(f.value, config)) return [];
      return bad(
        `${args.origin.fieldPath}`,
        (args.value as unknown[])[f.index],
        `extraArgs[${f.index}] ${JSON.stringify((args.value as unknown[])[f.index])} sets kube-proxy replacement to ${JSON.stringify(f.value)} on the agent's command line, which wins over everything else; remove it`,
      );
    }
  }

  const envs = ev.get(['extraEnv']);
  if (envs.state === 'unknown') return [unknownViolation('R4', 'extraEnv', envs, `a list without ${KPR_ENV}`)];
  if (envs.state === 'set' && Array.isArray(envs.value)) {
    let hit: { index: number; entry: JsonObject } | null = null;
    envs.value.forEach((e, i) => {
      if (str(obj(e).name) === KPR_ENV) hit = { index: i, entry: obj(e) };
    });
    if (hit !== null) {
      const h: { index: number; entry: JsonObject } = hit;
      if (h.entry.valueFrom !== undefined) {
        return bad(envs.origin.fieldPath, h.entry.valueFrom, `extraEnv[${h.index}] takes ${KPR_ENV} from valueFrom, which cilium-guard cannot read; remove it`, false);
      }
      if (kprOn(helmToString(h.entry.value), config)) return [];
      return bad(
        envs.origin.fieldPath,
        h.entry.value,
        `extraEnv[${h.index}] sets ${KPR_ENV}=${describeValue(h.entry.value)}, which overrides cilium-config in the agent; remove it`,
      );
    }
  }

  // cilium-config: the chart writes `kube-proxy-replacement` from kubeProxyReplacement; extraConfig
  // can replace it or add case variants (view.ts ciliumConfigValue).
  const chartEntry: ConfigEntry = { key: 'kube-proxy-replacement', value: chartValue, raw: kpr.state === 'set' ? kpr.value : undefined, path: kpr.origin.fieldPath, ...(kpr.state === 'unknown' ? { lookup: kpr } : {}) };
  const cfg = ciliumConfigValue(ev, 'kube-proxy-replacement', chartEntry);
  if (cfg.state === 'unknown') return [unknownViolation('R4', 'extraConfig.kube-proxy-replacement', cfg.lookup, 'true (or leave it out)')];
  if (cfg.state === 'not-string') {
    const { key: k, raw: v, path } = cfg.entry;
    return bad(path, v, `extraConfig["${k}"] is ${describeValue(v)}, not a string: ConfigMap data must be strings, so the API server refuses cilium-config and the sync fails; write it quoted ("true")`);
  }
  if (cfg.state === 'partly-unknown') {
    // The chart's own key is unknown: only an extraConfig variant that is off is bad in every case.
    const off = cfg.entries.find((e) => e.value !== null && !kprOn(e.value, config));
    if (off) {
      return bad(off.path, off.raw, `extraConfig["${off.key}"] is ${describeValue(off.raw)} (${off.path}); the agent reads option names case-insensitively, so beside the chart's kube-proxy-replacement this switches it off or makes it a coin toss; remove it`);
    }
    const unknown = cfg.entries.find((e) => e.lookup)?.lookup as Unknown;
    return [unknownViolation('R4', 'kubeProxyReplacement', unknown, 'true')];
  }
  if (cfg.state === 'conflict') {
    const keys = cfg.entries.map((e) => JSON.stringify(e.key)).join(' and ');
    const first = cfg.entries.find((e) => !kprOn(e.value as string, config)) ?? cfg.entries[0];
    return bad(first?.path ?? kpr.origin.fieldPath, first?.raw, `cilium-config would hold ${keys}, which the agent reads as one option (case-insensitively) with different values, so which one wins is a coin toss; set kubeProxyReplacement: true and remove the extraConfig variants`);
  }
  const entries = new Map(cfg.entries.map((e) => [e.key, e]));
  if (kprOn(cfg.value as string, config)) return [];
  const exact = entries.get('kube-proxy-replacement');
  if (exact && exact.path !== kpr.origin.fieldPath) {
    return bad(exact.path, exact.raw, `extraConfig["kube-proxy-replacement"] is ${describeValue(exact.raw)} (${exact.path}) and overrides kubeProxyReplacement in cilium-config; remove it or set it to "true"`);
  }
  if (kpr.state === 'default') {
    const why = kpr.why.endsWith('is not set, so the chart default applies') ? '' : ` (${kpr.why})`;
    return bad(kpr.origin.fieldPath, undefined, `kubeProxyReplacement is not set${why} and the chart default is false; ${fix}`);
  }
  const raw = kpr.state === 'set' ? kpr.value : undefined;
  return bad(kpr.origin.fieldPath, raw, `kubeProxyReplacement is ${describeValue(raw)} at ${kpr.origin.fieldPath}, which switches kube-proxy replacement off; ${fix}`);
}

/**
 * R4.endpoint: without kube-proxy the agent reaches the API server only through k8sServiceHost and
 * k8sServicePort. Empty (or unset) while kube-proxy replacement is on: the agent cannot reach the API
 * server at all, a denial. Another host or port (or one that cannot be seen) may work: a warning.
 */
function checkEndpoint(view: SourceView, config: PolicyConfig, kprIsOn: boolean): Violation[] {
  const ev = view.ev;
  const out: Violation[] = [];
  const ref = ev.get(['k8sServiceHostRef', 'name']);
  const pairs: Array<[string, string]> = [
    ['k8sServiceHost', config.cilium.k8sServiceHost],
    ['k8sServicePort', config.cilium.k8sServicePort],
  ];
  for (const [key, want] of pairs) {
    if (key === 'k8sServiceHost' && ref.state === 'set' && helmToString(ref.value) !== '') {
      out.push({
        rule: 'R4.endpoint',
        path: ref.origin.fieldPath,
        subject: key,
        value: ref.value,
        certain: false,
        message: `k8sServiceHostRef reads the API server host from a ConfigMap cilium-guard cannot see; on Talos use k8sServiceHost: ${want} (KubePrism)`,
      });
      continue;
    }
    const found = ev.get([key]);
    if (found.state === 'unknown') {
      out.push(unknownViolation('R4.endpoint', key, found, want));
      continue;
    }
    const s = found.state === 'set' ? helmToString(found.value) : '';
    if (s === want) continue;
    const is = found.state === 'set' && s !== '' ? describeValue(found.value) : 'empty';
    if (s === '' && kprIsOn) {
      out.push({
        rule: 'R4.endpoint',
        path: found.origin.fieldPath,
        subject: key,
        value: found.state === 'set' ? found.value : undefined,
        certain: true,
        message: `${key} is ${found.state === 'set' ? describeValue(found.value) : 'not set'} while kube-proxy replacement is on: with no kube-proxy the agent cannot reach the API server, so Cilium cannot start; set ${key}: ${want} (KubePrism)`,
      });
      continue;
    }
    out.push({
      rule: 'R4.endpoint',
      path: found.origin.fieldPath,
      subject: key,
      value: found.state === 'set' ? found.value : undefined,
      certain: false,
      message: `${key} is ${is}; on Talos, without kube-proxy, Cilium should reach the API server through KubePrism: set ${key}: ${want} (only a warning: another endpoint can work)`,
    });
  }
  return out;
}

const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';
const ANNOTATION_PATHS: ReadonlyArray<readonly string[]> = OBJECT_ANNOTATION_VALUES.map((dotted) => [...dotted.split('.'), SYNC_OPTIONS_ANNOTATION]);

/**
 * R3 through the chart: annotation values the chart writes onto its objects' own metadata, where
 * Argo CD reads per-object sync options (comma-separated, each trimmed; gitops-engine
 * GetAnnotationCSVs). `ServerSideApply=false` there switches server-side apply off for that object.
 */
function checkAnnotationBypass(view: SourceView, config: PolicyConfig): Violation[] {
  const out: Violation[] = [];
  for (const path of ANNOTATION_PATHS) {
    // 30 paths per source, almost never written: a walk first, the full lookup only for a hit.
    if (!view.ev.present(path)) continue;
    const dotted = path.slice(0, -1).join('.');
    const found = view.ev.get(path);
    if (found.state !== 'set') continue;
    const items = helmToString(found.value)
      .split(',')
      .map(goTrimSpace)
      .filter((s) => s !== '');
    const bad = items.filter((s) => s === 'ServerSideApply=false' || config.syncOptions.forbidden.includes(s));
    if (bad.length === 0) continue;
    out.push({
      rule: 'R3',
      path: found.origin.fieldPath,
      subject: `${dotted}.${SYNC_OPTIONS_ANNOTATION}`,
      value: found.value,
      certain: true,
      message: `the Helm value ${dotted} (${found.origin.fieldPath}) puts "${SYNC_OPTIONS_ANNOTATION}: ${bad.join(',')}" on Cilium's objects, which switches server-side apply off for them; remove it`,
    });
  }
  return out;
}

/**
 * What one review has rendered: the effective values of each source of each object it judges, so
 * that the rules here and L1 read one view. The engine makes one per review and drops it with the
 * review; a caller without one gets a fresh one per call (sharing then comes from sharedValues).
 *
 * Not a weak table keyed by the objects, as it was: V8's scavenger keeps a weak table's values
 * alive until a full collection, so every review's renderings (whole Evaluations, for content not
 * seen before) were copied, promoted and then swept by mark-compact. Under the benchmark's new
 * content that was a third of cilium-guard's CPU.
 */
export class ReviewRenderings {
  private readonly byObject = new Map<JsonObject, Map<string, EffectiveValues>>();

  constructor(readonly config: PolicyConfig) {}

  of(app: JsonObject): Map<string, EffectiveValues> {
    let found = this.byObject.get(app);
    if (!found) this.byObject.set(app, (found = new Map()));
    return found;
  }

  /**
   * An old object whose spec, name and namespace equal the new object's (engine.ts compares them for
   * every UPDATE): its spec sources render exactly as the new object's, with the same context
   * (appContext reads only the name, namespace and spec), so it reads the new object's renderings
   * instead of keying its own. Argo CD's sync, the Cilium Application's most frequent write, is one.
   * (Its `operation.` sources, if any, are its own: sourceValues keys them apart by path.)
   */
  sameSpec(oldApp: JsonObject, app: JsonObject): void {
    this.byObject.set(oldApp, this.of(app));
  }
}

function sourceValues(app: JsonObject, src: RenderSource, ctx: AppContext, config: PolicyConfig, review: ReviewRenderings): EffectiveValues {
  const bySource = review.config === config ? review.of(app) : new Map<string, EffectiveValues>();
  let ev = bySource.get(src.path);
  if (ev) return ev;
  const shared = sharedValuesFor(config);
  const key = contentKey(src, ctx);
  ev = key === null ? undefined : shared.get(key);
  if (!ev) {
    ev = effectiveValues(
      app,
      src.source,
      src.path,
      { version: config.helm.version, limits: yamlLimits(config), hidden: hiddenLayerOf(src), controlPlaneNamespaces: config.argocd.namespaces, chartDefaults: CHART_DEFAULTS_TREE },
      ctx,
    );
    if (key !== null) shared.offer(key, ev);
  }
  bySource.set(src.path, ev);
  return ev;
}

function checkSource(app: JsonObject, src: RenderSource, ctx: AppContext, config: PolicyConfig, review: ReviewRenderings): readonly Violation[] {
  if (src.kind === 'opaque') {
    return [
      {
        rule: 'R4',
        path: src.path,
        subject: 'kubeProxyReplacement',
        certain: false,
        message: `${src.path} renders Cilium through a Kustomize, plugin or directory source whose Helm settings cilium-guard cannot see; the cilium-config check is the only guard left. Prefer the Helm chart source`,
      },
    ];
  }
  const ev = sourceValues(app, src, ctx, config, review);
  return ev.memo(CHECKED, () => checkValues(src, ev, config));
}

/**
 * What checkValues found, kept with the view: it reads only the view and the source's path and kind,
 * all part of the view's key (sourceValues), and the policy the view was made for. Read only.
 */
const CHECKED = Symbol('checkValues');

function checkValues(src: RenderSource, ev: EffectiveValues, config: PolicyConfig): readonly Violation[] {
  const views = ev.alternatives();
  if (views.length === 1) return checkView({ src, ev }, config);
  // The outcome depends on the order Argo CD passes parameters in: a rule is broken for certain
  // only if it is broken in every order that renders; in some orders only, it is a warning.
  const results = views.map((v) => ({ view: v, found: checkView({ src, ev: v }, config) }));
  const rendering = results.filter((r) => r.view.error === null);
  if (rendering.length === 0) return results[0]?.found ?? [];
  const out: Violation[] = [];
  const failing = results.find((r) => r.view.error !== null);
  if (failing?.view.error) {
    out.push({ rule: 'V1', path: failing.view.error.fieldPath, certain: false, message: `${failing.view.error.message} (${failing.view.orderNote}; Argo CD passes parameters in random order)` });
  }
  const rules = new Set(rendering.flatMap((r) => r.found.map((v) => v.rule)));
  for (const rule of rules) {
    const inEvery = rendering.every((r) => r.found.some((v) => v.rule === rule && v.certain));
    for (const r of rendering) {
      const mine = r.found.filter((v) => v.rule === rule);
      if (mine.length === 0) continue;
      out.push(
        ...mine.map((v) =>
          inEvery
            ? { ...v, message: `${v.message} (whichever order Argo CD passes the parameters in)` }
            : { ...v, certain: false, message: `${v.message} (${r.view.orderNote}; Argo CD passes parameters in random order)` },
        ),
      );
      if (inEvery) break;
    }
  }
  return out;
}

function checkView(view: SourceView, config: PolicyConfig): Violation[] {
  const { ev } = view;
  if (ev.error) {
    return [
      { rule: 'V1', path: ev.error.fieldPath, certain: ev.error.certain, message: ev.error.message },
      ...checkReleaseName(view, config),
    ];
  }
  const kpr = checkKubeProxyReplacement(view, config);
  return [
    ...checkNamespace(view, config),
    ...checkReleaseName(view, config),
    ...kpr,
    // Kube-proxy replacement is on for certain only when R4 finds nothing at all.
    ...checkEndpoint(view, config, kpr.length === 0),
    ...checkAnnotationBypass(view, config),
    ...talosViolations(view, config),
  ];
}

/** Sources of a Cilium Application that render the chart (all of them if none is recognisable). */
function guardedSources(sources: RenderSource[]): RenderSource[] {
  const cilium = sources.filter((s) => s.cilium);
  return cilium.length > 0 ? cilium : sources;
}

function ignoredNote(v: Violation): Violation {
  return {
    ...v,
    certain: false,
    message: `${v.message} (Argo CD ignores spec.source while spec.sources is set, but it applies again if spec.sources is removed)`,
  };
}

/** Every violation of R1-R5 and V1 in an Application that has been identified as Cilium. */
export function applicationViolations(app: JsonObject, config: PolicyConfig, review = new ReviewRenderings(config)): Violation[] {
  const spec = obj(app.spec);
  const ctx = appContext(app, config.argocd.namespaces);
  const out: Violation[] = [];
  for (const src of guardedSources(specSources(spec, config))) {
    const found = checkSource(app, src, ctx, config, review);
    out.push(...(src.ignored ? found.map(ignoredNote) : found));
  }
  out.push(...checkSyncOptions(obj(spec.syncPolicy).syncOptions, 'spec.syncPolicy.syncOptions', config));

  // A pending sync renders its own sources and applies with its own options only
  // (controller/sync.go: syncOp.SyncOptions decides server-side apply, never the spec's).
  const operation = obj(app.operation);
  if (operation.sync !== undefined && operation.sync !== null) {
    const sync = obj(operation.sync);
    for (const src of guardedSources(operationSources(app, config))) out.push(...checkSource(app, src, ctx, config, review));
    out.push(...checkSyncOptions(sync.syncOptions, 'operation.sync.syncOptions', config));
    if (Array.isArray(sync.manifests) && sync.manifests.length > 0) {
      out.push({
        rule: 'R5',
        path: 'operation.sync.manifests',
        value: `${sync.manifests.length} manifest(s)`,
        certain: true,
        message: 'operation.sync.manifests syncs local manifests that bypass the Git and Helm sources; sync Cilium from its source instead',
      });
    }
  }
  return out;
}

/**
 * The cilium-config settings L1 compares (live.ts), for each source the Application renders with
 * Helm: the spec's sources Argo CD applies and, with `operation`, a pending sync's own sources.
 * Sources Helm cannot render (V1) are left out: they change nothing.
 */
export function renderedConfigs(app: JsonObject, config: PolicyConfig, operation: boolean, review = new ReviewRenderings(config)): RenderedConfig[] {
  const ctx = appContext(app, config.argocd.namespaces);
  const sources = guardedSources(specSources(obj(app.spec), config)).filter((s) => !s.ignored);
  const sync = obj(app.operation).sync;
  if (operation && sync !== undefined && sync !== null) sources.push(...guardedSources(operationSources(app, config)));
  const out: RenderedConfig[] = [];
  for (const src of sources) {
    if (src.kind === 'opaque') continue;
    const views = sourceValues(app, src, ctx, config, review).alternatives().filter((v) => v.error === null);
    if (views.length > 0) out.push({ src, alternatives: views.map(liveConfig) });
  }
  return out;
}

export function deleteViolations(oldApp: JsonObject, config: PolicyConfig): Violation[] {
  const finalizers = obj(oldApp.metadata).finalizers;
  const cascade = Array.isArray(finalizers) ? finalizers.filter((f) => CASCADE_FINALIZERS.includes(str(f))) : [];
  if (cascade.length === 0) return [];
  const meta = obj(oldApp.metadata);
  return [
    {
      rule: 'D1',
      path: 'metadata.finalizers',
      value: cascade,
      certain: true,
      message: `deleting this Application with finalizer ${cascade.join(', ')} would delete the Cilium DaemonSet and take pod networking down. To remove only the Application, first remove the finalizer: kubectl -n ${str(meta.namespace)} patch application ${str(meta.name)} --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]'`,
    },
  ];
}

export { ciliumApplicationReason };
