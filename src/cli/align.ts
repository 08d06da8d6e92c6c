// `cilium-guard align --talos PATCH.yaml --app APP.yaml`: the Helm values Talos bootstraps Cilium
// with beside the values the Argo CD Application renders it with, key by key, as the alignment
// table of the Talos/Argo CD handoff. A difference means Argo CD's first sync changes the running
// Cilium (or a second install appears), so any difference exits non-zero.
import { yamlLimits, type PolicyConfig } from '../policy/config.js';
import { CHART_DEFAULTS_TREE } from '../policy/data/cilium-chart.js';
import { specSources, type RenderSource } from '../policy/identify.js';
import { effectiveValues, type EffectiveValues } from '../policy/values/effective.js';
import { isObject, jsonEqual, obj, str } from '../policy/json.js';
import type { JsonObject } from '../policy/types.js';
import { dropNulls, flattenValues, valueAt } from './helm-set.js';
import { summarize, type AlignmentRow, type Report } from './report.js';
import { talosInstall, type InstallValues } from './talos-install.js';
import type { YamlDocument } from './yaml-input.js';

/** The settings of the handoff document's table, always shown and in this order. */
export const FIXED_KEYS = [
  'ipam.mode',
  'kubeProxyReplacement',
  'k8sServiceHost',
  'k8sServicePort',
  'routingMode',
  'tunnelProtocol',
  'bgpControlPlane.enabled',
  'gatewayAPI.enabled',
  'hubble.enabled',
  'operator.replicas',
];

/**
 * Defaults the Cilium chart applies in its templates rather than in values.yaml (values.yaml has
 * ""): templates/cilium-configmap.yaml `routingMode | default "tunnel"`, `tunnelProtocol | default "vxlan"`.
 */
const TEMPLATE_DEFAULTS: Record<string, { value: string; where: string }> = {
  routingMode: { value: 'tunnel', where: 'the chart renders an empty routingMode as tunnel' },
  tunnelProtocol: { value: 'vxlan', where: 'the chart renders an empty tunnelProtocol as vxlan' },
};

export type SideResult = { ok: true; install: InstallValues } | { ok: false; error: string };

/** The Cilium source of the first Application (or ApplicationSet template) of a file, with its effective values. */
export interface CiliumSource {
  doc: YamlDocument;
  kind: 'Application' | 'ApplicationSet';
  meta: JsonObject;
  spec: JsonObject;
  src: RenderSource;
  ev: EffectiveValues;
  /** "FILE Application ns/name spec.source", for notes. */
  origin: string;
  notes: string[];
  valueFiles: string[];
}

export function findCiliumSource(
  documents: YamlDocument[],
  file: string,
  config: PolicyConfig,
  appValues: JsonObject[] = [],
): { ok: true; found: CiliumSource } | { ok: false; error: string } {
  const candidates: Array<{ doc: YamlDocument; meta: JsonObject; spec: JsonObject; prefix: string; kind: CiliumSource['kind'] }> = [];
  for (const doc of documents) {
    const v = doc.value;
    if (!isObject(v) || !str(v.apiVersion).startsWith('argoproj.io/')) continue;
    if (v.kind === 'Application') candidates.push({ doc, meta: obj(v.metadata), spec: obj(v.spec), prefix: 'spec', kind: 'Application' });
    if (v.kind === 'ApplicationSet') {
      const template = obj(obj(v.spec).template);
      candidates.push({ doc, meta: obj(template.metadata), spec: obj(template.spec), prefix: 'spec.template.spec', kind: 'ApplicationSet' });
    }
  }
  if (candidates.length === 0) return { ok: false, error: `${file} holds no Argo CD Application or ApplicationSet` };
  const withCilium = candidates
    .map((c) => ({ ...c, source: specSources(c.spec, config, c.prefix).find((s) => s.cilium && !s.ignored) }))
    .filter((c) => c.source !== undefined);
  const chosen = withCilium[0];
  if (!chosen?.source) {
    return { ok: false, error: `${file}: no Application or ApplicationSet renders the Cilium chart (charts: ${config.identify.charts.join(', ')})` };
  }
  const src = chosen.source;
  const helm = obj(src.source.helm);
  const name = str(chosen.meta.name);
  const valueFiles = Array.isArray(helm.valueFiles) ? helm.valueFiles.filter((f): f is string => typeof f === 'string' && f !== '') : [];
  // The same effective-values view the webhook judges with; value files count when they are given.
  const app: JsonObject = { metadata: chosen.meta, spec: chosen.spec };
  const ev = effectiveValues(app, src.source, src.path, {
    version: config.helm.version,
    limits: yamlLimits(config),
    controlPlaneNamespaces: config.argocd.namespaces,
    chartDefaults: CHART_DEFAULTS_TREE,
    ...(valueFiles.length > 0 && appValues.length > 0 ? { valueFileContents: appValues } : {}),
  });
  const origin = `${chosen.doc.source} ${chosen.kind} ${str(chosen.meta.namespace) ? `${str(chosen.meta.namespace)}/` : ''}${name} ${src.path}`;
  const notes: string[] = [];
  if (withCilium.length > 1) notes.push(`${withCilium.length} Cilium Applications in ${file}; compared the first (${origin})`);
  if (chosen.kind === 'ApplicationSet') notes.push(`ApplicationSet: compared its template as written; {{...}} parameters are not filled in`);
  return { ok: true, found: { doc: chosen.doc, kind: chosen.kind, meta: chosen.meta, spec: chosen.spec, src, ev, origin, notes, valueFiles } };
}

