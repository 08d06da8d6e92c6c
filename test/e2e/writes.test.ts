// Writes through a real kube-apiserver to a running cilium-guard, with kubectl and with
// @kubernetes/client-node: what is stored, what is refused, the exact text a person sees, and
// (by counting the reviews cilium-guard answered) what never reaches it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { describeApiError, statusOf } from '../../src/certs/kube.js';
import { REPO } from '../helpers/corpus.js';
import {
  CILIUM_CONFIG_WEBHOOK,
  FULLNAME,
  VALIDATING,
  type Obj,
  application,
  applicationSet,
  ciliumConfig,
  eventually,
  startCluster,
} from './harness.js';

const c = await startCluster();
t.teardown(() => c.stop());
const { kubectl, guard } = c;
const json = JSON.stringify;
const APPS = { group: 'argoproj.io', version: 'v1alpha1', namespace: 'argocd', plural: 'applications' };
const APPSETS = { ...APPS, plural: 'applicationsets' };
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const ssa = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

async function get(kind: string, name: string, namespace = 'argocd'): Promise<Obj | null> {
  const out = await kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
  return out.code === 0 ? (JSON.parse(out.stdout) as Obj) : null;
}
/** Runs `fn` and returns how many reviews cilium-guard answered meanwhile. */
async function counted(fn: () => Promise<unknown>): Promise<number> {
  const before = await guard.calls();
  await fn();
  return (await guard.calls()) - before;
}
const denial = (webhook: string, subject: string, rule: string): RegExp =>
  new RegExp(`admission webhook "${webhook.replace(/\./g, '\\.')}" denied the request: cilium-guard denied ${subject}: \\[${rule}\\]`);

t.test('kubectl: create, apply, patch, server-side apply and delete of Applications', async (t) => {
  let out = await kubectl(['create', '-f', '-'], application('cilium'));
  t.equal(out.code, 0, out.stderr);
  t.equal(out.stdout.trim(), 'application.argoproj.io/cilium created');

  out = await kubectl(['create', '-f', '-'], application('moved', (a) => (a.spec.destination.namespace = 'cilium')));
  t.equal(out.code, 1);
  // The whole line kubectl prints, from the Status the API server built out of our answer.
  t.equal(
    out.stderr.trim().split('\n').pop(),
    'Error from server (Forbidden): error when creating "STDIN": admission webhook "applications.cilium-guard.io" denied the request: ' +
      'cilium-guard denied Application argocd/moved: [R1] spec.destination.namespace is "cilium", so Cilium would be installed a second time outside kube-system; set it to "kube-system" (see https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/R1.md)',
  );
  t.equal(await get('application', 'moved'), null, 'nothing stored');

  // A full replace (PUT, an UPDATE) with kubectl.
  const stored = (await get('application', 'cilium'))!;
  stored.spec.source.helm.valuesObject.k8sServicePort = 6443;
  stored.spec.source.helm.valuesObject.kubeProxyReplacement = 'off';
  out = await kubectl(['replace', '-f', '-'], stored);
  t.match(out.stderr, /Error from server \(Forbidden\): error when replacing "STDIN":/);
  t.match(out.stderr, denial(VALIDATING, 'Application argocd/cilium', 'R4'));
  t.match(out.stderr, /^Warning: \[cilium-guard R4\.endpoint\] /m, 'the warning comes with the denial');

  // Client-side apply of an edit that drops ServerSideApply=true.
  const noSSA = application('cilium', (a) => (a.spec.syncPolicy.syncOptions = ['RespectIgnoreDifferences=true']));
  out = await kubectl(['apply', '-f', '-'], noSSA);
  t.match(out.stderr, /Error from server \(Forbidden\): error when applying patch:/);
  t.match(out.stderr, denial(VALIDATING, 'Application argocd/cilium', 'R3'));
  t.same((await get('application', 'cilium'))?.spec.syncPolicy.syncOptions, ['ServerSideApply=true', 'RespectIgnoreDifferences=true'], 'unchanged');

  out = await kubectl(['patch', 'application', 'cilium', '-n', 'argocd', '--type=merge', '-p', json({ spec: { source: { helm: { releaseName: 'cilium-v2' } } } })]);
  t.match(out.stderr, /Error from server \(Forbidden\): admission webhook "applications.cilium-guard.io" denied the request: .*\[R2\]/);
  out = await kubectl(['patch', 'application', 'cilium', '-n', 'argocd', '--type=json', '-p', json([{ op: 'replace', path: '/spec/source/helm/valuesObject/kubeProxyReplacement', value: false }])]);
  t.match(out.stderr, denial(VALIDATING, 'Application argocd/cilium', 'R4'));
  out = await kubectl(['patch', 'application', 'cilium', '-n', 'argocd', '--type=json', '-p', json([{ op: 'replace', path: '/spec/source/targetRevision', value: '1.18.7' }])]);
  t.equal(out.code, 0, `a harmless spec change is admitted: ${out.stderr}`);

  // Server-side apply, with its own field manager, as Argo CD applies with ServerSideApply=true.
  const ssaApp = application('cilium-ssa');
  out = await kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], ssaApp);
  t.equal(out.code, 0, out.stderr);
  out = await kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], application('cilium-ssa', (a) => (a.spec.source.helm.valuesObject.namespaceOverride = 'cilium')));
  t.match(out.stderr, denial(VALIDATING, 'Application argocd/cilium-ssa', 'R1'));
  t.match(out.stderr, /namespaceOverride/);

  // A value-files layer the webhook cannot read: admitted, and the warning reaches the person.
  out = await kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], application('cilium-ssa', (a) => {
    delete a.spec.source.helm.valuesObject.kubeProxyReplacement;
    a.spec.source.helm.valueFiles = ['values-talos.yaml'];
  }));
  t.equal(out.code, 0, out.stderr);
  t.match(out.stderr, /^Warning: \[cilium-guard R4\] /m, 'kubectl prints our warning');

  // DELETE: the resources finalizer would cascade to Cilium's DaemonSet.
  out = await kubectl(['delete', 'application', 'cilium', '-n', 'argocd']);
  t.match(out.stderr, denial(VALIDATING, 'Application argocd/cilium', 'D1'));
  t.ok(await get('application', 'cilium'), 'still there');
  out = await kubectl(['patch', 'application', 'cilium', '-n', 'argocd', '--type=json', '-p', json([{ op: 'remove', path: '/metadata/finalizers' }])]);
  t.equal(out.code, 0, out.stderr);
  out = await kubectl(['delete', 'application', 'cilium', '-n', 'argocd']);
  t.equal(out.code, 0, `orphaning delete admitted: ${out.stderr}`);
  t.equal(await get('application', 'cilium'), null);
  await kubectl(['delete', 'application', 'cilium-ssa', '-n', 'argocd', '--wait=false']);
});

