// Helm's value folding, for a chart without dependencies (the Cilium chart has none).
//
// mergeMaps: helm v4.3.1 pkg/chart/v2/loader/load.go MergeMaps (v3.19.4 pkg/cli/values mergeMaps is the
// same): how `--values` files are merged in order. Maps merge; scalars and lists are replaced whole.
//
// coalesceValues: v4.3.1 pkg/chart/common/util/coalesce.go coalesceValues/coalesceTablesFullKey
// (4.2.1 is the same); v3.19.4 pkg/chartutil/coalesce.go. How the user's values go over the chart's
// values.yaml: the user wins, a user null deletes a chart default, a table never gives way to a scalar.
import type { JsonObject } from '../types.js';
import type { HelmVersion } from './helm-version.js';

export const isTable = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets an own property, even one named `__proto__`. */
export function setOwn(o: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

const hasOwn = (o: JsonObject, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** load.go MergeMaps: a new map, b over a. */
export function mergeMaps(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(a)) setOwn(out, k, a[k]);
  for (const k of Object.keys(b)) {
    const v = b[k];
    if (isTable(v) && hasOwn(out, k)) {
      const bv = out[k];
      if (isTable(bv)) {
        setOwn(out, k, mergeMaps(bv, v));
        continue;
      }
    }
    setOwn(out, k, v);
  }
  return out;
}

/** Deep copy of parsed JSON-like values (copystructure.Copy). */
export function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (isTable(v)) {
    const out: JsonObject = {};
    // for-in, not Object.keys: no array per map (parsed JSON and YAML have no inherited keys).
    for (const k in v) setOwn(out, k, deepCopy(v[k]));
    return out as T;
  }
  return v;
}

/** A warning Helm prints while coalescing (printf in coalesce.go), with the key it is about. */
export type CoalesceNote = string;

function cleanNilValues(m: JsonObject): void {
  for (const k of Object.keys(m)) {
    const v = m[k];
    if (v === null || v === undefined) delete m[k];
    else if (isTable(v)) cleanNilValues(v);
  }
}

function coalesceTables(dst: JsonObject, src: JsonObject, prefix: string, version: HelmVersion, notes: CoalesceNote[]): void {
  const modern = version !== '3.19';
  const srcOriginalNonNil = new Set<string>();
  if (modern) {
    for (const k of Object.keys(src)) if (src[k] !== null && src[k] !== undefined) srcOriginalNonNil.add(k);
    for (const k of Object.keys(dst)) if (dst[k] === null) setOwn(src, k, null);
  }
  for (const key of Object.keys(src)) {
    const val = src[key];
    const full = prefix ? `${prefix}.${key}` : key;
    const ok = hasOwn(dst, key);
    const dv = dst[key];
    if (ok && dv === null && (!modern || srcOriginalNonNil.has(key))) {
      delete dst[key];
    } else if (!ok) {
      setOwn(dst, key, val);
    } else if (isTable(val)) {
      if (isTable(dv)) coalesceTables(dv, val, full, version, notes);
      else notes.push(`warning: cannot overwrite table with non table for ${full}`);
    } else if (isTable(dv) && val !== null) {
      notes.push(`warning: destination for ${full} is a table. Ignoring non-table value`);
    }
  }
}

/**
 * CoalesceValues(chart, user) for a chart without dependencies: a new tree, the user's values over
 * a copy of the chart's defaults.
 */
export function coalesceValues(chartDefaults: JsonObject, user: JsonObject, version: HelmVersion, notes: CoalesceNote[] = []): JsonObject {
  const v = deepCopy(user);
  const vc = deepCopy(chartDefaults);
  const modern = version !== '3.19';
  for (const key of Object.keys(vc)) {
    const val = vc[key];
    if (hasOwn(v, key)) {
      const value = v[key];
      if (value === null) {
        delete v[key];
      } else if (isTable(value)) {
        if (!isTable(val)) {
          if (val !== null) notes.push(`warning: skipped value for ${key}: Not a table.`);
        } else {
          if (modern) cleanNilValues(val);
          coalesceTables(value, val, key, version, notes);
        }
      }
    } else {
      if (modern) {
        if (val === null) continue;
        if (isTable(val)) cleanNilValues(val);
      }
      setOwn(v, key, val);
    }
  }
  return v;
}

