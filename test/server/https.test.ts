// The wire, over real HTTPS: what kube-apiserver sends and what it accepts back, and every kind of
// bad input answered with a clean 4xx instead of a crash.
import http from 'node:http';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createMetricsServer } from '../../src/server/metrics.js';
import { judge, makeReview } from '../helpers/apiserver.js';
import { example } from '../helpers/corpus.js';
import { destroyAgents, post, request, startGuard } from '../helpers/https.js';

const running = await startGuard({ bodyLimit: 4 * 1024 * 1024 });
t.teardown(async () => {
  destroyAgents();
  await running.close();
});

const app = example('01-app-cilium-good.yaml');

t.test('echoes the uid and answers admission.k8s.io/v1 without a patch from /validate', async (t) => {
  const review = makeReview({ operation: 'CREATE', object: app, uid: '705ab4f5-6393-11e8-b7cc-42010a800002' });
  const res = await post(`${running.url}/validate?timeout=10s`, JSON.stringify(review), running.ca);
  t.equal(res.status, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  const body = JSON.parse(res.body) as { apiVersion: string; kind: string; response: Record<string, unknown> };
  t.same(body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true } });
});

t.test('a denial is HTTP 200 with allowed false, code 403 and a message that says what to change', async (t) => {
  const bad = structuredClone(app) as { spec: { destination: { namespace: string } } };
  bad.spec.destination.namespace = 'cilium';
  const review = makeReview({ operation: 'CREATE', object: bad as unknown as Record<string, unknown> });
  const res = await post(`${running.url}/validate`, JSON.stringify(review), running.ca);
  const verdict = judge(review, res.status, res.body, 'validating');
  t.equal(verdict.outcome, 'denied');
  t.equal(verdict.code, 403);
  t.equal(
    verdict.message,
    'admission webhook "validate.cilium-guard.io" denied the request: cilium-guard denied Application argocd/cilium: [R1] spec.destination.namespace is "cilium", so Cilium would be installed a second time outside kube-system; set it to "kube-system" (see https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/R1.md)',
  );
  t.same(verdict.auditAnnotations, { 'validate.cilium-guard.io/decision': 'denied', 'validate.cilium-guard.io/rule.R1': 'deny' });
  const record = running.logs.find((l) => l.event === 'cilium-guard.audit' && l.uid === (review.request as { uid: string }).uid);
  t.match(record, {
    rule: 'R1',
    verdict: 'deny',
    kind: 'Application',
    namespace: 'argocd',
    name: 'cilium',
    operation: 'CREATE',
    user: 'kubernetes-admin',
    dryRun: false,
    path: 'spec.destination.namespace',
    value: 'cilium',
  });
});

t.test('a DELETE review (object null) is judged on oldObject', async (t) => {
  const review = makeReview({ operation: 'DELETE', oldObject: app, dryRun: true });
  const res = await post(`${running.url}/validate`, JSON.stringify(review), running.ca);
  t.equal(judge(review, res.status, res.body, 'validating').outcome, 'denied');
  const record = running.logs.find((l) => l.uid === (review.request as { uid: string }).uid);
  t.equal(record?.dryRun, true, 'dryRun is recorded');
});

t.test('/mutate never patches what is not argocd-cm', async (t) => {
  const review = makeReview({ operation: 'CREATE', object: app });
  const res = await post(`${running.url}/mutate`, JSON.stringify(review), running.ca);
  const body = JSON.parse(res.body) as { response: Record<string, unknown> };
  t.same(body.response, { uid: (review.request as { uid: string }).uid, allowed: true });
});

const bad: Array<[string, string | Buffer, number, RegExp]> = [
  ['malformed JSON', '{"apiVersion": "admission.k8s.io/v1", ', 400, /JSON/i],
  ['a JSON array', '[]', 400, /AdmissionReview/],
  ['a wrong apiVersion', JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }), 400, /admission\.k8s\.io\/v1/],
  ['a missing request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, /request is missing/],
  ['an empty uid', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '', kind: { kind: 'X' }, operation: 'CREATE' } }), 400, /uid/],
  ['an unknown operation', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, operation: 'PATCH' } }), 400, /operation/],
  ['an object that is a string', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, operation: 'CREATE', object: 'x' } }), 400, /object/],
  ['a __proto__ key', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","__proto__":{"x":1}}', 400, /./],
  ['truncated UTF-8', Buffer.from([0x7b, 0x22, 0xe2, 0x82]), 400, /./],
  // Valid JSON once decoded with replacement characters: refused rather than judged on text nobody sent.
  [
    'a review with an invalid UTF-8 byte in a string',
    Buffer.concat([Buffer.from('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x'), Buffer.from([0xff]), Buffer.from('"}}')]),
    400,
    /not valid UTF-8/,
  ],
];
for (const [what, body, status, message] of bad) {
  t.test(`${what} gets HTTP ${status} with a JSON error`, async (t) => {
    const res = await post(`${running.url}/validate`, body, running.ca);
    t.equal(res.status, status);
    const parsed = JSON.parse(res.body) as { message: string };
    t.match(parsed.message, message);
  });
}

