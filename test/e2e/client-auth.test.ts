// Issue 19 end to end: only the API server speaks for the cluster. A real kube-apiserver presents a
// client certificate to the webhook (admission configuration kubeConfigFile) and cilium-guard
// requires it: the API server is answered as before, a forged review from any other client is
// refused and leaves no audit record, Event or denial metric, and the probes still answer without a
// certificate. Without client authentication the forged review is answered, recorded as
// unauthenticated, and writes no Event. Then the chart's CiliumNetworkPolicy is applied to the real
// API server with Cilium 1.18.1's CRD installed.
import https from 'node:https';
import path from 'node:path';
import t from 'tap';
import { NAMESPACE, render } from '../helpers/chart.js';
import { issueClient, clientCA } from '../helpers/client-certs.js';
import { ciliumCRDs } from '../helpers/tools.js';
import { type Cluster, FULLNAME, type Obj, application, eventually, sleep, startCluster } from './harness.js';

/** A made-up AdmissionReview of a write R1 denies, claiming a cluster admin and naming `name`. */
function forgedReview(uid: string, name: string): string {
  const bad = application(name, (a) => (a.spec.destination.namespace = 'cilium'));
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
      resource: { group: 'argoproj.io', version: 'v1alpha1', resource: 'applications' },
      requestKind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
      requestResource: { group: 'argoproj.io', version: 'v1alpha1', resource: 'applications' },
      name,
      namespace: 'argocd',
      operation: 'CREATE',
      userInfo: { username: 'system:admin', groups: ['system:masters'] },
      object: bad,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  });
}

async function servingCA(c: Cluster): Promise<string> {
  const secret = await c.core.readNamespacedSecret({ namespace: NAMESPACE, name: `${FULLNAME}-tls` });
  return Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
}

/** POSTs to cilium-guard directly, as any pod that reaches the Service could: the status, or the TLS error. */
function post(c: Cluster, ca: string, body: string, client?: { cert: string; key: string }): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = https.request(
      { host: '127.0.0.1', port: c.guard.port, path: '/validate?timeout=10s', method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json' }, timeout: 10_000, ...client },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', (e) => resolve({ error: e.message }));
    req.end(body);
  });
}

async function eventsAbout(c: Cluster, name: string): Promise<Obj[]> {
  const out = await c.cp.kubectl(['get', 'events.events.k8s.io', '-n', 'argocd', '-o', 'json']);
  if (out.code !== 0) throw new Error(out.stderr);
  return (JSON.parse(out.stdout) as { items: Obj[] }).items.filter((e) => e.regarding?.name === name);
}

const audited = (c: Cluster, uid: string) => c.guard.logs.filter((l) => l.event === 'cilium-guard.audit' && l.uid === uid);

t.test('client certificate required: the API server is answered, a forged review is refused and leaves nothing', async (t) => {
  const c = await startCluster({ guardFlags: { '--events-series-interval': '1s' } });
  t.teardown(() => c.stop());
  t.ok(c.clientAuth, 'the harness set up client authentication');
  const ca = await servingCA(c);

  // The real API server, presenting its client certificate: answered as today (startCluster already
  // waited for a denial), with an audit record of an authenticated caller and an Event.
  const out = await c.kubectl(['create', '-f', '-'], application('real-write', (a) => (a.spec.destination.namespace = 'cilium')));
  t.not(out.code, 0);
  t.match(out.stderr, /admission webhook "applications\.cilium-guard\.io" denied the request: .*\[R1\]/);
  const record = await c.guard.log((l) => l.event === 'cilium-guard.audit' && l.name === 'real-write', 'the audit record of the real write');
  t.match(record, { caller: 'authenticated', user: 'alice', rule: 'R1' });
  await eventually('the Event on the real write', async () => ((await eventsAbout(c, 'real-write')).length > 0 ? true : undefined));
  const ok = await c.kubectl(['create', '-f', '-'], application('real-good'));
  t.equal(ok.code, 0, `a good Application is admitted: ${ok.stderr}`);

  const denials = await c.guard.metric('cilium_guard_admission_requests_total', { verdict: 'denied' });
  const ruleHits = await c.guard.metric('cilium_guard_rule_results_total', { verdict: 'deny' });
  const strangerCA = await clientCA();
  const others: Array<[string, { cert: string; key: string } | undefined, number]> = [
    ['no client certificate', undefined, 401],
    ['a kube-apiserver certificate from another CA', await issueClient(strangerCA, 'kube-apiserver'), 403],
    ['a certificate of the right CA with another name', await issueClient(c.clientAuth!.ca, 'system:serviceaccount:default:attacker'), 403],
  ];
  for (const [what, client, status] of others) {
    const uid = `forged-${status}-${what.length}`;
    const answer = await post(c, ca, forgedReview(uid, `forged-${what.length}`), client);
    t.ok('status' in answer && answer.status === status, `${what}: refused ${status} (${JSON.stringify(answer)})`);
  }
  await sleep(1500); // cilium-guard batches its log lines (500 ms) and Events (1 s series interval)
  for (const [what] of others) {
    t.same(audited(c, `forged-401-${what.length}`).concat(audited(c, `forged-403-${what.length}`)), [], `${what}: no audit record`);
    t.same(await eventsAbout(c, `forged-${what.length}`), [], `${what}: no Event`);
  }
  t.equal(await c.guard.metric('cilium_guard_admission_requests_total', { verdict: 'denied' }), denials, 'no denial counted');
  t.equal(await c.guard.metric('cilium_guard_rule_results_total', { verdict: 'deny' }), ruleHits, 'no rule hit counted');
  t.equal(await c.guard.metric('cilium_guard_admission_errors_total', { reason: 'unauthenticated' }), 3, 'the refusals are counted as refusals');

  // The probes need no client certificate (the kubelet has none).
  t.equal((await c.readyz()).status, 200, '/readyz without a client certificate');
  const healthz = await new Promise<number>((resolve, reject) =>
    https.get({ host: '127.0.0.1', port: c.guard.port, path: '/healthz', ca, agent: false }, (res) => resolve(res.statusCode ?? 0)).on('error', reject),
  );
  t.equal(healthz, 200, '/healthz without a client certificate');
  // TLS 1.2 is refused by default; the API server (Go) negotiated 1.3 above.
  const tls12 = await new Promise<string>((resolve) => {
    const req = https.get({ host: '127.0.0.1', port: c.guard.port, path: '/healthz', ca, agent: false, maxVersion: 'TLSv1.2' }, (res) => resolve(`HTTP ${res.statusCode}`));
    req.on('error', (e) => resolve(`error: ${e.message}`));
  });
  t.match(tls12, /^error/, 'TLS 1.2 refused');
});