/** The effective values of the Cilium source of an Application or ApplicationSet template. */
export function argoInstall(documents: YamlDocument[], file: string, config: PolicyConfig, appValues: JsonObject[] = []): SideResult {
  const found = findCiliumSource(documents, file, config, appValues);
  if (!found.ok) return found;
  const { ev, src, valueFiles } = found.found;
  if (ev.error) return { ok: false, error: `${found.found.doc.source}: ${ev.error.message}` };
  const install: InstallValues = {
    origin: found.found.origin,
    tree: dropNulls(ev.tree()),
    unknown: [],
    notes: [...found.found.notes],
    release: { name: ev.opts.name, namespace: ev.opts.namespace },
    chartVersion: str(src.source.targetRevision),
  };
  for (const u of ev.unknowns()) {
    if (u.key === '*' && valueFiles.length > 0 && appValues.length === 0) {
      install.unknown.push({ key: '*', why: `${src.path}.helm.valueFiles (${valueFiles.join(', ')}) were not given (--app-values FILE, in the same order)` });
    } else install.unknown.push(u);
  }
  return { ok: true, install };
}

function sameItems(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  const key = (x: unknown) => JSON.stringify(x);
  const sa = a.map(key).sort();
  const sb = b.map(key).sort();
  return sa.every((x, i) => x === sb[i]);
}

/** Whether two set values render alike, and why if it is not obvious. */
function compareValues(talos: unknown, argocd: unknown): { same: boolean; note?: string } {
  if (jsonEqual(talos, argocd)) return { same: true };
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (scalar(talos) && scalar(argocd) && String(talos) === String(argocd)) {
    if (typeof talos === 'boolean' || typeof argocd === 'boolean') {
      return { same: false, note: 'a boolean on one side, a string on the other: a Helm template reads any non-empty string as true' };
    }
    return { same: true, note: 'a number on one side, a string on the other; the chart quotes it either way' };
  }
  if (Array.isArray(talos) && Array.isArray(argocd) && sameItems(talos, argocd)) return { same: false, note: 'same items in a different order' };
  return { same: false };
}

function defaultOf(key: string, chartDefaults: JsonObject | undefined): { value: unknown; note: string } | undefined {
  const fromChart = chartDefaults ? valueAt(chartDefaults, key) : undefined;
  const template = TEMPLATE_DEFAULTS[key];
  if (template && (fromChart === undefined || fromChart === '')) return { value: template.value, note: template.where };
  if (fromChart !== undefined) return { value: fromChart, note: `chart default ${JSON.stringify(fromChart)}` };
  return undefined;
}

function unknownWhy(side: InstallValues, key: string): string | undefined {
  const hit = side.unknown.find((u) => u.key === key || key.startsWith(`${u.key}.`) || u.key.startsWith(`${key}.`));
  if (hit) return hit.why;
  return side.unknown.find((u) => u.key === '*')?.why;
}