t.test('break-glass: the on-call group deletes the Cilium Application, finalizer and all, without asking cilium-guard', async (t) => {
  let out = await kubectl(['create', '-f', '-'], application('cilium-glass'));
  t.equal(out.code, 0, out.stderr);
  const created = await get('application', 'cilium-glass');
  t.ok(created?.metadata.finalizers?.includes('resources-finalizer.argocd.argoproj.io'), 'with the resources finalizer');
  out = await kubectl(['delete', 'application', 'cilium-glass', '-n', 'argocd', '--wait=false']);
  t.match(out.stderr, denial(VALIDATING, 'Application argocd/cilium-glass', 'D1'), 'anyone else is refused');
  // The chart's matchConditions leave the break-glass group out: the API server does not call.
  const reviews = await counted(async () => {
    out = await kubectl(['delete', 'application', 'cilium-glass', '-n', 'argocd', '--wait=false'], undefined, c.asBreakGlass);
  });
  t.equal(out.code, 0, `break-glass delete admitted: ${out.stderr}`);
  t.equal(reviews, 0, 'cilium-guard was not asked');
  // Argo CD's finalizer now holds it until the cascade runs (no Argo CD here): it is being deleted.
  const deleting = await get('application', 'cilium-glass');
  t.type(deleting?.metadata.deletionTimestamp, 'string', 'marked for deletion');
  out = await kubectl(['patch', 'application', 'cilium-glass', '-n', 'argocd', '--type=json', '-p', json([{ op: 'remove', path: '/metadata/finalizers' }])], undefined, c.asBreakGlass);
  t.equal(out.code, 0, out.stderr);
  await eventually('the Application to go', async () => ((await get('application', 'cilium-glass')) === null ? true : undefined), 10_000);
});

t.test('dry run: judged the same, stored nothing, and cilium-guard saw dryRun', async (t) => {
  const bad = application('dry', (a) => (a.spec.source.helm.valuesObject.kubeProxyReplacement = 'strict'));
  const out = await kubectl(['apply', '--dry-run=server', '-f', '-'], bad);
  t.match(out.stderr, denial(VALIDATING, 'Application argocd/dry', 'R4'));
  const record = await guard.log((l) => l.event === 'cilium-guard.audit' && l.name === 'dry', 'the dry run');
  t.equal(record?.dryRun, true, 'the review carried dryRun: true');
  t.equal(record?.user, 'alice');
  const good = await kubectl(['create', '--dry-run=server', '-f', '-'], application('dry'));
  t.equal(good.code, 0, good.stderr);
  t.equal(await get('application', 'dry'), null, 'nothing stored');
});

