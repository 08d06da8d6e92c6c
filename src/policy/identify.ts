// Which Application is "the Cilium one", and which of its sources Argo CD actually renders.
import type { PolicyConfig } from './config.js';
import type { JsonObject } from './types.js';

import { isObject, obj, str } from './json.js';

export { isObject, obj, str };

/** How much of a source's Helm input the webhook can see. */
export type SourceKind = 'helm-repo' | 'oci' | 'git-chart' | 'opaque';

export interface RenderSource {
  /** Field path, e.g. `spec.sources[1]` or `operation.sync.source`. */
  path: string;
  source: JsonObject;
  kind: SourceKind;
  cilium: boolean;
  /** Argo CD ignores this source (spec.source while spec.sources is set). */
  ignored: boolean;
}

/** Lowercase scheme and host, no trailing slash or `.git`. */
export function normaliseRepoURL(url: string): string {
  let u = url.trim();
  const m = /^([a-z][a-z0-9+.-]*:\/\/)?([^/]*)(.*)$/i.exec(u);
  if (m) u = `${(m[1] ?? '').toLowerCase()}${(m[2] ?? '').toLowerCase()}${m[3] ?? ''}`;
  while (u.endsWith('/')) u = u.slice(0, -1);
  if (u.endsWith('.git')) u = u.slice(0, -4);
  return u;
}

function normalisePath(p: string): string {
  return p.trim().replace(/^\.\//, '').replace(/\/+$/, '');
}

function sourceKind(src: JsonObject): SourceKind {
  if (str(src.chart) !== '') return 'helm-repo';
  if (/^oci:\/\//i.test(str(src.repoURL))) return 'oci';
  if (isObject(src.plugin) || isObject(src.kustomize) || isObject(src.directory)) return 'opaque';
  return str(src.path) !== '' ? 'git-chart' : 'opaque';
}

export function isCiliumSource(src: JsonObject, config: PolicyConfig): boolean {
  const chart = str(src.chart);
  if (chart !== '') return config.identify.charts.includes(chart);
  const repo = normaliseRepoURL(str(src.repoURL));
  if (/^oci:\/\//.test(repo) && config.identify.ociRepoSuffixes.some((s) => repo.endsWith(s))) return true;
  const path = normalisePath(str(src.path));
  return path !== '' && config.identify.gitPaths.some((g) => path === g || path.endsWith(`/${g}`));
}

/** A `ref`-only entry of spec.sources only supplies value files; it renders nothing. */
function rendersNothing(src: JsonObject): boolean {
  return str(src.ref) !== '' && str(src.path) === '' && str(src.chart) === '';
}

function make(path: string, source: JsonObject, config: PolicyConfig, ignored = false): RenderSource {
  return { path, source, kind: sourceKind(source), cilium: isCiliumSource(source, config), ignored };
}

/**
 * The sources Argo CD renders for an Application spec (types.go GetSources): the hydrator's dry
 * source beats everything, then a non-empty `sources`, then `source`. A `source` hidden by
 * `sources` is returned too, marked ignored, because it applies again if `sources` is removed.
 */
export function specSources(spec: JsonObject, config: PolicyConfig, prefix = 'spec'): RenderSource[] {
  const hydrator = obj(spec.sourceHydrator);
  if (isObject(hydrator.drySource)) {
    return [make(`${prefix}.sourceHydrator.drySource`, hydrator.drySource, config)];
  }
  const out: RenderSource[] = [];
  const sources = Array.isArray(spec.sources) ? spec.sources : [];
  if (sources.length > 0) {
    sources.forEach((s, i) => {
      if (isObject(s) && !rendersNothing(s)) out.push(make(`${prefix}.sources[${i}]`, s, config));
    });
    if (isObject(spec.source)) out.push(make(`${prefix}.source`, spec.source, config, true));
    return out;
  }
  if (isObject(spec.source)) out.push(make(`${prefix}.source`, spec.source, config));
  return out;
}

/** Sources a pending sync operation carries; the controller renders these instead of the spec. */
export function operationSources(app: JsonObject, config: PolicyConfig): RenderSource[] {
  const sync = obj(obj(app.operation).sync);
  const sources = Array.isArray(sync.sources) ? sync.sources : [];
  if (sources.length > 0) {
    return sources.flatMap((s, i) =>
      isObject(s) && !rendersNothing(s) ? [make(`operation.sync.sources[${i}]`, s, config)] : [],
    );
  }
  return isObject(sync.source) ? [make('operation.sync.source', sync.source, config)] : [];
}

function managesCiliumConfig(app: JsonObject | null, config: PolicyConfig): boolean {
  if (!app) return false;
  const resources = obj(app.status).resources;
  if (!Array.isArray(resources)) return false;
  return resources.some(
    (r) =>
      isObject(r) &&
      str(r.kind) === 'ConfigMap' &&
      str(r.group) === '' &&
      str(r.namespace) === config.cilium.namespace &&
      str(r.name) === config.cilium.configMapName,
  );
}

function targetsGuardedCluster(app: JsonObject, config: PolicyConfig): boolean {
  if (config.identify.destinations.length === 0) return true;
  const dest = obj(obj(app.spec).destination);
  return config.identify.destinations.some((d) => d === str(dest.server) || d === str(dest.name));
}

/**
 * Does the Application deploy to the cluster this webhook guards, whose cilium-config and agent the
 * cluster view shows? The configured destinations, else Argo CD's names for its own cluster.
 */
export function deploysHere(app: JsonObject, config: PolicyConfig): boolean {
  const dest = obj(obj(app.spec).destination);
  const server = str(dest.server);
  const name = str(dest.name);
  if (config.identify.destinations.length > 0) return config.identify.destinations.some((d) => d === server || d === name);
  return server === 'https://kubernetes.default.svc' || name === 'in-cluster';
}

function rendersCilium(app: JsonObject, config: PolicyConfig): boolean {
  const spec = obj(app.spec);
  return [...specSources(spec, config), ...operationSources(app, config)].some((s) => s.cilium && !s.ignored);
}

/**
 * Is this the Cilium Application? Any of: a configured namespace/name, a rendered source that is
 * the Cilium chart, or (on UPDATE/DELETE) an old object whose status lists kube-system/cilium-config.
 * Returns the reason, for messages and audit records.
 */
export function ciliumApplicationReason(
  app: JsonObject | null,
  oldApp: JsonObject | null,
  config: PolicyConfig,
): string | null {
  const subject = app ?? oldApp;
  if (!subject) return null;
  const meta = obj(subject.metadata);
  const id = `${str(meta.namespace)}/${str(meta.name)}`;
  if (config.identify.applications.includes(id)) return `configured as a Cilium Application (${id})`;
  if (!targetsGuardedCluster(subject, config)) return null;
  if (app && rendersCilium(app, config)) return 'renders the Cilium chart';
  if (oldApp && rendersCilium(oldApp, config)) return 'rendered the Cilium chart before this change';
  if (managesCiliumConfig(oldApp, config)) {
    return `manages ConfigMap ${config.cilium.namespace}/${config.cilium.configMapName}`;
  }
  return null;
}
