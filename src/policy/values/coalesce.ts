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
    for (const k of Object.keys(v)) setOwn(out, k, deepCopy(v[k]));
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
