// What the benchmark made faster must still be exactly right: JSON equality for the status-only
// update check, the M1 plan cache, warning rune counting, and the values-tree key search.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { sanitizeWarnings } from '../../src/admission/respond.js';
import { EXCLUSIONS_KEY, ensureExclusion } from '../../src/policy/argocd-cm.js';
import { defaultConfig } from '../../src/policy/config.js';
import { jsonEqual } from '../../src/policy/json.js';
import type { JsonObject } from '../../src/policy/types.js';

t.test('jsonEqual: JSON values, key order ignored', async (t) => {
  const cases: Array<[unknown, unknown, boolean]> = [
    [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [{ a: [1, 2] }, { a: [2, 1] }, false],
    [[], {}, false],
    [{}, [], false],
    [null, null, true],
    [null, {}, false],
    ['1', 1, false],
    [undefined, undefined, true],
    [{ a: { b: { c: [null] } } }, { a: { b: { c: [null] } } }, true],
    [{ a: { b: { c: [null] } } }, { a: { b: { c: [0] } } }, false],
    [[1, [2, [3]]], [1, [2, [3]]], true],
    [-0, 0, false],
    [{ a: [-0] }, { a: [0] }, false],
    [{ a: -0 }, JSON.parse('{"a": -0}'), true],
  ];
  for (const [a, b, want] of cases) t.equal(jsonEqual(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});

t.test('jsonEqual: the answer of util.isDeepStrictEqual on parsed JSON, "__proto__" keys and key order included', async (t) => {
  // As the API server sends them: parsed text (no -0, no undefined), a "__proto__" key an own key.
  const parsed = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
  const reordered = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(reordered) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reordered(x)])) : v;
  const json = fc.jsonValue({ maxDepth: 4 });
  const withProto = json.map((v) => JSON.parse(`{"__proto__":${JSON.stringify(v)},"a":1}`) as unknown);
  const pairs = fc.oneof(
    fc.tuple(json, json),
    json.map((v) => [v, reordered(v)] as const),
    fc.tuple(json, json).map(([v, w]) => [{ a: v, b: [v] }, { b: [reordered(v)], a: w }] as const),
    fc.tuple(withProto, withProto),
    withProto.map((v) => [v, reordered(v)] as const),
    withProto.map((v) => [v, { a: 1 }] as const),
  );
  const seen = { equal: 0, different: 0 };
  fc.assert(
    fc.property(pairs, ([x, y]) => {
      const [a, b] = [parsed(x), parsed(y)];
      const want = isDeepStrictEqual(a, b);
      seen[want ? 'equal' : 'different']++;
      return jsonEqual(a, b) === want && jsonEqual(b, a) === want;
    }),
    { seed: 20261127, numRuns: 5_000 },
  );
  t.ok(seen.equal > 1_000 && seen.different > 1_000, `both answers were checked (${seen.equal} equal, ${seen.different} different)`);
});

function argocdCm(exclusions: string): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/part-of': 'argocd' } },
    data: { url: 'https://argocd.example', [EXCLUSIONS_KEY]: exclusions },
  };
}

t.test('M1: the same exclusions text gives the same answer, cached or not, and never aliases the request', async (t) => {
  const config = defaultConfig();
  const text = '- apiGroups: ["tekton.dev"]\n  kinds: ["TaskRun"]\n';
  const first = ensureExclusion(argocdCm(text), config);
  const cm = argocdCm(text);
  const second = ensureExclusion(cm, config);
  t.same(second, first, 'a cache hit answers exactly as the first computation');
  if (second.kind !== 'missing' || !second.patched) throw new Error('expected a patch');
  t.not(second.patched.data, cm.data, 'the patched copy has its own data map');
  t.equal((cm.data as JsonObject)[EXCLUSIONS_KEY], text, 'the request object is untouched');
  t.match((second.patched.data as JsonObject)[EXCLUSIONS_KEY], /^- apiGroups: \["tekton\.dev"\][\s\S]*CiliumIdentity/);
  // More distinct texts than the cache holds: each still gets its own, right answer.
  for (let i = 0; i < 200; i++) {
    const own = `- apiGroups: ["g${i}.example"]\n  kinds: ["K${i}"]\n`;
    const r = ensureExclusion(argocdCm(own), config);
    if (r.kind !== 'missing' || !r.patched) throw new Error(`text ${i}: ${r.kind}`);
    t.ok(String((r.patched.data as JsonObject)[EXCLUSIONS_KEY]).startsWith(own), `text ${i} keeps its own entries`);
  }
  t.same(ensureExclusion(argocdCm(text), config), first, 'an evicted text is computed again, the same');
  t.equal(ensureExclusion(argocdCm(`${text}- apiGroups: ["cilium.io"]\n  kinds: ["CiliumIdentity"]\n  clusters: ["*"]\n`), config).kind, 'covered');
  t.equal(ensureExclusion(argocdCm('- [unclosed'), config).kind, 'unreadable');
  const other = { ...defaultConfig(), argocd: { ...config.argocd, exclusion: { apiGroups: ['example.com'], kinds: ['Thing'], clusters: ['*'] } } };
  const r = ensureExclusion(argocdCm(text), other);
  if (r.kind !== 'missing' || !r.patched) throw new Error('expected a patch');
  t.match((r.patched.data as JsonObject)[EXCLUSIONS_KEY], /example\.com/, 'another policy has its own cache');
});

t.test('warnings: runes as the API server counts them', async (t) => {
  const emoji = '😀'; // one rune, two UTF-16 units
  const [long] = sanitizeWarnings([emoji.repeat(600)]);
  t.equal(Array.from(long!).length, 512, 'an item is cut at 512 runes, not 512 UTF-16 units');
  t.ok(long!.endsWith('…'));
  t.notMatch(long!, /\uFFFD/, 'never splits a surrogate pair');
  t.same(sanitizeWarnings([`a\u0000b\nc\u009f`]), ['a b c'], 'control characters become spaces');
  const many = sanitizeWarnings(Array.from({ length: 20 }, (_, i) => `${i} ${emoji.repeat(400)}`));
  const total = many.slice(0, -1).reduce((n, w) => n + Array.from(w).length, 0);
  t.ok(total <= 4096, `total ${total} runes within 4096`);
  t.match(many.at(-1), /more warning\(s\) omitted/);
  t.same(sanitizeWarnings([emoji.repeat(512)]), [emoji.repeat(512)], 'exactly 512 runes is kept whole');
});
