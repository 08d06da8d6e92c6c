// Client authentication over real HTTPS with certificates made here: only the API server (a client
// certificate chained to the client CA, naming an allowed name) gets a review answered when it is
// required; without it, reviews are answered, recorded as unauthenticated and write no Events.
// Also: TLS 1.3 as the default minimum, 1.2 as an option, and the client CA reloaded from its file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { pino } from 'pino';
import t from 'tap';
import type { Finding, PolicyRequest } from '../../src/policy/types.js';
import { setServingCertificate, watchClientCA } from '../../src/server/tls.js';
import { makeReview } from '../helpers/apiserver.js';
import { clientCA, issueClient } from '../helpers/client-certs.js';
import { example } from '../helpers/corpus.js';
import { type HttpResult, type Running, request, startGuard, testCertificates } from '../helpers/https.js';

const app = example('01-app-cilium-good.yaml') as { spec: { destination: { namespace: string } } };
/** A made-up review of a denied write, claiming to come from a cluster admin. */
function forged(uid: string): string {
  const bad = structuredClone(app);
  bad.spec.destination.namespace = 'cilium';
  const review = makeReview({ operation: 'CREATE', object: bad as unknown as Record<string, unknown>, uid });
  (review.request as { userInfo: unknown }).userInfo = { username: 'system:admin', groups: ['system:masters'] };
  return JSON.stringify(review);
}

function send(running: Running, urlPath: string, options: https.RequestOptions, body?: string): Promise<HttpResult | string> {
  return request(
    `${running.url}${urlPath}`,
    { method: body === undefined ? 'GET' : 'POST', ca: running.ca, agent: false, headers: { 'content-type': 'application/json' }, ...options },
    body,
  ).catch((err: Error) => `error: ${err.message}`);
}

function eventSpy(): { events: { denied(req: PolicyRequest, findings: Finding[]): void }; calls: string[] } {
  const calls: string[] = [];
  return { calls, events: { denied: (req) => void calls.push(req.name ?? '') } };
}

