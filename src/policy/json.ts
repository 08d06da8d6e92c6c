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
