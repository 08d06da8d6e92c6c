// Reading untrusted JSON without throwing: type guards and defaults shared by every layer.
import type { JsonObject } from './types.js';

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function obj(v: unknown): JsonObject {
  return isObject(v) ? v : {};
}

/**
 * Deep equality of parsed JSON (objects, arrays, strings, numbers, booleans, null), key order
 * ignored, -0 not 0 (as `Object.is`). Many times faster than util.isDeepStrictEqual, which also
 * handles every other type.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  // -0 and 0 differ: the API server keeps a -0 it is sent, and Helm prints it as -0.
  if (a === b) return a !== 0 || Object.is(a, b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for-in over own keys, counted, instead of two Object.keys arrays per object: 1.4-1.8 times
  // faster on a Cilium Application's spec, which every Argo CD sync compares whole.
  let keys = 0;
  for (const k in a) {
    if (!hasOwn.call(a, k)) continue;
    keys++;
    if (!hasOwn.call(b, k) || !jsonEqual((a as JsonObject)[k], (b as JsonObject)[k])) return false;
  }
  // Every key of `a` is in `b`: equal when `b` has no more.
  for (const k in b) if (hasOwn.call(b, k) && --keys < 0) return false;
  return true;
}

const hasOwn = Object.prototype.hasOwnProperty;
