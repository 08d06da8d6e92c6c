// How Argo CD and Helm arrive at one effective Helm value, for the few keys we guard.
//
// Precedence, lowest to highest (helm pkg/cli/values MergeValues; Argo CD util/helm/cmd.go):
//   chart values.yaml < valueFiles[] < values | valuesObject < parameters (--set)
//   < parameters with forceString (--set-string) < fileParameters (--set-file)
// `valuesObject` replaces `values` entirely. `values` is YAML 1.1. Parameters are typed like Helm's
// strvals (`true`, `FALSE`, `null`, integers) unless forceString, and their values are
// env-substituted by Argo CD first. A null at any visible layer deletes the key.
import { yamlLimits, type PolicyConfig } from './config.js';
import { isObject } from './json.js';
import type { JsonObject, Violation } from './types.js';
import { depthExceeds, parseYaml11 } from './yaml11.js';

export type Segment = string | number;

export interface HelmSpec {
  releaseName?: unknown;
  namespace?: unknown;
  values?: unknown;
  valuesObject?: unknown;
  valueFiles?: unknown;
  parameters?: unknown;
  fileParameters?: unknown;
}

interface Param {
  name: string;
  segments: Segment[];
  value: unknown;
  /** Set when the value depends on something only known at sync time. */
  unknown?: string;
  path: string;
}

export interface HelmLayers {
  /** Field path of the source (e.g. `spec.sources[0]`). */
  sourcePath: string;
  base: { tree: JsonObject | null; path: string };
  /** --set then --set-string, already collapsed by name (last entry wins, as Argo CD does). */
  params: Param[];
  fileParams: Array<{ name: string; segments: Segment[]; path: string }>;
  /** Why layers below the visible ones may set a guarded key, if they may. */
  hidden: string | null;
  errors: Violation[];
}

export type Lookup =
  | { state: 'set'; value: unknown; path: string }
  | { state: 'default'; path: string; why: string }
  | { state: 'unknown'; path: string; why: string };

/** Parses a Helm --set name: `a.b`, `a\.b` (literal dot), `a[0]`. */
export function parseSetName(name: string): Segment[] {
  const segments: Segment[] = [];
  let current = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string;
    if (c === '\\' && i + 1 < name.length) {
      current += name[++i];
    } else if (c === '.') {
      segments.push(current);
      current = '';
    } else if (c === '[') {
      const close = name.indexOf(']', i);
      const index = close > i ? Number(name.slice(i + 1, close)) : NaN;
      if (current !== '') segments.push(current);
      current = '';
      if (Number.isInteger(index) && index >= 0) segments.push(index);
      i = close > i ? close : name.length;
      if (name[i + 1] === '.') i++;
    } else {
      current += c;
    }
  }
  if (current !== '' || segments.length === 0) segments.push(current);
  return segments;
}

/** Helm strvals typedVal: what `--set k=v` makes of v. */
export function typedSetValue(raw: string, forceString: boolean): unknown {
  if (forceString) return raw;
  const lower = raw.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (lower === 'null') return null;
  if (raw === '0') return 0;
  if (raw.length > 0 && raw[0] !== '0' && /^[-+]?\d+$/.test(raw)) {
    const n = Number(raw);
    if (Number.isSafeInteger(n)) return n;
  }
  return raw;
}

/** Argo CD escapes commas; strvals then reads `\x` as x. `{a,b}` stays a list. */
function parseSetValue(raw: string, forceString: boolean): unknown {
  if (raw.startsWith('{') && raw.endsWith('}')) {
    const inner = raw.slice(1, -1);
    if (inner === '') return [];
    return inner.split(',').map((item) => typedSetValue(item, forceString));
  }
  return typedSetValue(raw.replace(/\\(.)/gs, '$1'), forceString);
}

const SPECIAL_VARS = new Set(['*', '#', '$', '@', '!', '?', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/**
 * Go's os.Expand with Argo CD's mapping (`$$` is `$`, unknown names are empty). Variables whose
 * value only exists at sync time (the revision) make the result unknowable.
 */
export function envsubst(
  s: string,
  env: Record<string, string>,
  syncTimeVars: ReadonlySet<string>,
): { value: string; unknown?: string } {
  let out = '';
  let unknown: string | undefined;
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) continue;
    out += s.slice(i, j);
    const rest = s.slice(j + 1);
    let name = '';
    let width = 0;
    if (rest[0] === '{') {
      if (rest.length > 2 && SPECIAL_VARS.has(rest[1] as string) && rest[2] === '}') {
        name = rest[1] as string;
        width = 3;
      } else {
        const close = rest.indexOf('}');
        if (close === 1) width = 2;
        else if (close > 1) {
          name = rest.slice(1, close);
          width = close + 1;
        } else width = 1;
      }
    } else if (SPECIAL_VARS.has(rest[0] as string)) {
      name = rest[0] as string;
      width = 1;
    } else {
      const m = /^[A-Za-z0-9_]*/.exec(rest);
      name = m ? m[0] : '';
      width = name.length;
    }
    if (name === '' && width > 0) {
      // invalid syntax: the characters are eaten
    } else if (name === '') {
      out += '$';
    } else if (name === '$') {
      out += '$';
    } else {
      if (syncTimeVars.has(name)) unknown = `$${name} is only known at sync time`;
      out += env[name] ?? '';
    }
    j += width;
    i = j + 1;
  }
  return unknown ? { value: out + s.slice(i), unknown } : { value: out + s.slice(i) };
}