t.test('status-only writes and metadata-only edits never reach cilium-guard', async (t) => {
  t.equal((await kubectl(['create', '-f', '-'], application('status'))).code, 0);
  // Application has no status subresource: Argo CD writes status through the main resource.
  const n = await counted(async () => {
    for (const health of ['Progressing', 'Degraded', 'Healthy']) {
      const status = { sync: { status: 'Synced', revision: 'abc123' }, health: { status: health } };
      const out = await kubectl(['patch', 'application', 'status', '-n', 'argocd', '--type=merge', '-p', json({ status })]);
      t.equal(out.code, 0, out.stderr);
    }
    const out = await kubectl(['label', 'application', 'status', '-n', 'argocd', 'team=net']);
    t.equal(out.code, 0, out.stderr);
  });
  t.equal(n, 0, 'no review for four writes that change no spec, operation or finalizer');
  t.equal((await get('application', 'status'))?.status.health.status, 'Healthy', 'the writes happened');
  t.equal(await counted(() => kubectl(['patch', 'application', 'status', '-n', 'argocd', '--type=merge', '-p', json({ operation: { sync: { revision: 'HEAD' } } })])), 1, 'an operation write does');
});

t.test('@kubernetes/client-node: the same answers through the typed client', async (t) => {
  const api = c.custom;
  const created = (await api.createNamespacedCustomObject({ ...APPS, body: application('node-good') })) as Obj;
  t.equal(created.metadata.name, 'node-good');

  const err = await api.createNamespacedCustomObject({ ...APPS, body: application('node-bad', (a) => (a.spec.source.helm.releaseName = '{{ "cilium" }}')) }).catch((e: unknown) => e);
  t.equal(statusOf(err), 403);
  t.match(describeApiError(err), denial(VALIDATING, 'Application argocd/node-bad', 'R2'));

  const patchErr = await api
    .patchNamespacedCustomObject({ ...APPS, name: 'node-good', body: { spec: { destination: { namespace: '' } } } }, merge)
    .catch((e: unknown) => e);
  t.equal(statusOf(patchErr), 403, 'merge patch denied');
  t.match(describeApiError(patchErr), /\[R1\]/);

  const applied = (await api.patchNamespacedCustomObject(
    { ...APPS, name: 'node-ssa', body: application('node-ssa'), fieldManager: 'argocd-controller', force: true },
    ssa,
  )) as Obj;
  t.equal(applied.metadata.managedFields[0].manager, 'argocd-controller', 'server-side apply created it');

  const dry = (await api.createNamespacedCustomObject({ ...APPS, body: application('node-dry'), dryRun: 'All' })) as Obj;
  t.equal(dry.metadata.name, 'node-dry');
  const missing = await api.getNamespacedCustomObject({ ...APPS, name: 'node-dry' }).catch((e: unknown) => e);
  t.equal(statusOf(missing), 404, 'dryRun=All stored nothing');

  const delErr = await api.deleteNamespacedCustomObject({ ...APPS, name: 'node-good' }).catch((e: unknown) => e);
  t.equal(statusOf(delErr), 403);
  t.match(describeApiError(delErr), denial(VALIDATING, 'Application argocd/node-good', 'D1'));
});

