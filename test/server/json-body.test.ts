// The parser's shortcut (src/server/json-body.ts) against fastify's own JSON parser, the one the
// server falls back to: wherever the shortcut is taken, both must give the same value or both fail;
// and, over real HTTPS, every kind of prototype poisoning is still refused.
import fc from 'fast-check';
import Fastify from 'fastify';
import t from 'tap';
import { plainJson } from '../../src/server/json-body.js';
import { makeReview } from '../helpers/apiserver.js';
import { example } from '../helpers/corpus.js';
import { destroyAgents, post, startGuard } from '../helpers/https.js';

const fastifyParse = Fastify().getDefaultJsonParser('error', 'error');
type Outcome = { ok: true; value: unknown } | { ok: false };
function viaFastify(text: string): Outcome {
  let out: Outcome = { ok: false };
  fastifyParse({} as never, text, (err: Error | null, value?: unknown) => {
    out = err ? { ok: false } : { ok: true, value };
  });
  return out;
}
function viaJsonParse(text: string): Outcome {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const POISON = [
  '{"__proto__":{"polluted":true}}',
  '{"a":[{"__proto__":1}]}',
  '{"\\u005f_proto__":{"x":1}}',
  '{"__pr\\u006fto__":{"x":1}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{"a":{"constructor":{"prot\\u006ftype":{}}}}',
  '{"\\u0063onstructor":{"prototype":{}}}',
];

t.test('the shortcut is never taken for a body that may hold a poisoned key, a \\u escape or a BOM', async (t) => {
  for (const text of POISON) {
    t.equal(plainJson(text), false, text);
    t.equal(viaFastify(text).ok, false, `fastify refuses ${text}`);
  }
  t.equal(plainJson('\ufeff{"a":1}'), false, 'a BOM, which fastify strips and JSON.parse refuses');
  t.same(viaFastify('\ufeff{"a":1}'), { ok: true, value: { a: 1 } });
  t.equal(plainJson('{"protocol":"TCP"}'), false, 'any "proto" at all');
  t.equal(plainJson('{"a":"\\u003c"}'), false, 'an escape that is no key');
  t.equal(plainJson('{"constructor":1,"a":"\\n"}'), true, 'a plain "constructor" key with no "proto" anywhere cannot be refused');
  t.same(viaFastify('{"constructor":1,"a":"\\n"}'), { ok: true, value: { constructor: 1, a: '\n' } });
});

t.test('wherever the shortcut is taken, JSON.parse gives what fastify gives (value or failure)', async (t) => {
  // JSON values, texts built from the tokens that matter, and arbitrary strings.
  const token = fc.constantFrom('"__proto__"', '"constructor"', '"prototype"', 'proto', '\\u005f', '\\u0063', '\\', '\ufeff', '{', '}', '[', ']', ':', ',', '"', ' ', '1', 'null', '"a"');
  // Objects whose keys may be poisoned, each letter of a key written plainly or as a \u escape.
  type Tree = number | null | string | Tree[] | { entries: Array<[string, Tree]> };
  const key = fc.constantFrom('__proto__', 'constructor', 'prototype', 'protocol', 'a');
  const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small' },
      fc.integer(),
      fc.constant(null),
      fc.string({ maxLength: 4 }),
      fc.array(tie('tree'), { maxLength: 3 }),
      fc.array(fc.tuple(key, tie('tree')), { maxLength: 3 }).map((entries) => ({ entries })),
    ),
  }));
  const write = (v: Tree, escape: () => boolean): string =>
    Array.isArray(v)
      ? `[${v.map((x) => write(x, escape)).join(',')}]`
      : v !== null && typeof v === 'object'
        ? `{${v.entries.map(([k, x]) => `"${[...k].map((c) => (escape() ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join('')}":${write(x, escape)}`).join(',')}}`
        : JSON.stringify(v);
  const escaped = fc.tuple(tree, fc.array(fc.boolean(), { minLength: 1, maxLength: 64 })).map(([v, bits]) => {
    let i = 0;
    // Mostly plain: a third of the letters escaped.
    return write(v, () => bits[i++ % bits.length] === true && bits[(i * 7) % bits.length] === true);
  });
  const texts = fc.oneof(
    escaped,
    fc.json(),
    fc.array(token, { maxLength: 24 }).map((xs) => xs.join('')),
    fc.jsonValue().map((v) => JSON.stringify({ a: v, constructor: v })),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  let taken = 0;
  let refusedByFastify = 0;
  fc.assert(
    fc.property(texts, (text) => {
      const fast = viaFastify(text);
      if (!fast.ok) refusedByFastify++;
      if (!plainJson(text)) return true;
      taken++;
      const mine = viaJsonParse(text);
      if (mine.ok !== fast.ok) return false;
      return !mine.ok || JSON.stringify(mine.value) === JSON.stringify((fast as { value: unknown }).value);
    }),
    { seed: 20261127, numRuns: 20_000 },
  );
  t.ok(taken > 5_000, `the shortcut was taken for ${taken} texts`);
  t.ok(refusedByFastify > 1_000, `fastify refused ${refusedByFastify} texts`);
});

t.test('over HTTPS: poisoned reviews are refused with 400, and a review with "protocol" or a BOM is judged', async (t) => {
  const running = await startGuard();
  t.teardown(async () => {
    destroyAgents();
    await running.close();
  });
  const review = JSON.stringify(makeReview({ operation: 'CREATE', object: example('01-app-cilium-good.yaml') }));
  for (const key of ['"__proto__"', '"\\u005f_proto__"']) {
    const res = await post(`${running.url}/validate`, review.replace(/^\{/, `{${key}:{"x":1},`), running.ca);
    t.equal(res.status, 400, `a ${key} key`);
  }
  const ctor = await post(`${running.url}/validate`, review.replace(/^\{/, '{"constructor":{"prototype":{"x":1}},'), running.ca);
  t.equal(ctor.status, 400, 'constructor.prototype');
  const broken = await post(`${running.url}/validate`, review.slice(0, -1), running.ca);
  t.equal(broken.status, 400, 'malformed JSON on the shortcut');
  t.match(JSON.parse(broken.body), { message: /valid JSON/ }, "fastify's message");
  for (const body of [review.replace(/^\{/, '{"protocol":"TCP",'), `\ufeff${review}`, review]) {
    const res = await post(`${running.url}/validate`, body, running.ca);
    t.equal(res.status, 200);
    t.equal((JSON.parse(res.body) as { response: { allowed: boolean } }).response.allowed, true);
  }
});
