// The EventRecorder: what an Event says, and that dry runs, duplicates, bursts and a slow or hung API
// server are handled without the admission answer ever waiting. The API-facing half (KubeEventSink
// through client-node) is exercised here against a TLS server that never answers, and against the
// real kube-apiserver in test/e2e/events.test.ts.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { EventRecorder, microTime, regardingOf, type EventResult, type EventSink, type KubeEvent } from '../../src/audit/events.js';
import { KubeEventSink } from '../../src/audit/kube-events.js';
import { loadKubeConfig } from '../../src/certs/kube.js';
import type { Finding, PolicyRequest } from '../../src/policy/types.js';
import { makeReview } from '../helpers/apiserver.js';
import { example } from '../helpers/corpus.js';
import { destroyAgents, post, startGuard, testCertificates } from '../helpers/https.js';

const quiet = pino({ level: 'silent' });

/** Records what the recorder sends; `hold` keeps every call pending until released. */
class RecordingSink implements EventSink {
  created: Array<{ namespace: string; event: KubeEvent }> = [];
  series: Array<{ namespace: string; name: string; count: number; lastObservedTime: string }> = [];
  pending: Array<() => void> = [];
  constructor(private readonly hold = false) {}
  private wait(): Promise<void> {
    return this.hold ? new Promise((resolve) => this.pending.push(resolve)) : Promise.resolve();
  }
  async create(namespace: string, event: KubeEvent): Promise<void> {
    this.created.push({ namespace, event });
    await this.wait();
  }
  async updateSeries(namespace: string, name: string, s: { count: number; lastObservedTime: string }): Promise<void> {
    this.series.push({ namespace, name, ...s });
    await this.wait();
  }
}

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    operation: 'CREATE',
    kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
    name: 'cilium',
    namespace: 'argocd',
    object: { metadata: { name: 'cilium', namespace: 'argocd' } },
    oldObject: null,
    userInfo: { username: 'alice' },
    dryRun: false,
    ...overrides,
  };
}

const deny = (rule: string, message = `rule ${rule} says no`): Finding => ({ rule: rule as Finding['rule'], verdict: 'deny', path: 'spec', message, certain: true });

function recorder(sink: EventSink, options: ConstructorParameters<typeof EventRecorder>[2] = {}) {
  const results: EventResult[] = [];
  const r = new EventRecorder(sink, quiet, { ...options, onResult: (x) => results.push(x) });
  t.teardown(() => r.stop());
  const count = (x: EventResult) => results.filter((y) => y === x).length;
  return { r, results, count };
}

t.test('an Event names the object, the rule and the message, as events.k8s.io/v1 requires', async (t) => {
  const sink = new RecordingSink();
  const { r } = recorder(sink, { instance: 'cilium-guard-7d9f-abcde' });
  r.denied(request(), [deny('R4', 'kubeProxyReplacement must stay true'), { rule: 'R2', verdict: 'warn', path: 'x', message: 'only a warning', certain: true }]);
  await r.drain();
  t.equal(sink.created.length, 1, 'one Event per denying finding; warnings get none');
  const { namespace, event } = sink.created[0]!;
  t.equal(namespace, 'argocd');
  t.match(event, {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { namespace: 'argocd', labels: { 'cilium-guard.io/rule': 'R4' } },
    reportingController: 'cilium-guard.io/admission-webhook',
    reportingInstance: 'cilium-guard-7d9f-abcde',
    action: 'Denied',
    reason: 'PolicyViolation',
    type: 'Warning',
    regarding: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'cilium' },
    note: 'cilium-guard denied CREATE: [R4] kubeProxyReplacement must stay true',
  });
  t.match(event.metadata.name, /^cilium\.[0-9a-f]{16}$/);
  t.match(event.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime, with microseconds');
  t.notOk('uid' in event.regarding, 'a denied CREATE has no object, so no uid');
});

t.test('regarding carries the uid of an object that exists, and nothing is recorded without a name', async (t) => {
  const update = request({ operation: 'UPDATE', oldObject: { metadata: { name: 'cilium', namespace: 'argocd', uid: 'u-1' } } });
  t.same(regardingOf(update), { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'cilium', uid: 'u-1' });
  const cm = request({ kind: { group: '', version: 'v1', kind: 'ConfigMap' }, name: 'cilium-config', namespace: 'kube-system' });
  t.equal(regardingOf(cm)?.apiVersion, 'v1', 'the core group has a bare version');
  const generated = request({ name: '', object: { metadata: { generateName: 'cilium-', namespace: 'argocd' } } });
  t.equal(regardingOf(generated), null);
  const sink = new RecordingSink();
  const { r } = recorder(sink);
  r.denied(generated, [deny('R1')]);
  await r.drain();
  t.equal(sink.created.length, 0);
});

t.test('never for dry runs', async (t) => {
  const sink = new RecordingSink();
  const { r, results } = recorder(sink);
  r.denied(request({ dryRun: true }), [deny('R4')]);
  await r.drain();
  t.equal(sink.created.length, 0);
  t.same(results, []);
});