t.test('a wrong content type gets 415', async (t) => {
  const res = await post(`${running.url}/validate`, 'apiVersion: x', running.ca, { 'content-type': 'application/yaml' });
  t.equal(res.status, 415);
});

t.test('a body over the limit gets 413 and the server keeps serving', async (t) => {
  const big = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', padding: 'x'.repeat(5 * 1024 * 1024) });
  const res = await post(`${running.url}/validate`, big, running.ca);
  t.equal(res.status, 413);
  const ok = await post(`${running.url}/validate`, JSON.stringify(makeReview({ operation: 'CREATE', object: app })), running.ca);
  t.equal(ok.status, 200);
});

t.test('the default body limit is above the API server 3 MiB request limit', async (t) => {
  const { DEFAULT_BODY_LIMIT } = await import('../../src/server/app.js');
  t.ok(DEFAULT_BODY_LIMIT > 3 * 1024 * 1024);
  const padded = structuredClone(app) as { metadata: Record<string, unknown> };
  padded.metadata.annotations = { 'example.com/blob': 'y'.repeat(3 * 1024 * 1024) };
  const review = makeReview({ operation: 'UPDATE', object: padded as unknown as Record<string, unknown>, oldObject: app });
  const res = await post(`${running.url}/validate`, JSON.stringify(review), running.ca);
  t.equal(judge(review, res.status, res.body, 'validating').outcome, 'allowed', 'a 3 MiB UPDATE is answered');
});

t.test('probes', async (t) => {
  const health = await request(`${running.url}/healthz`, { ca: running.ca });
  t.equal(health.status, 200);
  const ready = await request(`${running.url}/readyz`, { ca: running.ca });
  t.equal(ready.status, 200);
  const other = await request(`${running.url}/metrics`, { ca: running.ca });
  t.equal(other.status, 404, 'metrics are not on the admission port');
});

t.test('TLS: 1.3 is the floor by default, 1.2 with AEAD suites an option, and the certificate is verified', async (t) => {
  const legacy = await startGuard({ tls: { minVersion: 'TLSv1.2' } });
  t.teardown(() => legacy.close());
  const handshake = (opts: tls.ConnectionOptions, on: typeof running = running) =>
    new Promise<string>((resolve) => {
      const { port } = on.guard.app.server.address() as AddressInfo;
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
        const v = socket.getProtocol() ?? '';
        socket.end();
        resolve(v);
      });
      socket.on('error', (e) => resolve(`error: ${e.message}`));
    });
  t.match(await handshake({ ca: running.ca }), 'TLSv1.3');
  t.match(await handshake({ ca: running.ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), /^error/, 'TLS 1.2 is refused by default');
  t.match(await handshake({ ca: running.ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, legacy), 'TLSv1.2', 'TLS 1.2 when allowed');
  t.match(await handshake({ ca: running.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, legacy), /^error/);
  t.match(await handshake({}), /^error: .*(self-signed|unable to verify|certificate)/i, 'an unknown CA is refused by the client');
  // TLS 1.2: forward-secret AEAD suites only; CBC modes and RSA key exchange are refused.
  for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384', 'AES128-GCM-SHA256']) {
    t.match(await handshake({ ca: running.ca, maxVersion: 'TLSv1.2', ciphers: cipher }, legacy), /^error/, `TLS 1.2 with ${cipher} is refused`);
  }
  t.match(await handshake({ ca: running.ca, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256' }, legacy), 'TLSv1.2', 'TLS 1.2 with an ECDHE AES-GCM suite works');
});

t.test('no plain HTTP on the admission port', async (t) => {
  const { port } = running.guard.app.server.address() as AddressInfo;
  const answer = await new Promise<string>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => resolve(`HTTP ${res.statusCode}`));
    req.on('error', (e) => resolve(`error: ${e.message}`));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(makeReview({ operation: 'CREATE', object: app })));
  });
  t.match(answer, /^error/, `a plain-HTTP review gets no HTTP answer (${answer})`);
});