const NOT_FOUND = { found: false, value: undefined } as const;

/** Where the walk of coalescedAt() stands: one tree's node, or a user table over a chart table. */
type At =
  /** `cleaned`: a chart subtree that coalescing cleans of nulls (Helm 4 cleanNilValues). */
  | { kind: 'one'; node: unknown; cleaned: boolean }
  | { kind: 'both'; dst: JsonObject; src: JsonObject };

/** A node reached alone: a chart table is cleaned under Helm 4, and arrays are never cleaned. */
function one(node: unknown, cleaned: boolean): At {
  return { kind: 'one', node, cleaned: cleaned && isTable(node) };
}

/** One step of coalesceTables(dst, src) at `key`, as coalesceTables leaves dst[key]. */
function tablesStep(dst: JsonObject, src: JsonObject, key: string, modern: boolean): At | null {
  const ok = hasOwn(dst, key);
  const dv = dst[key];
  // Under Helm 4 src is a chart table cleaned of nulls: a null there is no key at all.
  const inSrc = hasOwn(src, key) && !(modern && (src[key] === null || src[key] === undefined));
  // Helm 4 then copies dst's nulls into src (`src[k] = nil` for every null dst[k]).
  const srcHas = inSrc || (modern && ok && dv === null);
  if (!srcHas) return ok ? one(dv, false) : null;
  const val = inSrc ? src[key] : null;
  const originalNonNil = inSrc && val !== null && val !== undefined;
  if (ok && dv === null && (!modern || originalNonNil)) return null;
  if (!ok) return one(val, modern);
  if (isTable(val) && isTable(dv)) return { kind: 'both', dst: dv, src: val };
  return one(dv, false);
}

/** One step of coalesceValues(chart, user) at a top-level key. */
function valuesStep(chart: JsonObject, user: JsonObject, key: string, modern: boolean): At | null {
  const inUser = hasOwn(user, key);
  if (hasOwn(chart, key)) {
    const val = chart[key];
    if (!inUser) {
      if (modern && val === null) return null;
      return one(val, modern);
    }
    const value = user[key];
    if (value === null) return null;
    if (isTable(value) && isTable(val)) return { kind: 'both', dst: value, src: val };
    return one(value, false);
  }
  return inUser ? one(user[key], false) : null;
}

function cleanedCopy(v: JsonObject): JsonObject {
  const out = deepCopy(v);
  cleanNilValues(out);
  return out;
}

/**
 * What `coalesceValues(chartDefaults, user, version)` holds at `path`, without building the tree:
 * the same cases followed down one path (a lookup of a key nobody set reads one chart default, and
 * copying both trees for it was most of a Cilium evaluation's allocation). Where the path ends on
 * a user table over a chart table, that subtree is coalesced whole. A property test holds it to
 * coalesceValues.
 */
export function coalescedAt(chartDefaults: JsonObject, user: JsonObject, path: readonly (string | number)[], version: HelmVersion): { found: boolean; value: unknown } {
  if (path.length === 0) return { found: true, value: coalesceValues(chartDefaults, user, version) };
  const modern = version !== '3.19';
  const first = path[0];
  if (typeof first !== 'string') return NOT_FOUND;
  let at = valuesStep(chartDefaults, user, first, modern);
  for (let i = 1; at !== null && i < path.length; i++) {
    const seg = path[i] as string | number;
    if (at.kind === 'both') {
      at = typeof seg === 'string' ? tablesStep(at.dst, at.src, seg, modern) : null;
    } else if (typeof seg === 'number') {
      at = Array.isArray(at.node) && seg < at.node.length ? one(at.node[seg], false) : null;
    } else if (isTable(at.node) && hasOwn(at.node, seg)) {
      const v = at.node[seg];
      // A cleaned chart table has no null (or undefined) values: they were deleted.
      at = at.cleaned && (v === null || v === undefined) ? null : one(v, at.cleaned);
    } else at = null;
  }
  if (at === null) return NOT_FOUND;
  if (at.kind === 'both') {
    const dst = deepCopy(at.dst);
    const src = modern ? cleanedCopy(at.src) : deepCopy(at.src);
    coalesceTables(dst, src, '', version, []);
    return { found: true, value: dst };
  }
  return { found: true, value: at.cleaned ? cleanedCopy(at.node as JsonObject) : at.node };
}