async function metric(running: Running, name: string, labels: Record<string, string>): Promise<number> {
  const m = await running.metrics.registry.getSingleMetric(name)!.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

const ca = await clientCA();
const apiserver = await issueClient(ca, 'kube-apiserver');
const bySan = await issueClient(ca, 'front-proxy', ['kube-apiserver']);
const otherName = await issueClient(ca, 'system:node:worker-1');
const strangerCA = await clientCA();
const stranger = await issueClient(strangerCA, 'kube-apiserver');

t.test('without client authentication: answered, recorded as unauthenticated, no Event', async (t) => {
  const spy = eventSpy();
  const running = await startGuard({ events: spy.events });
  t.teardown(() => running.close());
  const res = (await send(running, '/validate', {}, forged('forged-1'))) as HttpResult;
  t.equal(res.status, 200, 'the API server is never refused, so neither is anyone else');
  t.match(JSON.parse(res.body), { response: { allowed: false } });
  const record = running.logs.find((l) => l.event === 'cilium-guard.audit' && l.uid === 'forged-1');
  t.match(record, { caller: 'unauthenticated', user: 'system:admin' }, 'the claimed user is kept, marked as unverified');
  t.equal(await metric(running, 'cilium_guard_admission_requests_total', { verdict: 'denied', caller: 'unauthenticated' }), 1);
  t.equal(await metric(running, 'cilium_guard_rule_results_total', { verdict: 'deny', caller: 'authenticated' }), 0);
  t.same(spy.calls, [], 'no Event for a caller nobody verified');
});

t.test('without client authentication, --events-unauthenticated writes the Event', async (t) => {
  const spy = eventSpy();
  const running = await startGuard({ events: spy.events, eventsForUnauthenticated: true });
  t.teardown(() => running.close());
  await send(running, '/validate', {}, forged('forged-2'));
  t.same(spy.calls, ['cilium']);
});

t.test('client certificate required', async (t) => {
  const spy = eventSpy();
  const running = await startGuard({ events: spy.events, tls: { clientCA: ca.cert } });
  t.teardown(() => running.close());
  const asApiserver = { cert: apiserver.cert, key: apiserver.key };

  const good = (await send(running, '/validate', asApiserver, forged('real-1'))) as HttpResult;
  t.equal(good.status, 200, 'the API server (CN kube-apiserver) is answered');
  t.match(JSON.parse(good.body), { response: { allowed: false, status: { code: 403 } } });
  t.match(running.logs.find((l) => l.uid === 'real-1'), { caller: 'authenticated', rule: 'R1' });
  t.same(spy.calls, ['cilium'], 'its denial gets an Event');
  const san = (await send(running, '/validate', { cert: bySan.cert, key: bySan.key }, forged('real-2'))) as HttpResult;
  t.equal(san.status, 200, 'an allowed name in a DNS SAN is accepted too');

  const refused: Array<[string, https.RequestOptions, number]> = [
    ['no certificate', {}, 401],
    ['a certificate from another CA', { cert: stranger.cert, key: stranger.key }, 403],
    ['a trusted certificate with another name', { cert: otherName.cert, key: otherName.key }, 403],
  ];
  for (const [what, opts, status] of refused) {
    for (const route of ['/validate', '/mutate']) {
      const uid = `forged-${what}-${route}`;
      const res = (await send(running, route, opts, forged(uid))) as HttpResult;
      t.equal(res.status, status, `${what} on ${route}: ${status}`);
      t.match(JSON.parse(res.body), { message: /answers only the API server/ });
      t.notOk(running.logs.some((l) => l.uid === uid && l.event === 'cilium-guard.audit'), `${what}: no audit record`);
    }
  }
  t.equal(await metric(running, 'cilium_guard_admission_requests_total', { verdict: 'denied' }), 2, 'only the two real reviews are counted as denials');
  t.equal(await metric(running, 'cilium_guard_rule_results_total', {}), 2);
  t.equal(await metric(running, 'cilium_guard_admission_errors_total', { reason: 'unauthenticated' }), 6, 'the refusals are counted as such');
  t.same(spy.calls, ['cilium', 'cilium'], 'no Event for a refused caller');

  // Refused before the body is read: a malformed or oversized body from a stranger is not parsed.
  for (const body of ['{"not json', 'x'.repeat(64 * 1024)]) {
    const res = (await send(running, '/validate', {}, body)) as HttpResult;
    t.equal(res.status, 401, `a stranger's unreadable body (${body.length} bytes) gets 401, not 400`);
  }
  t.equal(await metric(running, 'cilium_guard_admission_errors_total', { reason: 'bad_request' }), 0, 'nothing was parsed');

  for (const probe of ['/healthz', '/readyz']) {
    const res = (await send(running, probe, {})) as HttpResult;
    t.equal(res.status, 200, `${probe} needs no client certificate (kubelet probes)`);
  }
  const names = await startGuard({ tls: { clientCA: ca.cert, clientNames: ['system:node:worker-1'] } });
  t.teardown(() => names.close());
  t.equal(((await send(names, '/validate', { cert: otherName.cert, key: otherName.key }, forged('n-1'))) as HttpResult).status, 200, '--client-names replaces the default');
  t.equal(((await send(names, '/validate', asApiserver, forged('n-2'))) as HttpResult).status, 403);
});

t.test('TLS 1.3 is the default minimum; 1.2 (AEAD suites) is an option', async (t) => {
  const handshake = (running: Running, opts: tls.ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const { port } = running.guard.app.server.address() as AddressInfo;
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: running.ca, ...opts }, () => {
        const v = socket.getProtocol() ?? '';
        socket.end();
        resolve(v);
      });
      socket.on('error', (e) => resolve(`error: ${e.message}`));
    });
  const modern = await startGuard({ tls: { clientCA: ca.cert } });
  const legacy = await startGuard({ tls: { minVersion: 'TLSv1.2' } });
  t.teardown(async () => {
    await modern.close();
    await legacy.close();
  });
  t.equal(await handshake(modern, {}), 'TLSv1.3');
  t.match(await handshake(modern, { maxVersion: 'TLSv1.2' }), /^error/, 'TLS 1.2 refused by default');
  t.equal(await handshake(legacy, { maxVersion: 'TLSv1.2' }), 'TLSv1.2');
  t.match(await handshake(legacy, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }), /^error/, 'CBC still refused with 1.2 on');
  // A serving-certificate swap keeps the minimum version and the client CA.
  const certs = await testCertificates();
  setServingCertificate(modern.guard.app.server as unknown as HttpsServer, { cert: certs.cert, key: certs.key });
  t.match(await handshake(modern, { maxVersion: 'TLSv1.2' }), /^error/, 'still 1.3 after a certificate swap');
  t.equal(((await send(modern, '/validate', {}, forged('swap-1'))) as HttpResult).status, 401, 'still requires a client certificate after a swap');
  t.equal(((await send(modern, '/validate', { cert: apiserver.cert, key: apiserver.key }, forged('swap-2'))) as HttpResult).status, 200);
});

t.test('the client CA is reloaded from its file; a broken file keeps the current one', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cg-client-ca-'));
  const file = path.join(dir, 'client-ca.crt');
  writeFileSync(file, ca.cert);
  const running = await startGuard({ tls: { clientCA: ca.cert } });
  const server = running.guard.app.server as unknown as HttpsServer;
  const loaded: string[] = [];
  const stop = watchClientCA(server, file, pino({ level: 'silent' }), 20, (pem) => loaded.push(pem));
  t.teardown(async () => {
    stop();
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const status = async (pair: { cert: string; key: string }, uid: string) =>
    ((await send(running, '/validate', { cert: pair.cert, key: pair.key }, forged(uid))) as HttpResult).status;
  t.equal(await status(apiserver, 'r-1'), 200);
  t.equal(await status(stranger, 'r-2'), 403);
  const waitLoaded = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (loaded.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };
  writeFileSync(file, strangerCA.cert);
  await waitLoaded(2);
  t.equal(loaded.length, 2, 'the new CA was loaded');
  t.equal(await status(stranger, 'r-3'), 200, 'a certificate of the new CA is accepted on a new connection');
  t.equal(await status(apiserver, 'r-4'), 403, 'the old CA is no longer trusted');
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB'); // half-written
  await new Promise((r) => setTimeout(r, 200));
  t.equal(loaded.length, 2, 'a half-written file is not loaded');
  t.equal(await status(stranger, 'r-5'), 200, 'the current CA stays');
  writeFileSync(file, ca.cert + strangerCA.cert); // a bundle during a CA rotation
  await waitLoaded(3);
  t.equal(await status(apiserver, 'r-6'), 200);
  t.equal(await status(stranger, 'r-7'), 200, 'both CAs of a bundle are trusted');
});