t.test('the same denial again is one Event whose series.count is patched, once per flush', async (t) => {
  let now = Date.parse('2026-11-25T10:00:00Z');
  const sink = new RecordingSink();
  const { r, count } = recorder(sink, { now: () => now, flushIntervalMs: 3_600_000 });
  for (let i = 0; i < 10; i++) {
    r.denied(request(), [deny('R4')]);
    now += 1000;
  }
  r.denied(request(), [deny('R4', 'a different message')]);
  r.denied(request({ name: 'other', object: { metadata: { name: 'other', namespace: 'argocd' } } }), [deny('R4')]);
  await r.drain();
  t.equal(sink.created.length, 3, 'one per distinct object, rule and message');
  t.equal(count('deduplicated'), 9);
  r.flush();
  r.flush();
  await r.drain();
  t.equal(sink.series.length, 1, 'a flush with nothing new writes nothing');
  t.match(sink.series[0], { namespace: 'argocd', name: sink.created[0]!.event.metadata.name, count: 10, lastObservedTime: microTime(now - 1000) });
  t.equal(count('series_updated'), 1);

  now += 11 * 60_000; // past the 10-minute window: a new Event
  r.flush();
  r.denied(request(), [deny('R4')]);
  await r.drain();
  t.equal(sink.created.length, 4);
});

t.test('a token bucket limits bursts of distinct denials and refills over time', async (t) => {
  let now = 1_000_000;
  const sink = new RecordingSink();
  const { r, count } = recorder(sink, { now: () => now, burst: 3, perSecond: 1 });
  for (let i = 0; i < 5; i++) r.denied(request(), [deny('R4', `message ${i}`)]);
  await r.drain();
  t.equal(sink.created.length, 3);
  t.equal(count('rate_limited'), 2);
  now += 2000;
  for (let i = 5; i < 10; i++) r.denied(request(), [deny('R4', `message ${i}`)]);
  await r.drain();
  t.equal(sink.created.length, 5, 'two seconds at one per second: two more');
});

t.test('a hung API server: bounded in flight, bounded queue, the rest dropped, and record() never waits', async (t) => {
  const sink = new RecordingSink(true);
  const { r, count } = recorder(sink, { maxInFlight: 2, queueSize: 3, burst: 100, timeoutMs: 60_000 });
  for (let i = 0; i < 10; i++) r.denied(request(), [deny('R4', `message ${i}`)]);
  t.equal(sink.created.length, 2, 'two calls in flight');
  t.equal(count('dropped'), 5, 'three wait, five are dropped');
  sink.pending.splice(0).forEach((release) => release());
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(sink.created.length, 4, 'released slots take queued work');
  sink.pending.splice(0).forEach((release) => release());
  await new Promise((resolve) => setTimeout(resolve, 20));
  sink.pending.splice(0).forEach((release) => release());
  await r.drain();
  t.equal(count('sent'), 5);
});

t.test('a call slower than timeoutMs is reported as timed_out', async (t) => {
  const sink = new RecordingSink(true);
  const { r, count } = recorder(sink, { timeoutMs: 30 });
  r.denied(request(), [deny('R4')]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(count('timed_out'), 1);
  sink.pending.splice(0).forEach((release) => release());
  await r.drain();
  t.equal(count('sent'), 0, 'a late success is not counted twice');
});

t.test('KubeEventSink (client-node) aborts a call the API server never answers', async (t) => {
  const certs = await testCertificates();
  const hung: Array<{ url: string }> = [];
  const server = https.createServer({ key: certs.key, cert: certs.cert }, (req) => void hung.push({ url: req.url ?? '' }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const dir = mkdtempSync(path.join(process.env.CILIUM_GUARD_TEST_TMP ?? tmpdir(), 'events-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const { port } = server.address() as AddressInfo;
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'hung', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(certs.caCert).toString('base64') } }],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'c', context: { cluster: 'hung', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  const sink = await KubeEventSink.create(await loadKubeConfig(kubeconfig), 200);
  const { r, count } = recorder(sink, { timeoutMs: 5000 });

  // The webhook keeps answering while every Event write hangs. These reviews come without a client
  // certificate, so Events for them need eventsForUnauthenticated (the recorder path is the same).
  const guard = await startGuard({ events: r, eventsForUnauthenticated: true });
  t.teardown(async () => {
    destroyAgents();
    await guard.close();
  });
  const bad = example('01-app-cilium-good.yaml') as { metadata: Record<string, unknown>; spec: { destination: { namespace: string } } };
  bad.spec.destination.namespace = 'cilium';
  for (let i = 0; i < 20; i++) {
    bad.metadata.name = `cilium-${i}`;
    const res = await post(`${guard.url}/validate`, JSON.stringify(makeReview({ operation: 'CREATE', object: bad })), guard.ca);
    t.equal((JSON.parse(res.body) as { response: { allowed: boolean } }).response.allowed, false);
  }
  await r.drain(10_000);
  t.ok(hung.length >= 1, 'the Event writes reached the hung server');
  t.match(hung[0]!.url, /^\/apis\/events\.k8s\.io\/v1\/namespaces\/argocd\/events/);
  t.equal(count('failed'), 20, 'each call was aborted by its own 200 ms signal, so every slot came back');
  t.equal(count('sent'), 0);
});

t.test("an Event's note names the rule's page, and a long message is clipped before the link, never the link", async (t) => {
  const sink = new RecordingSink();
  const { r } = recorder(sink);
  const docs = 'https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/R4.md';
  r.denied(request(), [{ ...deny('R4', 'kubeProxyReplacement must stay true'), docs }]);
  r.denied(request({ name: 'other' }), [{ ...deny('R1', 'x'.repeat(5000)), docs }]);
  await r.drain();
  t.equal(sink.created.length, 2);
  t.equal(sink.created[0]!.event.note, `cilium-guard denied CREATE: [R4] kubeProxyReplacement must stay true (see ${docs})`);
  const long = sink.created[1]!.event.note as string;
  t.ok(Buffer.byteLength(long) <= 1024, `within the API server's 1 KiB note limit (${Buffer.byteLength(long)} bytes)`);
  t.ok(long.endsWith(` (see ${docs})`), 'the link is whole at the end');
});