t.test('ApplicationSets: create, patch, status subresource, delete', async (t) => {
  let out = await kubectl(['create', '-f', '-'], applicationSet('cilium'));
  t.equal(out.code, 0, out.stderr);
  out = await kubectl(['create', '-f', '-'], applicationSet('no-ssa', (a) => (a.spec.template.spec.syncPolicy.syncOptions = [])));
  t.match(out.stderr, denial(VALIDATING, 'ApplicationSet argocd/no-ssa', 'R3'));
  out = await kubectl(['patch', 'applicationset', 'cilium', '-n', 'argocd', '--type=merge', '-p', json({ spec: { template: { spec: { destination: { namespace: 'cilium' } } } } })]);
  t.match(out.stderr, denial(VALIDATING, 'ApplicationSet argocd/cilium', 'R1'));
  // A full replace (PUT) through client-node, and server-side apply through kubectl.
  const api = c.custom;
  const current = (await api.getNamespacedCustomObject({ ...APPSETS, name: 'cilium' })) as Obj;
  current.spec.template.spec.source.helm.releaseName = 'cilium-v2';
  const replaced = await api.replaceNamespacedCustomObject({ ...APPSETS, name: 'cilium', body: current }).catch((e: unknown) => e);
  t.equal(statusOf(replaced), 403, 'replace denied');
  t.match(describeApiError(replaced), denial(VALIDATING, 'ApplicationSet argocd/cilium', 'R2'));
  out = await kubectl(['apply', '--server-side', '--field-manager=platform-team', '--force-conflicts', '-f', '-'], applicationSet('cilium', (a) => (a.spec.template.spec.source.helm.valuesObject.kubeProxyReplacement = 'false')));
  t.match(out.stderr, denial(VALIDATING, 'ApplicationSet argocd/cilium', 'R4'));
  out = await kubectl(['apply', '--server-side', '--field-manager=platform-team', '--force-conflicts', '-f', '-'], applicationSet('cilium', (a) => (a.spec.generators[0].list.elements[0].chartVersion = '1.18.7')));
  t.equal(out.code, 0, `a good server-side apply is admitted: ${out.stderr}`);
  // A templatePatch that drops ServerSideApply for the generated Cilium Application.
  out = await kubectl(['patch', 'applicationset', 'cilium', '-n', 'argocd', '--type=merge', '-p', json({ spec: { templatePatch: 'spec:\n  syncPolicy:\n    syncOptions: []\n' } })]);
  t.match(out.stderr, /\[R3\]/);
  // ApplicationSet has a status subresource; the webhook's rules do not name it.
  const n = await counted(async () => {
    const s = await kubectl(['patch', 'applicationset', 'cilium', '-n', 'argocd', '--subresource=status', '--type=merge', '-p', json({ status: { conditions: [{ type: 'ResourcesUpToDate', status: 'True', message: 'ok', reason: 'ApplicationSetUpToDate' }] } })]);
    t.equal(s.code, 0, s.stderr);
  });
  t.equal(n, 0, 'a status write never reaches cilium-guard');
  const err = await api.createNamespacedCustomObject({ ...APPSETS, body: applicationSet('node-appset', (a) => (a.spec.template.spec.source.helm.valuesObject.kubeProxyReplacement = false)) }).catch((e: unknown) => e);
  t.equal(statusOf(err), 403);
  t.match(describeApiError(err), /\[R4\]/);
  out = await kubectl(['delete', 'applicationset', 'cilium', '-n', 'argocd']);
  t.equal(out.code, 0, out.stderr);
});

t.test('cilium-config: denied and allowed edits, break-glass, and other ConfigMaps', async (t) => {
  let out = await kubectl(['create', '-f', '-'], ciliumConfig('true'));
  t.equal(out.code, 0, out.stderr);
  out = await kubectl(['patch', 'configmap', 'cilium-config', '-n', 'kube-system', '--type=merge', '-p', json({ data: { 'kube-proxy-replacement': 'false' } })]);
  t.match(out.stderr, denial(CILIUM_CONFIG_WEBHOOK, 'ConfigMap kube-system/cilium-config', 'C1'));
  out = await kubectl(['patch', 'configmap', 'cilium-config', '-n', 'kube-system', '--type=merge', '-p', json({ data: { 'enable-hubble': 'true' } })]);
  t.equal(out.code, 0, `an unrelated key may change: ${out.stderr}`);
  out = await kubectl(['delete', 'configmap', 'cilium-config', '-n', 'kube-system']);
  t.match(out.stderr, denial(CILIUM_CONFIG_WEBHOOK, 'ConfigMap kube-system/cilium-config', 'C1'));

  // A copy that Argo CD tracks as Cilium's, in another namespace: a second Cilium in the making.
  await kubectl(['create', 'namespace', 'cilium']);
  const copy = ciliumConfig('true', 'cilium');
  copy.metadata.annotations = { 'argocd.argoproj.io/tracking-id': 'cilium:/ConfigMap:cilium/cilium-config' };
  out = await kubectl(['create', '-f', '-'], copy);
  t.match(out.stderr, denial(CILIUM_CONFIG_WEBHOOK, 'ConfigMap cilium/cilium-config', 'C2'));

  const n = await counted(async () => {
    out = await kubectl(['patch', 'configmap', 'cilium-config', '-n', 'kube-system', '--type=merge', '-p', json({ data: { 'kube-proxy-replacement': 'false' } })], undefined, c.asBreakGlass);
    t.equal(out.code, 0, `break-glass may switch it off: ${out.stderr}`);
    out = await kubectl(['create', 'configmap', 'unrelated', '-n', 'kube-system', '--from-literal=kube-proxy-replacement=false']);
    t.equal(out.code, 0, out.stderr);
  });
  t.equal(n, 0, 'neither the break-glass write nor another ConfigMap reaches cilium-guard');
  out = await kubectl(['patch', 'configmap', 'cilium-config', '-n', 'kube-system', '--type=merge', '-p', json({ data: { 'kube-proxy-replacement': 'true' } })]);
  t.equal(out.code, 0, `repairing it is allowed: ${out.stderr}`);
});