const SYNC_TIME_VARS = new Set([
  'ARGOCD_APP_REVISION',
  'ARGOCD_APP_REVISION_SHORT',
  'ARGOCD_APP_REVISION_SHORT_8',
  'KUBE_VERSION',
  'KUBE_API_VERSIONS',
]);

export interface BuildEnv {
  appName: string;
  destinationNamespace: string;
  project: string;
  repoURL: string;
  path: string;
  targetRevision: string;
}

/**
 * Collects the visible value layers of one Helm source. `hidden` names a layer the webhook cannot
 * read that sits below them (value files, `.argocd-source.yaml` in a Git chart directory).
 */
export function collectLayers(
  helm: HelmSpec | undefined,
  sourcePath: string,
  env: BuildEnv,
  hiddenBySource: string | null,
  config: PolicyConfig,
): HelmLayers {
  const layers: HelmLayers = {
    sourcePath,
    base: { tree: null, path: `${sourcePath}.helm.values` },
    params: [],
    fileParams: [],
    hidden: hiddenBySource,
    errors: [],
  };
  if (!helm || !isObject(helm)) return layers;

  if (helm.valuesObject !== undefined && helm.valuesObject !== null) {
    layers.base.path = `${sourcePath}.helm.valuesObject`;
    if (!isObject(helm.valuesObject)) {
      layers.errors.push({
        rule: 'V1',
        path: layers.base.path,
        value: helm.valuesObject,
        certain: true,
        message: `${layers.base.path} must be a mapping of Helm values`,
      });
    } else if (depthExceeds(helm.valuesObject, config.limits.depth)) {
      layers.errors.push({
        rule: 'V1',
        path: layers.base.path,
        certain: true,
        message: `${layers.base.path} nests deeper than ${config.limits.depth} levels; flatten it`,
      });
    } else {
      layers.base.tree = helm.valuesObject;
    }
  } else if (typeof helm.values === 'string' && helm.values.trim() !== '') {
    const parsed = parseYaml11(helm.values, yamlLimits(config));
    if (!parsed.ok) {
      layers.errors.push({
        rule: 'V1',
        path: layers.base.path,
        certain: true,
        message: `${layers.base.path} ${parsed.error}; cilium-guard cannot tell what it sets (use valuesObject, or fix the YAML)`,
      });
    } else if (parsed.value === null || parsed.value === undefined) {
      layers.base.tree = null;
    } else if (!isObject(parsed.value)) {
      layers.errors.push({
        rule: 'V1',
        path: layers.base.path,
        value: helm.values,
        certain: true,
        message: `${layers.base.path} must be a YAML mapping of Helm values (Helm rejects anything else)`,
      });
    } else {
      layers.base.tree = parsed.value;
    }
  }

  const envMap: Record<string, string> = {
    ARGOCD_APP_NAME: env.appName,
    ARGOCD_APP_NAMESPACE: env.destinationNamespace,
    ARGOCD_APP_PROJECT_NAME: env.project,
    ARGOCD_APP_SOURCE_REPO_URL: env.repoURL,
    ARGOCD_APP_SOURCE_PATH: env.path,
    ARGOCD_APP_SOURCE_TARGET_REVISION: env.targetRevision,
  };
  const set = new Map<string, Param>();
  const setString = new Map<string, Param>();
  const params = Array.isArray(helm.parameters) ? helm.parameters : [];
  params.forEach((p: unknown, i: number) => {
    if (!isObject(p) || typeof p.name !== 'string' || p.name === '') return;
    const forceString = p.forceString === true;
    const raw = typeof p.value === 'string' ? p.value : p.value === undefined || p.value === null ? '' : String(p.value);
    const substituted = envsubst(raw, envMap, SYNC_TIME_VARS);
    const param: Param = {
      name: p.name,
      segments: parseSetName(p.name),
      value: parseSetValue(substituted.value, forceString),
      path: `${sourcePath}.helm.parameters[${i}]`,
    };
    if (substituted.unknown) param.unknown = substituted.unknown;
    const target = forceString ? setString : set;
    target.delete(p.name);
    target.set(p.name, param);
  });
  layers.params = [...set.values(), ...setString.values()];

  const fileParams = Array.isArray(helm.fileParameters) ? helm.fileParameters : [];
  fileParams.forEach((p: unknown, i: number) => {
    if (isObject(p) && typeof p.name === 'string' && p.name !== '') {
      layers.fileParams.push({ name: p.name, segments: parseSetName(p.name), path: `${sourcePath}.helm.fileParameters[${i}]` });
    }
  });

  const valueFiles = Array.isArray(helm.valueFiles) ? helm.valueFiles.filter((f) => typeof f === 'string' && f !== '') : [];
  if (valueFiles.length > 0) {
    layers.hidden = `value files (${valueFiles.join(', ')}) that cilium-guard cannot read`;
  }
  return layers;
}

