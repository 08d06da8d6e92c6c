// Certificate rotation while writes continue: cilium-guard runs with lifetimes of seconds, so within
// about a minute it renews its serving certificate several times and replaces its CA once, and
// every write through the API server meanwhile still gets its proper answer.
import tls from 'node:tls';
import t from 'tap';
import { describeApiError, statusOf } from '../../src/certs/kube.js';
import { NAMESPACE } from '../helpers/chart.js';
import { FULLNAME, type Obj, application, sleep, startCluster } from './harness.js';

// Lifetimes are short but sane: the issuer backdates by 60 s, so the renewal point (a fraction of
// the whole lifetime before notAfter) must stay after the moment of issue.
const c = await startCluster({
  guardFlags: {
    '--ca-validity': '60s',
    '--cert-validity': '30s',
    '--renew-fraction': '0.2',
    '--ca-overlap': '3s',
    '--cert-check-interval': '1s',
  },
});
t.teardown(() => c.stop());
const APPS = { group: 'argoproj.io', version: 'v1alpha1', namespace: 'argocd', plural: 'applications' };
const RUN_MS = 50_000;

/** The certificate cilium-guard serves right now (read only, no trust decision is made here). */
function servedCertificate(port: number): Promise<{ fingerprint: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve({ fingerprint: cert.fingerprint256, issuer: String(cert.issuer.CN) });
    });
    s.once('error', reject);
  });
}

t.test('writes keep their answers while the serving certificate and the CA rotate', async (t) => {
  const served = new Map<string, string>();
  const bundles = new Set<string>();
  const unexpected: string[] = [];
  let writes = 0;
  const deadline = Date.now() + RUN_MS;

  const watch = (async () => {
    while (Date.now() < deadline) {
      const s = await servedCertificate(c.guard.port);
      served.set(s.fingerprint, s.issuer);
      const cfg = JSON.parse((await c.cp.kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'json'])).stdout) as Obj;
      bundles.add(cfg.webhooks[0].clientConfig.caBundle as string);
      await sleep(500);
    }
  })();

  for (let i = 0; Date.now() < deadline; i++) {
    const good = application(`rot-${i}`, (a) => delete a.metadata.finalizers);
    const bad = application(`rot-bad-${i}`, (a) => (a.spec.source.helm.valuesObject.kubeProxyReplacement = false));
    try {
      await c.custom.createNamespacedCustomObject({ ...APPS, body: good });
      await c.custom.deleteNamespacedCustomObject({ ...APPS, name: `rot-${i}` });
      writes += 2;
    } catch (err) {
      unexpected.push(`write ${i} (good): ${describeApiError(err)}`);
    }
    const denied = await c.custom.createNamespacedCustomObject({ ...APPS, body: bad }).catch((e: unknown) => e);
    writes++;
    if (statusOf(denied) !== 403 || !/denied the request: .*\[R4\]/.test(describeApiError(denied))) unexpected.push(`write ${i} (bad): ${describeApiError(denied)}`);
  }
  await watch;

  t.same(unexpected, [], `every one of ${writes} writes got its proper answer`);
  t.ok(writes > 100, `a steady stream of writes (${writes})`);
  const issuers = new Set(served.values());
  t.ok(served.size >= 3, `the served certificate changed at least twice (${served.size} seen)`);
  t.ok(issuers.size >= 2, `certificates from at least two CAs were served (${[...issuers].join(', ')})`);
  t.ok(bundles.size >= 2, 'the caBundle the API server trusts changed with the CA');
  t.ok((await c.guard.metric('cilium_guard_certificate_changes_total', { step: 'rotate-ca' })) >= 1, 'the CA was replaced');
  t.ok((await c.guard.metric('cilium_guard_certificate_changes_total', { step: 'issue-serving' })) >= 2, 'serving certificates were re-issued');
  t.equal(await c.guard.metric('cilium_guard_certificate_errors_total'), 0, 'no certificate pass failed');
  const secret = JSON.parse((await c.cp.kubectl(['get', 'secret', `${FULLNAME}-tls`, '-n', NAMESPACE, '-o', 'json'])).stdout) as Obj;
  t.ok(secret.metadata.annotations['cilium-guard.io/ca-rotated-at'], 'the Secret records the rotation');
});
