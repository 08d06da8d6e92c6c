// The same across reviews: the effective values of a source whose content was seen lately.
//
// Argo CD writes the Cilium Application again and again with the same sources (every sync sets
// `operation` on an unchanged spec, and an UPDATE carries the previous object as oldObject), and one
// review renders the same content up to three times (the spec's sources, the pending sync's, and
// the old object's for L1). An evaluation is a pure function of its source, the source's field path
// and kind, and the Application's context (name, instance name, destination namespace, project),
// so sharing it between equal keys changes no answer. Pure: no I/O, no clock.
import { LRUCache } from 'lru-cache';
import type { PolicyConfig } from './config.js';
import { jsonEqual } from './json.js';
import type { RenderSource } from './identify.js';
import type { JsonObject } from './types.js';
import type { AppContext } from './values/argocd-helm.js';
import type { EffectiveValues } from './values/effective.js';

/**
 * Bounds: `max` contents kept, `maxSize` characters of source in all of them (strings and keys,
 * plus one per node), `maxEntrySize` for one content (a larger source is not shared), `seen`
 * contents seen once remembered by the doorkeeper, `bucket` contents kept under one fingerprint.
 */
export const SHARED = { max: 64, maxSize: 2_000_000, maxEntrySize: 200_000, seen: 256, bucket: 4 } as const;

/** What decides an evaluation: compared whole before one is shared. */
export interface ContentKey {
  /** A fingerprint of all of it: unequal fingerprints mean unequal keys; equal ones are compared. */
  readonly hash: number;
  /** Characters of the source (strings and keys), plus one per node. */
  readonly size: number;
  readonly path: string;
  readonly kind: string;
  readonly ctx: AppContext;
  readonly source: JsonObject;
}

/*
 * The key was JSON.stringify of all of it, the Map hashing that string, and a walk for -0: on
 * content seen before, half of a Cilium review's policy time (2026-11-28, a 750-character source:
 * 3.5 µs a source). Now one walk makes a fingerprint, and a hit compares the two sources node by
 * node: 1.4 + 0.9 µs. The fingerprint reads every character of a value up to 256 (an id, a CIDR, a
 * version differ in one), 128-256 spread over a longer one and its last 32, and a key's length
 * and three characters (keys are names from the chart; reading them whole was a third of the
 * walk). Two contents that share a fingerprint cost a comparison more (a bucket holds a few), never
 * a wrong answer; they only make the doorkeeper take the second for the first.
 */
const PRIME = 16777619; // FNV-1a's 32-bit prime
const OFFSET = 2166136261;

function mix(h: number, n: number): number {
  return Math.imul(h ^ n, PRIME);
}