t.test('metrics live on their own plain-HTTP server and count rule results', async (t) => {
  const server = createMetricsServer(running.metrics);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  const metrics = await get('/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.body, /cilium_guard_rule_results_total\{rule="R1",verdict="deny",caller="unauthenticated"\} \d+/);
  t.match(metrics.body, /cilium_guard_admission_requests_total\{route="validate",operation="CREATE",kind="Application",verdict="denied",caller="unauthenticated"\}/);
  t.match(metrics.body, /cilium_guard_admission_duration_seconds_bucket/);
  t.match(metrics.body, /cilium_guard_admission_errors_total\{route="validate",reason="bad_request"\}/);
  for (const path of ['/validate', '/mutate', '/healthz', '/readyz', '/', '/metrics/../validate']) {
    t.equal((await get(path)).status, 404, `the metrics port serves nothing else: ${path}`);
  }
  const posted = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/metrics', method: 'POST' }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
    req.on('error', reject);
    req.end('{}');
  });
  t.equal(posted, 404, 'and only GET /metrics');
  server.close();
});

t.test('draining: /readyz turns 503 and in-flight reviews still complete', async (t) => {
  const own = await startGuard();
  const reviews = Array.from({ length: 20 }, () => makeReview({ operation: 'CREATE', object: app }));
  const inflight = reviews.map((r) => post(`${own.url}/validate`, JSON.stringify(r), own.ca));
  own.guard.setDraining();
  const ready = await request(`${own.url}/readyz`, { ca: own.ca, agent: false });
  t.equal(ready.status, 503);
  const closing = own.close();
  const results = await Promise.all(inflight);
  await closing;
  t.same(results.map((r) => r.status), reviews.map(() => 200), 'no request failed');
});

t.test('a 200,000-deep nested value gets an answer, not a crash', async (t) => {
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  const body = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"deep","kind":{"group":"argoproj.io","version":"v1alpha1","kind":"Application"},"operation":"UPDATE","userInfo":{},"object":{"kind":"Application","metadata":{"name":"cilium","namespace":"argocd"},"spec":{"source":{"chart":"cilium","helm":{"valuesObject":{"x":${deep}}}}}},"oldObject":{"kind":"Application","metadata":{"name":"cilium","namespace":"argocd"},"spec":{"x":${deep}}}}}`;
  const res = await post(`${running.url}/validate`, body, running.ca);
  t.equal(res.status, 200);
  t.match(JSON.parse(res.body), { response: { uid: 'deep', allowed: false, status: { message: /\[V1\] .*nests deeper than 64 levels/ } } });
  t.equal((await request(`${running.url}/healthz`, { ca: running.ca })).status, 200, 'still serving');
});

// Each body stays under this file's 4 MiB limit, so the rules (not the limit) are what is measured.
t.test('huge arrays where the rules look get an answer in bounded time', async (t) => {
  const cases: Array<[string, (a: Record<string, any>) => void, RegExp | null]> = [
    ['100,000 sync options', (a) => (a.spec.syncPolicy.syncOptions = [...Array(99_999).fill('CreateNamespace=true'), 'ServerSideApply=true']), null],
    ['50,000 --set parameters, the last one turning kube-proxy replacement off', (a) => (a.spec.source.helm.parameters = [...Array.from({ length: 49_999 }, (_, i) => ({ name: `p${i}`, value: 'x' })), { name: 'kubeProxyReplacement', value: 'false' }]), /\[R4\]/],
    ['25,000 status resources and 10,000 managedFields', (a) => {
      a.status = { resources: Array.from({ length: 25_000 }, (_, i) => ({ kind: 'ConfigMap', name: `c${i}`, namespace: 'kube-system', status: 'Synced' })) };
      a.metadata.managedFields = Array.from({ length: 10_000 }, (_, i) => ({ manager: `m${i}`, operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} }));
    }, null],
    ['2,000 sources', (a) => (a.spec.sources = Array.from({ length: 2_000 }, () => structuredClone(a.spec.source))), null],
  ];
  for (const [what, edit, denial] of cases) {
    const object = structuredClone(app) as Record<string, any>;
    edit(object);
    const body = JSON.stringify(makeReview({ operation: 'CREATE', object }));
    const t0 = performance.now();
    const res = await post(`${running.url}/validate`, body, running.ca);
    const ms = performance.now() - t0;
    t.equal(res.status, 200, `${what} (${(body.length / 1024 / 1024).toFixed(1)} MiB): HTTP 200 in ${ms.toFixed(0)} ms`);
    t.ok(ms < 5000, `${what}: within the API server's 5 s webhook timeout`);
    const response = (JSON.parse(res.body) as { response: { allowed: boolean; status?: { message?: string } } }).response;
    if (denial) t.match(response.status?.message ?? '', denial, `${what}: denied for the right rule`);
    else t.type(response.allowed, 'boolean', `${what}: a verdict`);
  }
});
