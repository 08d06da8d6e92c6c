// What the API server does when it cannot trust or reach cilium-guard: the TLS checks are real
// (wrong CA, wrong name), each webhook's failurePolicy decides, break-glass never waits on us, and
// cilium-guard repairs a caBundle someone broke.
import t from 'tap';
import { generateCA } from '../../src/certs/pki.js';
import { alertExpressions, dashboardExpressions, metricNames } from '../helpers/monitoring.js';
import { FULLNAME, application, ciliumConfig, eventually, startCluster, startGuardProcess } from './harness.js';

const c = await startCluster({ guardFlags: { '--cert-check-interval': '2s' } });
t.teardown(() => c.stop());
const { kubectl } = c;
const create = (o: unknown, kubeconfig?: string) => kubectl(['create', '--dry-run=server', '-f', '-'], o, kubeconfig);
const bad = application('bad', (a) => (a.spec.source.helm.valuesObject.kubeProxyReplacement = false));
const deniedNormally = /admission webhook "applications\.cilium-guard\.io" denied the request: .*\[R4\]/;

async function webhookConfig(): Promise<Record<string, any>> {
  return JSON.parse((await kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'json'], undefined, c.cp.kubeconfig)).stdout) as Record<string, any>;
}
async function patchWebhook(i: number, path: string, value: unknown): Promise<void> {
  const out = await kubectl(['patch', 'validatingwebhookconfiguration', FULLNAME, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: `/webhooks/${i}/clientConfig/${path}`, value }])], undefined, c.cp.kubeconfig);
  if (out.code !== 0) throw new Error(out.stderr);
}

t.test('the API server verifies the certificate against the caBundle, and cilium-guard repairs it', async (t) => {
  t.match((await create(bad)).stderr, deniedNormally);
  const stranger = await generateCA({ validityMs: 3_600_000 });
  await patchWebhook(0, 'caBundle', Buffer.from(stranger.cert).toString('base64'));
  const refused = await eventually('the API server to use the wrong caBundle', async () => {
    const out = await create(application('good'));
    return /failed calling webhook/.test(out.stderr) ? out.stderr : undefined;
  });
  t.match(refused, /Internal error occurred: failed calling webhook "applications\.cilium-guard\.io": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/validate\?timeout=5s": tls: failed to verify certificate: x509: certificate signed by unknown authority/);
  // failurePolicy Fail: even a good Application is refused while the webhook cannot be trusted.
  const healed = await eventually('cilium-guard to re-inject its caBundle', async () => {
    const out = await create(bad);
    return deniedNormally.test(out.stderr) ? out.stderr : undefined;
  });
  t.ok(healed, 'the next certificate check put the right CA back');
  t.ok(await c.guard.log((l) => l.msg === 'caBundle injected', 'the caBundle injection'), 'and logged it');
});

t.test('the API server checks the host name against the certificate', async (t) => {
  const before = (await webhookConfig()).webhooks[0].clientConfig.url as string;
  await patchWebhook(0, 'url', before.replace('127.0.0.1', 'localhost'));
  t.teardown(() => patchWebhook(0, 'url', before));
  const refused = await eventually('the API server to dial localhost', async () => {
    const out = await create(application('good'));
    return /failed calling webhook/.test(out.stderr) ? out.stderr : undefined;
  });
  t.match(refused, /x509: certificate is valid for .*cilium-guard\.svc.*, not localhost/, 'the serving certificate names 127.0.0.1 and the Service, not localhost');
});

t.test('cilium-guard stopped: each failurePolicy decides, break-glass is never blocked', async (t) => {
  await eventually('the webhook back on 127.0.0.1', async () => (deniedNormally.test((await create(bad)).stderr) ? true : undefined));
  await c.guard.stop();

  // applications: Fail. A write that cannot be judged is refused.
  let out = await create(application('good'));
  t.match(out.stderr, /Internal error occurred: failed calling webhook "applications\.cilium-guard\.io": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/validate\?timeout=5s": dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
  // The break-glass group is excluded by matchConditions: the API server does not even try.
  out = await create(application('glass', (a) => (a.spec.destination.namespace = 'cilium')), c.asBreakGlass);
  t.equal(out.code, 0, `break-glass writes an Application with cilium-guard down: ${out.stderr}`);
  // cilium-config and argocd-cm: Ignore. Repairing Cilium never waits on cilium-guard.
  out = await kubectl(['create', '-f', '-'], ciliumConfig('true'));
  t.equal(out.code, 0, `cilium-config is writable: ${out.stderr}`);
  out = await kubectl(['create', 'configmap', 'argocd-cm', '-n', 'argocd', '--from-literal=a=b']);
  t.equal(out.code, 0, `argocd-cm is writable: ${out.stderr}`);
  t.equal((await kubectl(['get', 'configmap', 'argocd-cm', '-n', 'argocd', '-o', 'jsonpath={.data.resource\\.exclusions}'])).stdout, '', 'unmutated (nobody was there)');

  // Now the API server has called, failed to call and skipped the webhooks: every apiserver_ metric
  // the chart's dashboard and alerts query must be in its /metrics, with our webhooks' names.
  const scraped = (await kubectl(['get', '--raw', '/metrics'], undefined, c.cp.kubeconfig)).stdout;
  const apiserverNames = [...metricNames([...dashboardExpressions(), ...(await alertExpressions())])].filter((n) => n.startsWith('apiserver_'));
  t.ok(apiserverNames.length >= 3, apiserverNames.join(', '));
  for (const name of apiserverNames) {
    t.match(scraped, new RegExp(`^${name}\\{[^}]*name="[a-z-]+\\.cilium-guard\\.io"`, 'm'), `the API server exports ${name} for cilium-guard's webhooks`);
  }

  // Back on the same address: the same answers as before, from the certificates in the Secret.
  c.guard = await startGuardProcess(c, c.guard.port);
  await eventually('writes judged again', async () => (deniedNormally.test((await create(bad)).stderr) ? true : undefined));
  out = await create(application('good'));
  t.equal(out.code, 0, out.stderr);
  t.notOk(c.guard.logs.some((l) => l.msg === 'certificate Secret updated'), 'the restarted process reused the certificates in the Secret');
});