function startsWith(long: Segment[], prefix: Segment[]): boolean {
  return prefix.length <= long.length && prefix.every((s, i) => s === long[i]);
}

/** The value at a path of segments, and whether it is there at all. */
export function walk(tree: unknown, segments: Segment[]): { found: boolean; value: unknown } {
  let node: unknown = tree;
  for (const seg of segments) {
    if (typeof seg === 'number') {
      if (!Array.isArray(node) || seg >= node.length) return { found: false, value: undefined };
      node = node[seg];
    } else {
      if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, seg)) return { found: false, value: undefined };
      node = node[seg];
    }
  }
  return { found: true, value: node };
}

export function segmentsToString(segments: Segment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** The effective value of one Helm key after every layer, or why it cannot be known. */
export function lookupValue(layers: HelmLayers, segments: Segment[]): Lookup {
  const key = segmentsToString(segments);
  for (let i = layers.fileParams.length - 1; i >= 0; i--) {
    const fp = layers.fileParams[i];
    if (fp && (startsWith(segments, fp.segments) || startsWith(fp.segments, segments))) {
      return { state: 'unknown', path: fp.path, why: `${fp.path} sets ${fp.name} from a file cilium-guard cannot read` };
    }
  }
  for (let i = layers.params.length - 1; i >= 0; i--) {
    const p = layers.params[i];
    if (!p) continue;
    if (startsWith(segments, p.segments)) {
      if (p.unknown) return { state: 'unknown', path: `${p.path}.value`, why: `${p.path}.value: ${p.unknown}` };
      if (p.segments.length === segments.length) {
        return p.value === null
          ? { state: 'default', path: `${p.path}.value`, why: `${p.path} sets ${p.name}=null, which deletes the key` }
          : { state: 'set', value: p.value, path: `${p.path}.value` };
      }
      const inner = walk(p.value, segments.slice(p.segments.length));
      if (inner.found) return { state: 'set', value: inner.value, path: `${p.path}.value` };
      return { state: 'default', path: `${p.path}.value`, why: `${p.path} replaces ${p.name}, which removes ${key}` };
    }
  }
  if (layers.base.tree) {
    // A parent that is set to a non-mapping hides the key just as well as a null does.
    for (let depth = 1; depth <= segments.length; depth++) {
      const hit = walk(layers.base.tree, segments.slice(0, depth));
      if (!hit.found) break;
      const path = `${layers.base.path}.${segmentsToString(segments.slice(0, depth))}`;
      if (depth === segments.length) {
        return hit.value === null
          ? { state: 'default', path, why: `${path} is null, which deletes the key` }
          : { state: 'set', value: hit.value, path };
      }
      if (hit.value === null || typeof hit.value !== 'object') {
        return { state: 'default', path, why: `${path} is not a mapping, so ${key} is not set` };
      }
    }
  }
  if (layers.hidden) return { state: 'unknown', path: layers.sourcePath, why: layers.hidden };
  return { state: 'default', path: layers.base.path, why: `${key} is not set, so the chart default applies` };
}

/** Go template `toString` (sprig strval) of a Helm value. */
export function helmToString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** Every (path, value) of string leaves whose key is `key`, anywhere in the visible values. */
export function findKeyAnywhere(layers: HelmLayers, key: string): Array<{ path: string; value: unknown }> {
  const hits: Array<{ path: string; value: unknown }> = [];
  for (const p of layers.params) {
    if (p.segments[p.segments.length - 1] === key) hits.push({ path: `${p.path}.value`, value: p.value });
  }
  if (!layers.base.tree) return hits;
  // Depth-first with the path kept as segments, made into a string only for a hit: this runs on
  // every Cilium Application, and most values trees have hundreds of leaves and no hit.
  const found: Array<{ segments: Segment[]; value: unknown }> = [];
  const segments: Segment[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        segments.push(i);
        visit(node[i]);
        segments.pop();
      }
    } else if (isObject(node)) {
      for (const k in node) {
        if (!Object.prototype.hasOwnProperty.call(node, k)) continue;
        if (k === key) found.push({ segments: [...segments, k], value: node[k] });
        else {
          segments.push(k);
          visit(node[k]);
          segments.pop();
        }
      }
    }
  };
  visit(layers.base.tree);
  // The order of the former stack walk: last key first, depth-first.
  for (const f of found.reverse()) {
    hits.push({ path: `${layers.base.path}${f.segments.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('')}`, value: f.value });
  }
  return hits;
}