/** The alignment table: the fixed settings, then every other key set on either side, sorted. */
export function alignmentRows(talos: InstallValues, argocd: InstallValues, chartDefaults?: JsonObject): AlignmentRow[] {
  const t = flattenValues(talos.tree);
  const a = flattenValues(argocd.tree);
  const rest = [...new Set([...t.keys(), ...a.keys()])].filter((k) => !FIXED_KEYS.includes(k)).sort();
  const rows: AlignmentRow[] = [];
  for (const key of [...FIXED_KEYS, ...rest]) {
    const tv = t.get(key);
    const av = a.get(key);
    const row: AlignmentRow = { key, ...(tv !== undefined ? { talos: tv } : {}), ...(av !== undefined ? { argocd: av } : {}), status: 'aligned' };
    if (tv !== undefined && av !== undefined) {
      const cmp = compareValues(tv, av);
      row.status = cmp.same ? 'aligned' : 'differs';
      if (cmp.note) row.note = cmp.note;
    } else if (tv === undefined && av === undefined) {
      const why = unknownWhy(talos, key) ?? unknownWhy(argocd, key);
      if (why && !why.includes('were not given') && !why.includes('not mounted')) {
        row.status = 'differs';
        row.note = `cannot be compared: ${why}`;
      } else row.note = 'not set on either side: the chart default applies to both';
    } else {
      const unsetSide = tv !== undefined ? argocd : talos;
      const value = tv !== undefined ? tv : av;
      const unset = unknownWhy(unsetSide, key);
      const dflt = defaultOf(key, chartDefaults);
      if (dflt && compareValues(value, dflt.value).same) {
        row.note = dflt.note;
      } else {
        row.status = tv !== undefined ? 'talos-only' : 'argocd-only';
        const notes = [dflt?.note, unset ? `may be set by what cannot be read: ${unset}` : undefined].filter(Boolean);
        if (notes.length > 0) row.note = notes.join('; ');
      }
    }
    rows.push(row);
  }
  return rows;
}

function releaseRows(talos: InstallValues, argocd: InstallValues): AlignmentRow[] {
  const rows: AlignmentRow[] = [];
  for (const [key, field] of [
    ['(release name)', 'name'],
    ['(release namespace)', 'namespace'],
  ] as const) {
    const tv = talos.release[field];
    const av = argocd.release[field];
    if (tv === undefined) continue; // a plain values file says nothing about the release
    rows.push({
      key,
      talos: tv,
      ...(av !== undefined ? { argocd: av } : {}),
      status: tv === av ? 'aligned' : 'differs',
      ...(tv !== av ? { note: 'Argo CD would install a second Cilium instead of adopting the release' } : {}),
    });
  }
  return rows;
}

export interface AlignInputs {
  talos: { file: string; documents: YamlDocument[] };
  app: { file: string; documents: YamlDocument[] };
  appValues?: JsonObject[];
  chartDefaults?: JsonObject;
}

export function align(inputs: AlignInputs, config: PolicyConfig): Report {
  const errors: Report['errors'] = [];
  const t = talosInstall(inputs.talos.documents, inputs.talos.file, config.limits.yamlAliases);
  const a = argoInstall(inputs.app.documents, inputs.app.file, config, inputs.appValues);
  if (!t.ok) errors.push({ source: inputs.talos.file, message: t.error });
  if (!a.ok) errors.push({ source: inputs.app.file, message: a.error });
  if (!t.ok || !a.ok) return summarize('align', { inputs: [inputs.talos.file, inputs.app.file], errors });
  const notes = [`Talos: ${t.install.origin}`, `Argo CD: ${a.install.origin}`, ...t.install.notes, ...a.install.notes];
  for (const u of [...t.install.unknown, ...a.install.unknown]) if (u.key === '*') notes.push(`not compared: ${u.why}`);
  if (t.install.chartVersion && a.install.chartVersion && t.install.chartVersion !== a.install.chartVersion) {
    notes.push(`chart version: Talos installs ${t.install.chartVersion}, Argo CD targets ${a.install.chartVersion} (Argo CD upgrades Cilium on its first sync)`);
  }
  if (JSON.stringify(a.install.tree).includes('{{')) notes.push('some Argo CD values are templates and were compared as written');
  return summarize('align', {
    inputs: [inputs.talos.file, inputs.app.file],
    alignment: [...releaseRows(t.install, a.install), ...alignmentRows(t.install, a.install, inputs.chartDefaults)],
    notes,
  });
}
