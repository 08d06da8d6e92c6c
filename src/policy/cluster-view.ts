// What runs in the cluster, as plain data: the live `cilium-config` and the cilium-agent's image.
// Rules that compare a change with what already runs (L1, U1) read it from here. Pure: it is filled
// outside src/policy (informers in src/cluster for `serve`, `cli/audit.ts`, a file for
// `check --cluster FILE`) and handed to the engine, so `check` and the webhook judge alike.
// When the view is absent, a live-comparison rule cannot know what runs and may only warn.
import { isObject, obj, str } from './json.js';
import type { JsonObject } from './types.js';

export interface ClusterView {
  /**
   * The data of ConfigMap <namespace>/cilium-config as last seen. Absent when the ConfigMap does
   * not exist (Cilium is not installed yet) or could not be read: see `missing`.
   */
  ciliumConfig?: { data: Record<string, string>; resourceVersion?: string };
  /**
   * The `cilium-agent` container of DaemonSet <namespace>/cilium. `version` is the image tag when
   * it is a version (`v1.18.2` → `1.18.2`); absent for a digest-only or `override` image without
   * one, in which case the running version is unknown.
   */
  agent?: { image: string; version?: string };
  /** When the view was last confirmed against the API server (ISO 8601). */
  observedAt?: string;
  /** True when the view may be out of date: its watch is broken, or it was never listed. */
  stale?: boolean;
  /** What could not be found, e.g. `ConfigMap kube-system/cilium-config`: not there, or unreadable. */
  missing?: string[];
  /**
   * Why what runs is not known at all: the view has not been read yet, or cannot be read. Rules
   * that compare with what runs then only warn that they could not (unlike an absent view: no
   * cluster view was asked for, as for `check` without `--cluster`).
   */
  unavailable?: string;
}

/** The objects the view is read from. The chart's RBAC grants exactly these names. */
export interface ClusterViewSource {
  namespace: string;
  configMapName: string;
  daemonSetName: string;
  containerName: string;
}

export const DEFAULT_VIEW_SOURCE: ClusterViewSource = {
  namespace: 'kube-system',
  configMapName: 'cilium-config',
  daemonSetName: 'cilium',
  containerName: 'cilium-agent',
};

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

/**
 * The version in a container image reference: the tag between the last `:` of the last path
 * element and any `@digest` (`quay.io/cilium/cilium:v1.18.2@sha256:…` → `1.18.2`). A registry
 * port (`localhost:5000/cilium`) is not a tag; neither is a tag that is not a version (`latest`).
 */
export function imageVersion(image: string): string | undefined {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const last = name.slice(name.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0) return undefined;
  const tag = last.slice(colon + 1);
  return VERSION.test(tag) ? tag.replace(/^v/, '') : undefined;
}

/** `{ major, minor, patch }` of a version such as `1.18.2` or `v1.18.2-rc.1`; null otherwise. */
export function parseVersion(v: string): { major: number; minor: number; patch: number } | null {
  const m = VERSION.exec(v.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : null;
}

/** The agent facts of a DaemonSet: its `cilium-agent` container (or the first one, if none has that name). */
export function agentOf(daemonSet: JsonObject, containerName = DEFAULT_VIEW_SOURCE.containerName): ClusterView['agent'] {
  const containers = obj(obj(obj(obj(daemonSet.spec).template).spec)).containers;
  if (!Array.isArray(containers)) return undefined;
  const found = containers.find((c) => isObject(c) && c.name === containerName) ?? containers[0];
  const image = str(obj(found).image);
  if (!image) return undefined;
  const version = imageVersion(image);
  return version ? { image, version } : { image };
}

/** The string data of a ConfigMap (non-string values, which the API server never holds, are dropped). */
export function configOf(configMap: JsonObject): NonNullable<ClusterView['ciliumConfig']> {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(configMap.data))) if (typeof v === 'string') data[k] = v;
  const rv = str(obj(configMap.metadata).resourceVersion);
  return rv ? { data, resourceVersion: rv } : { data };
}

export const describeConfigMap = (s: ClusterViewSource): string => `ConfigMap ${s.namespace}/${s.configMapName}`;
export const describeDaemonSet = (s: ClusterViewSource): string => `DaemonSet ${s.namespace}/${s.daemonSetName}`;