function mixString(h: number, s: string): number {
  const n = s.length;
  h = mix(h, n);
  if (n <= 256) {
    for (let i = 0; i < n; i++) h = mix(h, s.charCodeAt(i));
    return h;
  }
  const step = n >> 7; // 128 to 256 spread over it, and the last 32
  for (let i = 0; i < n; i += step) h = mix(h, s.charCodeAt(i));
  for (let i = n - 32; i < n; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

function mixKey(h: number, k: string): number {
  const n = k.length;
  return n === 0 ? mix(h, 0) : mix(mix(h, n), k.charCodeAt(0) ^ (k.charCodeAt(n >> 1) << 8) ^ (k.charCodeAt(n - 1) << 16));
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The walk's budget of characters and nodes left; a walk that finds what is not shared sets it below 0. */
let budget = 0;

/**
 * The fingerprint of `x` mixed into `h`; what is not shared leaves budget below 0: a -0 (JSON
 * writes it as 0, Helm prints it as -0, and the comparison below could not tell them apart), a
 * number JSON cannot write (NaN, Infinity: `check` reads YAML), any other non-JSON value, a tree
 * deeper than any rendering reads, or one over the entry budget (a cycle, a recursive YAML alias in
 * `check`'s input, exhausts it). No allocation, no recursion past a depth of 1,000.
 */
function fingerprint(x: unknown, h: number, depth: number): number {
  if (--budget < 0 || depth > 1000) return (budget = -1);
  switch (typeof x) {
    case 'string':
      budget -= x.length;
      return mixString(mix(h, 1), x);
    case 'number':
      if (!Number.isFinite(x) || Object.is(x, -0)) return (budget = -1);
      return mix(mix(mix(h, 2), x | 0), (x * 4096) | 0);
    case 'boolean':
      return mix(h, x ? 3 : 4);
    case 'object': {
      if (x === null) return mix(h, 5);
      if (Array.isArray(x)) {
        h = mix(mix(h, 6), x.length);
        for (let i = 0; i < x.length && budget >= 0; i++) h = fingerprint(x[i], h, depth + 1);
        return h;
      }
      const proto: unknown = Object.getPrototypeOf(x);
      if (proto !== Object.prototype && proto !== null) return (budget = -1); // a Date, a Map: not JSON
      h = mix(h, 7);
      for (const k in x) {
        if (budget < 0) break;
        if (!hasOwn.call(x, k)) continue;
        budget -= k.length;
        h = fingerprint((x as JsonObject)[k], mixKey(h, k), depth + 1);
      }
      return mix(h, 8);
    }
    default:
      return (budget = -1);
  }
}

/**
 * The key of a source's content in its Application, or null when it is not shared (see
 * fingerprint). Exported for its test.
 */
export function contentKey(src: RenderSource, ctx: AppContext): ContentKey | null {
  let h = mixString(mixString(mixString(OFFSET, src.path), src.kind), ctx.name);
  h = mixString(mixString(mixString(h, ctx.instanceName), ctx.destinationNamespace), ctx.project);
  budget = SHARED.maxEntrySize;
  h = fingerprint(src.source, h, 0);
  if (budget < 0) return null;
  return { hash: h >>> 0, size: SHARED.maxEntrySize - budget, path: src.path, kind: src.kind, ctx, source: src.source };
}

export function sameContent(a: ContentKey, b: ContentKey): boolean {
  return (
    a.hash === b.hash &&
    a.size === b.size &&
    a.path === b.path &&
    a.kind === b.kind &&
    a.ctx.name === b.ctx.name &&
    a.ctx.instanceName === b.ctx.instanceName &&
    a.ctx.destinationNamespace === b.ctx.destinationNamespace &&
    a.ctx.project === b.ctx.project &&
    // Equal as JSON values, keys as sets. Key order, which Argo CD ignores (Go reads an object into a
    // map) but a message may follow, is compared through the fingerprint, which is order-sensitive.
    jsonEqual(a.source, b.source)
  );
}

interface Entry {
  key: ContentKey;
  values: EffectiveValues;
}

/**
 * Kept per policy object, which is never changed once made (`serve` makes one at start; another
 * policy is a restart).
 *
 * A rendering is kept from the second time its content is seen (a doorkeeper). Content seen once
 * is a user's edit, or a benchmark's: kept, it outlives a few hundred reviews, so the collector
 * copies it out of the young generation, promotes it and sweeps it with a full collection, which
 * under reviews of new content cost a third of cilium-guard's CPU. Argo CD writes what it syncs
 * again and again, so its content is kept from its second write. Only the fingerprint of content
 * seen once is remembered (two contents that share one count as one: the second is kept early).
 */
export class SharedValues {
  private readonly kept = new LRUCache<number, Entry[]>({
    max: SHARED.max,
    maxSize: SHARED.maxSize,
    maxEntrySize: SHARED.maxEntrySize * SHARED.bucket,
    sizeCalculation: (bucket) => bucket.reduce((n, e) => n + e.key.size, 0),
  });
  private readonly seenOnce = new LRUCache<number, true>({ max: SHARED.seen });

  get(key: ContentKey): EffectiveValues | undefined {
    const bucket = this.kept.get(key.hash);
    if (bucket) for (const e of bucket) if (sameContent(e.key, key)) return e.values;
    return undefined;
  }

  /** An evaluation made for `key` (which get() did not have). */
  offer(key: ContentKey, values: EffectiveValues): void {
    if (this.seenOnce.delete(key.hash)) {
      const bucket = this.kept.get(key.hash) ?? [];
      // The newest first; the oldest of a full bucket goes.
      this.kept.set(key.hash, [{ key, values }, ...bucket.slice(0, SHARED.bucket - 1)]);
    } else {
      this.seenOnce.set(key.hash, true);
    }
  }
}

const perPolicy = new WeakMap<PolicyConfig, SharedValues>();

export function sharedValuesFor(config: PolicyConfig): SharedValues {
  let found = perPolicy.get(config);
  if (!found) perPolicy.set(config, (found = new SharedValues()));
  return found;
}
