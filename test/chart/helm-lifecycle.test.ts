// `helm install` and `helm upgrade` of the chart against a real kube-apiserver (no kubelet runs
// here, so nothing waits for pods): Helm accepts the cluster version, and an upgrade keeps the
// certificates the pods wrote into the Secret and the caBundle they injected.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import t from 'tap';
import { KubeStore, loadKubeConfig } from '../../src/certs/kube.js';
import { CertificateManager } from '../../src/certs/manager.js';
import { NAMESPACE } from '../helpers/chart.js';
import { type ControlPlane, startControlPlane } from '../helpers/kube.js';
import { CHART, helm } from '../helpers/tools.js';

const exec = promisify(execFile);
const cp: ControlPlane = await startControlPlane();
t.teardown(() => cp.stop());
const helmRun = (args: string[]) => exec(helm(), [...args, '--kubeconfig', cp.kubeconfig], { env: { ...process.env, HELM_CACHE_HOME: `${cp.dir}/helm-cache`, HELM_CONFIG_HOME: `${cp.dir}/helm-config`, HELM_DATA_HOME: `${cp.dir}/helm-data` } });

const webhookCaBundle = async (): Promise<string> =>
  (await cp.kubectl(['get', 'validatingwebhookconfiguration', 'cilium-guard', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])).stdout;
const secretData = async (): Promise<string> => (await cp.kubectl(['get', 'secret', 'cilium-guard-tls', '-n', NAMESPACE, '-o', 'jsonpath={.data}'])).stdout;

t.test('helm install, the pods fill the Secret, helm upgrade keeps certificates and caBundle', async (t) => {
  const install = await helmRun(['install', 'cilium-guard', CHART, '-n', NAMESPACE, '--create-namespace', '--set', 'webhooks.url=https://127.0.0.1:9', '--set', 'validatingAdmissionPolicy.enabled=false']);
  t.match(install.stdout, /STATUS: deployed/);
  t.match(install.stdout, /helm test cilium-guard -n cilium-guard/, 'NOTES printed');
  t.equal(await secretData(), '', 'the Secret starts empty');

  // What a pod does at start, with the chart's ServiceAccount.
  const token = (await cp.kubectl(['create', 'token', 'cilium-guard', '-n', NAMESPACE])).stdout.trim();
  const store = await KubeStore.create(await loadKubeConfig(cp.kubeconfigFor(token)), { namespace: NAMESPACE, name: 'cilium-guard-tls' }, [
    { kind: 'validating', name: 'cilium-guard' },
    { kind: 'mutating', name: 'cilium-guard' },
  ]);
  const manager = new CertificateManager(
    store,
    { caValidityMs: 86_400_000, certValidityMs: 86_400_000, renewFraction: 0.33, overlapMs: 60_000, retireAfterMs: 240_000, dnsNames: ['cilium-guard.cilium-guard.svc'] },
    pino({ level: 'silent' }),
    { onServing: () => {} },
  );
  await manager.reconcile();
  const data = await secretData();
  const bundle = await webhookCaBundle();
  t.match(data, /tls\.crt/);
  t.not(bundle, '');

  const upgrade = await helmRun(['upgrade', 'cilium-guard', CHART, '-n', NAMESPACE, '--reuse-values', '--set', 'webhooks.applications.timeoutSeconds=3', '--set', 'breakGlass.groups={oncall}']);
  t.match(upgrade.stdout, /STATUS: deployed/);
  t.equal(await secretData(), data, 'the certificates survive the upgrade');
  t.equal(await webhookCaBundle(), bundle, 'the injected caBundle survives the upgrade');
  const timeout = (await cp.kubectl(['get', 'validatingwebhookconfiguration', 'cilium-guard', '-o', 'jsonpath={.webhooks[0].timeoutSeconds}'])).stdout;
  t.equal(timeout, '3', 'while the upgrade changed the webhook itself');
  t.equal((await manager.reconcile()).steps.length, 0, 'and the pods find nothing to redo');
});