t.test('no client authentication: the forged review is answered, recorded as unauthenticated, and writes no Event', async (t) => {
  const c = await startCluster({ clientAuth: false, guardFlags: { '--events-series-interval': '1s' } });
  t.teardown(() => c.stop());
  t.notOk(c.clientAuth);
  const ca = await servingCA(c);
  const answer = await post(c, ca, forgedReview('forged-open', 'forged-open'));
  t.ok('status' in answer && answer.status === 200, 'answered: cilium-guard cannot tell it from the API server');
  t.match(JSON.parse((answer as { body: string }).body), { response: { allowed: false } });
  const record = await c.guard.log((l) => l.event === 'cilium-guard.audit' && l.uid === 'forged-open', 'the forged review');
  t.match(record, { caller: 'unauthenticated', user: 'system:admin' }, 'the claimed user, marked unverified');
  t.ok((await c.guard.metric('cilium_guard_admission_requests_total', { verdict: 'denied', caller: 'unauthenticated' })) >= 1);
  t.equal(await c.guard.metric('cilium_guard_admission_requests_total', { caller: 'authenticated' }), 0);
  await sleep(2000);
  t.same(await eventsAbout(c, 'forged-open'), [], 'no Event about the object the forged review names');
  t.equal(await c.guard.metric('cilium_guard_events_total', {}), 0, 'no Event at all: the API server is unauthenticated too');
  // The API server itself is still answered, without a client certificate.
  const out = await c.kubectl(['create', '-f', '-'], application('open-write', (a) => (a.spec.destination.namespace = 'cilium')));
  t.match(out.stderr, /denied the request: .*\[R1\]/);

  // The chart's CiliumNetworkPolicy, on this API server with Cilium's own CRD.
  const crd = await c.cp.kubectl(['apply', '--server-side', '-f', path.join(ciliumCRDs(), 'ciliumnetworkpolicies.yaml')]);
  t.equal(crd.code, 0, crd.stderr);
  await eventually('the CiliumNetworkPolicy CRD', async () => {
    const r = await c.cp.kubectl(['get', 'crd', 'ciliumnetworkpolicies.cilium.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
    return r.stdout.trim() === 'True' ? true : undefined;
  });
  const rendered = await render({
    set: { 'ciliumNetworkPolicy.enabled': true, 'ciliumNetworkPolicy.metricsFromEndpoints': [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'monitoring' } }] },
  });
  const cnp = rendered.docs.find((d) => d.kind === 'CiliumNetworkPolicy')!;
  const applied = await c.cp.kubectl(['create', '--validate=strict', '-o', 'json', '-f', '-'], { input: JSON.stringify(cnp) });
  t.equal(applied.code, 0, `accepted by the API server: ${applied.stderr}`);
  t.same(JSON.parse(applied.stdout).spec, cnp.spec, 'stored as rendered: nothing pruned');
  const bad = structuredClone(cnp);
  bad.metadata.name = 'bad';
  bad.spec.ingress[0].fromEntities = ['apiserver'];
  const refused = await c.cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(bad) });
  t.not(refused.code, 0, 'and the CRD does refuse a wrong entity');
  t.match(refused.stderr, /fromEntities/);
});
