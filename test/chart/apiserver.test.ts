// The chart's objects in a real kube-apiserver: accepted as rendered, the pod admitted under Pod
// Security "restricted", and the ValidatingAdmissionPolicy holding with no webhook at all. A live
// cilium-guard behind the chart's webhooks is the end-to-end suite's (test/e2e).
import path from 'node:path';
import t from 'tap';
import { readdirSync } from 'node:fs';
import { NAMESPACE, applyDocs, createNamespaces, find, installArgoCRDs, render } from '../helpers/chart.js';
import { example } from '../helpers/corpus.js';
import { type ControlPlane, startControlPlane } from '../helpers/kube.js';
import { CHART } from '../helpers/tools.js';

const BREAK_GLASS = 'oncall-bob';
const cp: ControlPlane = await startControlPlane({ users: { [BREAK_GLASS]: ['cilium-guard:break-glass'], alice: ['dev'] } });
t.teardown(() => cp.stop());
await installArgoCRDs(cp);
await createNamespaces(cp, [NAMESPACE, 'argocd']);
// Both static users may do anything on the objects under test, so only admission decides.
await cp.kubectl(['create', 'clusterrolebinding', 'test-users-admin', '--clusterrole=cluster-admin', `--user=${BREAK_GLASS}`, '--user=alice']);
const asAlice = cp.kubeconfigFor('alice');
const asBreakGlass = cp.kubeconfigFor(BREAK_GLASS);

const yaml = (o: unknown): string => JSON.stringify(o);
const goodApp = example('01-app-cilium-good.yaml') as Record<string, any>;
function app(name: string, edit: (a: Record<string, any>) => void = () => {}): Record<string, any> {
  const a = structuredClone(goodApp);
  a.metadata = { name, namespace: 'argocd' };
  edit(a);
  return a;
}
function ciliumConfig(kpr: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'kube-proxy-replacement': kpr } };
}

t.test('every values file renders objects the API server accepts (server-side dry run)', async (t) => {
  const files = readdirSync(path.join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));
  for (const file of [undefined, ...files]) {
    const r = await render(file ? { files: [path.join(CHART, 'ci', file)] } : {});
    // cert-manager and Prometheus Operator CRDs are not installed here; their objects are checked by helm lint.
    const docs = r.docs.filter((d) => !/cert-manager\.io|monitoring\.coreos\.com/.test(d.apiVersion));
    const out = await cp.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: docs.map(yaml).join('\n') });
    t.equal(out.code, 0, `${file ?? 'defaults'}: ${out.stderr}`);
    t.equal(out.stderr, '', `${file ?? 'defaults'}: no warnings`);
  }
});

t.test('the pods (server, uninstall hook, test) are admitted by Pod Security "restricted"', async (t) => {
  await cp.kubectl(['create', 'namespace', 'psa']);
  await cp.kubectl(['label', 'namespace', 'psa', 'pod-security.kubernetes.io/enforce=restricted']);
  const asPod = (name: string, spec: Record<string, any>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'psa' }, spec });
  for (const mode of ['selfSigned', 'certManager']) {
    const r = await render({ set: { 'certificates.mode': mode } });
    const specs = [find(r, 'Deployment').spec.template.spec, ...r.docs.filter((d) => d.kind === 'Job').map((j) => j.spec.template.spec)];
    for (const [i, spec] of specs.entries()) {
      const out = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: yaml(asPod(`p${i}`, spec)) });
      t.equal(out.code, 0, `${mode} pod ${i}: ${out.stderr}`);
    }
  }
  const weakened = structuredClone(find(await render(), 'Deployment').spec.template.spec);
  delete weakened.containers[0].securityContext.capabilities;
  const refused = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: yaml(asPod('weak', weakened)) });
  t.match(refused.stderr, /violates PodSecurity "restricted:latest": unrestricted capabilities/, 'the check can fail');
});

t.test('with no webhook running, the ValidatingAdmissionPolicy still holds the literal invariants', async (t) => {
  const r = await render({ set: { webhooks: { applications: { enabled: false, failurePolicy: 'Fail', timeoutSeconds: 5 }, ciliumConfig: { enabled: false, failurePolicy: 'Ignore', timeoutSeconds: 5 }, argocdCm: { enabled: false, failurePolicy: 'Ignore', timeoutSeconds: 5 } } } });
  t.notOk(r.docs.some((d) => /WebhookConfiguration$/.test(d.kind)), 'no webhook configuration at all');
  await applyDocs(cp, r.docs.filter((d) => d.kind.startsWith('ValidatingAdmissionPolicy')));
  await new Promise((res) => setTimeout(res, 2000)); // policies are picked up asynchronously
  const create = (o: unknown, kubeconfig = asAlice) => cp.kubectl(['create', '-f', '-'], { input: yaml(o), kubeconfig });
  const cases: Array<[string, Record<string, any>, RegExp]> = [
    ['vap-r1', app('vap-r1', (a) => (a.spec.destination.namespace = 'cilium')), /cilium-guard \[R1\]: spec.destination.namespace is "cilium"/],
    ['vap-r2', app('vap-r2', (a) => (a.spec.source.helm.releaseName = 'cilium-v2')), /cilium-guard \[R2\]/],
    ['vap-r3', app('vap-r3', (a) => (a.spec.syncPolicy.syncOptions = ['CreateNamespace=true'])), /cilium-guard \[R3\]/],
  ];
  for (const [name, obj, message] of cases) {
    const out = await create(obj);
    t.not(out.code, 0, `${name} refused`);
    t.match(out.stderr, /ValidatingAdmissionPolicy 'cg-cilium-guard-applications' with binding 'cg-cilium-guard-applications' denied request/);
    t.match(out.stderr, message);
  }
  t.equal((await create(app('vap-good'))).code, 0, 'a good Application is admitted');
  const glass = await create(app('vap-glass', (a) => (a.spec.destination.namespace = 'cilium')), asBreakGlass);
  t.equal(glass.code, 0, `break-glass is excluded by matchConditions: ${glass.stderr}`);
  const label = await cp.kubectl(['label', 'application', 'vap-glass', '-n', 'argocd', 'touched=yes'], { kubeconfig: asAlice });
  t.equal(label.code, 0, 'a metadata-only update of an existing violation is not blocked');
  const ratchet = await cp.kubectl(['patch', 'application', 'vap-glass', '-n', 'argocd', '--type=merge', '-p', yaml({ spec: { project: 'other' } })], { kubeconfig: asAlice });
  t.equal(ratchet.code, 0, `a pre-existing violation does not block an unrelated spec change: ${ratchet.stderr}`);

  const bad = await create(ciliumConfig('false'));
  t.match(bad.stderr, /cilium-guard \[C1\]/);
  t.equal((await create(ciliumConfig('false'), asBreakGlass)).code, 0, 'break-glass may repair cilium-config');
  t.equal((await cp.kubectl(['delete', 'configmap', 'cilium-config', '-n', 'kube-system'])).code, 0);
  t.equal((await create(ciliumConfig('true'))).code, 0);
  await cp.kubectl(['delete', 'validatingadmissionpolicybinding', 'cg-cilium-guard-applications', 'cg-cilium-guard-cilium-config']);
  await cp.kubectl(['delete', 'applications', '--all', '-n', 'argocd']);
});
