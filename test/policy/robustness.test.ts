// Wrong types in every field: each corpus object is mutated at random places (a seeded PRNG, so
// a failure reproduces) and judged as CREATE, UPDATE and DELETE by both webhooks. The engine must
// always return a decision, and the encoder a valid response; never throw.
import t from 'tap';
import { encodeResponse } from '../../src/admission/respond.js';
import { defaultConfig } from '../../src/policy/config.js';
import { mutate, validate } from '../../src/policy/engine.js';
import type { JsonObject, PolicyRequest } from '../../src/policy/types.js';
import { loadCorpus } from '../helpers/corpus.js';
import { NASTY, paths } from '../helpers/nasty.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function replaceAt(root: JsonObject, path: Array<string | number>, value: unknown): JsonObject {
  if (path.length === 0) return (value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as JsonObject;
  const copy = structuredClone(root);
  let node: Record<string | number, unknown> = copy as Record<string, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  node[path[path.length - 1] as string] = structuredClone(value);
  return copy;
}

t.test('mutated reviews never throw and always get a well-formed answer', async (t) => {
  const config = defaultConfig();
  const objects = loadCorpus().flatMap((c) => [c.object, c.oldObject]).filter((o): o is JsonObject => o !== null);
  const rand = prng(20261125);
  let tried = 0;
  let thrown = 0;
  for (let i = 0; i < 3000; i++) {
    const base = objects[Math.floor(rand() * objects.length)] as JsonObject;
    let obj = base;
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
      const all = paths(obj);
      const p = all[Math.floor(rand() * all.length)] ?? [];
      obj = replaceAt(obj, p, NASTY[Math.floor(rand() * NASTY.length)]);
    }
    const kind = String((base as { kind?: unknown }).kind);
    const group = kind === 'ConfigMap' ? '' : 'argoproj.io';
    for (const operation of ['CREATE', 'UPDATE', 'DELETE'] as const) {
      const req: PolicyRequest = {
        operation,
        kind: { group, version: 'v1', kind },
        object: operation === 'DELETE' ? null : obj,
        oldObject: operation === 'CREATE' ? null : operation === 'UPDATE' ? base : obj,
        userInfo: {},
        dryRun: false,
      };
      tried++;
      try {
        const v = validate(req, config);
        const m = mutate(req, config);
        const a = encodeResponse('u', v);
        const b = encodeResponse('u', m, { original: req.object });
        if (typeof v.allowed !== 'boolean' || a.response?.uid !== 'u' || b.response?.uid !== 'u') thrown++;
      } catch (err) {
        thrown++;
        if (thrown < 5) t.fail(`threw on ${operation} ${kind}: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }
  t.equal(thrown, 0, `${tried} mutated reviews, none threw`);
  t.comment(`robustness: ${tried} mutated reviews judged without an exception`);
});