/** A view from what was read: either object may be absent (not found). */
export function viewOf(
  found: { configMap?: JsonObject | null; daemonSet?: JsonObject | null },
  source: ClusterViewSource = DEFAULT_VIEW_SOURCE,
  extra: Pick<ClusterView, 'observedAt' | 'stale'> = {},
): ClusterView {
  const view: ClusterView = {};
  const missing: string[] = [];
  if (found.configMap) view.ciliumConfig = configOf(found.configMap);
  else missing.push(describeConfigMap(source));
  const agent = found.daemonSet ? agentOf(found.daemonSet, source.containerName) : undefined;
  if (agent) view.agent = agent;
  else missing.push(describeDaemonSet(source));
  if (extra.observedAt) view.observedAt = extra.observedAt;
  if (extra.stale) view.stale = true;
  if (missing.length > 0) view.missing = missing;
  return view;
}

function isKubeObject(v: unknown, kind: string): v is JsonObject {
  return isObject(v) && v.kind === kind && typeof v.apiVersion === 'string';
}

function stringMap(v: unknown): Record<string, string> | null {
  if (!isObject(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return null;
    out[k] = x;
  }
  return out;
}

/** The ClusterView shape itself, checked field by field. */
function viewFromShape(doc: JsonObject): ClusterView | string {
  const known = new Set(['ciliumConfig', 'agent', 'observedAt', 'stale', 'missing', 'unavailable']);
  const unknown = Object.keys(doc).filter((k) => !known.has(k));
  if (unknown.length > 0) return `unknown field(s) ${unknown.join(', ')}: expected ciliumConfig, agent, observedAt, stale, missing, unavailable`;
  const view: ClusterView = {};
  if (doc.ciliumConfig !== undefined) {
    const cc = obj(doc.ciliumConfig);
    const data = stringMap(cc.data ?? {});
    if (!isObject(doc.ciliumConfig) || !data) return 'ciliumConfig.data must be a map of strings';
    view.ciliumConfig = typeof cc.resourceVersion === 'string' ? { data, resourceVersion: cc.resourceVersion } : { data };
  }
  if (doc.agent !== undefined) {
    const image = obj(doc.agent).image;
    if (typeof image !== 'string' || image === '') return 'agent.image must be a non-empty string';
    const given = obj(doc.agent).version;
    if (given !== undefined && (typeof given !== 'string' || !parseVersion(given))) return 'agent.version must be a version such as 1.18.1';
    const version = typeof given === 'string' ? given.replace(/^v/, '') : imageVersion(image);
    view.agent = version ? { image, version } : { image };
  }
  if (doc.observedAt !== undefined) {
    if (typeof doc.observedAt !== 'string' || Number.isNaN(Date.parse(doc.observedAt))) return 'observedAt must be an ISO 8601 time';
    view.observedAt = doc.observedAt;
  }
  if (doc.stale !== undefined) {
    if (typeof doc.stale !== 'boolean') return 'stale must be true or false';
    if (doc.stale) view.stale = true;
  }
  if (doc.unavailable !== undefined) {
    if (typeof doc.unavailable !== 'string' || doc.unavailable === '') return 'unavailable must be a non-empty string (why what runs is not known)';
    view.unavailable = doc.unavailable;
  }
  if (doc.missing !== undefined) {
    if (!Array.isArray(doc.missing) || !doc.missing.every((m) => typeof m === 'string')) return 'missing must be a list of strings';
    if (doc.missing.length > 0) view.missing = doc.missing as string[];
  }
  return view;
}

/**
 * The view given to `check --cluster FILE`, from the file's parsed documents: either one document in
 * the ClusterView shape, or Kubernetes objects (a `kubectl get -o yaml` List, or separate documents)
 * among which the ConfigMap and the DaemonSet of `source` are found; other objects are ignored.
 * Returns an error text when the input is neither.
 */
export function readClusterView(documents: unknown[], source: ClusterViewSource = DEFAULT_VIEW_SOURCE): ClusterView | string {
  const objects: unknown[] = [];
  for (const d of documents) {
    if (isObject(d) && d.kind === 'List' && Array.isArray(d.items)) objects.push(...d.items);
    else objects.push(d);
  }
  const kube = objects.filter((o) => isObject(o) && typeof o.kind === 'string' && typeof o.apiVersion === 'string');
  if (kube.length === 0) {
    if (documents.length !== 1 || !isObject(documents[0])) return 'expected one ClusterView document, or Kubernetes objects (a List from kubectl get -o yaml)';
    return viewFromShape(documents[0]);
  }
  const named = (kind: string, name: string) =>
    kube.find(
      (o): o is JsonObject =>
        isKubeObject(o, kind) && str(obj(o.metadata).name) === name && (str(obj(o.metadata).namespace) || source.namespace) === source.namespace,
    ) ?? null;
  return viewOf({ configMap: named('ConfigMap', source.configMapName), daemonSet: named('DaemonSet', source.daemonSetName) }, source);
}