t.test('argocd-cm: created without the exclusion, stored with it, re-applied without a change', async (t) => {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' } },
    data: { 'resource.exclusions': '- apiGroups: [metrics.k8s.io]\n  kinds: ["*"]\n  clusters: ["*"]\n', 'timeout.reconciliation': '180s' },
  };
  for (const [how, args] of [
    ['client-side apply', ['apply', '-f', '-']],
    ['server-side apply', ['apply', '--server-side', '--field-manager=argocd', '-f', '-']],
  ] as const) {
    await kubectl(['delete', 'configmap', 'argocd-cm', '-n', 'argocd', '--ignore-not-found']);
    let out = await kubectl([...args], cm);
    t.equal(out.code, 0, `${how}: ${out.stderr}`);
    const stored = (await c.core.readNamespacedConfigMap({ name: 'argocd-cm', namespace: 'argocd' })) as Obj;
    const exclusions = stored.data['resource.exclusions'] as string;
    t.same(
      parse(exclusions),
      [
        { apiGroups: ['metrics.k8s.io'], kinds: ['*'], clusters: ['*'] },
        { apiGroups: ['cilium.io'], kinds: ['CiliumIdentity'], clusters: ['*'] },
      ],
      `${how}: the existing entry is kept and the CiliumIdentity exclusion added`,
    );
    t.equal(stored.data['timeout.reconciliation'], '180s');
    const rv = stored.metadata.resourceVersion;
    out = await kubectl([...args], cm);
    t.equal(out.code, 0, out.stderr);
    const again = (await c.core.readNamespacedConfigMap({ name: 'argocd-cm', namespace: 'argocd' })) as Obj;
    t.equal(again.metadata.resourceVersion, rv, `${how}: re-applying the same manifest changes nothing`);
    t.same(again.data, stored.data);
  }
  // Once the exclusion is in Git, cilium-guard leaves the object alone.
  const already = (await c.core.readNamespacedConfigMap({ name: 'argocd-cm', namespace: 'argocd' })) as Obj;
  const withIt = { ...cm, data: { ...cm.data, 'resource.exclusions': already.data['resource.exclusions'] } };
  const out = await kubectl(['apply', '-f', '-'], withIt);
  t.equal(out.code, 0, out.stderr);
  const mutations = await eventually('two M1 audit records', async () => {
    const found = guard.logs.filter((l) => l.event === 'cilium-guard.audit' && l.rule === 'M1');
    return found.length >= 2 ? found : undefined;
  });
  t.ok(mutations.length >= 2, 'each added exclusion left an audit record');
});

// Last: it removes the webhook configurations.
t.test('the chart hook commands against the live webhooks: selftest, then uninstall', async (t) => {
  const cli = (...args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), ...args, `--kubeconfig=${c.cp.kubeconfig}`], (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
  let r = await cli('selftest', '--namespace=argocd');
  t.equal(r.code, 0, r.out);
  t.match(r.out, /ok: the bad Application was denied: HTTP 403: admission webhook "applications.cilium-guard.io" denied the request: .*\[R4\]/);
  t.equal(await get('application', 'cilium-guard-selftest-good'), null, 'the dry run stored nothing');

  r = await cli('uninstall', `--validating-webhook=${FULLNAME}`, `--mutating-webhook=${FULLNAME}`);
  t.equal(r.code, 0, r.out);
  t.match(r.out, `deleted validatingwebhookconfiguration ${FULLNAME}\ndeleted mutatingwebhookconfiguration ${FULLNAME}`);
  r = await cli('uninstall', `--validating-webhook=${FULLNAME}`);
  t.equal(r.code, 0, 'running it twice is fine');
  t.match(r.out, `validatingwebhookconfiguration ${FULLNAME} was already gone`);
  const before = await guard.calls();
  await eventually('the API server to stop calling cilium-guard', async () => {
    const out = await kubectl(['create', '--dry-run=server', '-f', '-'], application('after', (a) => (a.spec.destination.namespace = 'cilium')));
    return out.code === 0 ? true : undefined;
  });
  r = await cli('selftest', '--namespace=argocd');
  t.equal(r.code, 1, 'selftest fails without the webhook');
  t.match(r.out, /FAIL: an Application with kubeProxyReplacement: false was admitted/);
  t.ok((await guard.calls()) - before <= 1, 'no review reaches cilium-guard once the configurations are gone');
});
