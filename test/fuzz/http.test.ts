// Property-based fuzzing over real HTTPS: random bytes, truncated and non-UTF-8 reviews, wrong
// content types and bodies over the limit, sent to both webhooks of one server. Every request
// gets either an answer the API server accepts or a clean 4xx with a JSON reason; never a 5xx,
// never a hang, never a dead server.
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import t from 'tap';
import { judge } from '../helpers/apiserver.js';
import { destroyAgents, post, request, startGuard } from '../helpers/https.js';
import { admissionReview } from './arbitraries.js';

const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 500);
const LIMIT = 256 * 1024;
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/yaml', 'application/x-www-form-urlencoded', '', 'application/json; charset=latin1', 'multipart/form-data; boundary=x'];

type Outcome = 'answered' | `HTTP ${number}`;

async function send(url: string, ca: string, route: 'validate' | 'mutate', body: Buffer, contentType: string, review: Record<string, unknown> | null): Promise<Outcome> {
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  const res = await Promise.race([
    post(`${url}/${route}`, body, ca, headers),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref()),
  ]);
  if (res.status >= 500) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  if (res.status >= 400) {
    const parsed = JSON.parse(res.body) as { message?: unknown };
    if (typeof parsed.message !== 'string' || parsed.message === '') throw new Error(`HTTP ${res.status} without a reason: ${res.body.slice(0, 200)}`);
    return `HTTP ${res.status}`;
  }
  if (!review) throw new Error(`HTTP ${res.status} for a body that is not a review: ${res.body.slice(0, 200)}`);
  const verdict = judge(review, res.status, res.body, route === 'validate' ? 'validating' : 'mutating');
  if (verdict.outcome === 'call-failure' || verdict.outcome === 'internal-error') throw new Error(`the API server would fail the call: ${verdict.message ?? ''}`);
  return 'answered';
}

/** How one body is damaged on its way: not at all, cut short, invalid UTF-8 bytes, or padded over the limit. */
const damage = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bytes' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => b.map((x) => 0x80 | x)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('oversize' as const), extra: fc.integer({ min: 1, max: 64 * 1024 }) }) },
);

t.test('random bodies, damaged reviews and wrong content types over HTTPS', async (t) => {
  const guard = await startGuard({ bodyLimit: LIMIT });
  t.teardown(async () => {
    destroyAgents();
    await guard.close();
  });
  const outcomes = new Map<Outcome, number>();
  const count = (o: Outcome): void => void outcomes.set(o, (outcomes.get(o) ?? 0) + 1);

  await fc.assert(
    fc.asyncProperty(admissionReview, damage, fc.oneof({ weight: 6, arbitrary: fc.constant('application/json') }, { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) }), fc.constantFrom('validate' as const, 'mutate' as const), async (review, d, contentType, route) => {
      let body = Buffer.from(JSON.stringify(review));
      // The charset label does not matter: JSON is read as UTF-8, the only encoding it has.
      let intact = d.kind === 'none' && contentType.startsWith('application/json');
      if (d.kind === 'truncate') body = body.subarray(0, Math.floor(body.length * d.at));
      if (d.kind === 'bytes') {
        const at = Math.floor(body.length * d.at);
        body = Buffer.concat([body.subarray(0, at), Buffer.from(d.bytes), body.subarray(at)]);
      }
      if (d.kind === 'oversize') {
        body = Buffer.concat([body, Buffer.alloc(Math.max(0, LIMIT - body.length) + d.extra, 0x20)]);
        intact = false;
      }
      // A cut or a stray byte can still leave valid JSON (inside a string, or a cut at the end).
      if (!intact && d.kind !== 'oversize' && contentType.startsWith('application/json') && isUtf8(body)) {
        try {
          JSON.parse(body.toString('utf8'));
          intact = true;
        } catch {
          // stays damaged
        }
      }
      const outcome = await send(guard.url, guard.ca, route, body, contentType, intact ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : null);
      if (!intact && outcome === 'answered') throw new Error('a damaged body was answered as a review');
      count(outcome);
    }),
    { numRuns: RUNS, seed: 20261125 },
  );

  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom(...CONTENT_TYPES), async (bytes, contentType) => {
      let parsed: Record<string, unknown> | null = null;
      try {
        parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
      } catch {
        // random bytes, as expected
      }
      const json = contentType.startsWith('application/json') && isUtf8(bytes) ? parsed : null;
      count(await send(guard.url, guard.ca, 'validate', Buffer.from(bytes), contentType, json));
    }),
    { numRuns: RUNS, seed: 20261126 },
  );

  const health = await request(`${guard.url}/healthz`, { ca: guard.ca });
  t.equal(health.status, 200, 'the server still serves after every input');
  t.equal(guard.logs.filter((l) => l.msg === 'request failed').length, 0, 'no request ended in an internal error');
  t.ok((outcomes.get('answered') ?? 0) > RUNS / 5, 'a good share of the inputs were real reviews, answered');
  for (const status of ['HTTP 400', 'HTTP 413', 'HTTP 415']) t.ok((outcomes.get(status as Outcome) ?? 0) > 0, `some inputs got ${status}`);
  const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
  t.equal(total, 2 * RUNS, `${total} requests, each with an answer or a clean 4xx`);
  t.comment(`fuzz over HTTPS: ${total} requests: ${[...outcomes].map(([o, n]) => `${o} ${n}`).join(', ')}`);
});
