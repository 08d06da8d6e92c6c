// The live cluster view through a real kube-apiserver, as the chart's ServiceAccount with only the
// chart's RBAC (a Role in kube-system: get/list/watch on cilium-config and the cilium DaemonSet by
// name): cilium-guard started before Cilium exists says so in /readyz and its metrics and still
// answers reviews; the objects of the real Cilium 1.18.1 chart, rendered with Talos' values, fill
// the view within seconds, and an edit of cilium-config is seen.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { SHARED } from '../helpers/corpus.js';
import { helm } from '../helpers/tools.js';
import { type Obj, application, eventually, startCluster } from './harness.js';

const exec = promisify(execFile);
const c = await startCluster();
t.teardown(() => c.stop());
const { guard, readyz } = c;

/** ConfigMap cilium-config and DaemonSet cilium, as `helm template` of the real chart renders them with Talos' values. */
async function ciliumObjects(): Promise<{ configMap: Obj; daemonSet: Obj }> {
  const chart = path.join(SHARED, 'upstream', 'cilium', 'cilium-1.18.1.tgz');
  const { stdout } = await exec(
    helm(),
    [
      'template', 'cilium', chart, '--namespace', 'kube-system',
      '--set', 'ipam.mode=kubernetes,kubeProxyReplacement=true,k8sServiceHost=localhost,k8sServicePort=7445',
      '--set', 'cgroup.autoMount.enabled=false,cgroup.hostRoot=/sys/fs/cgroup',
      '--set', 'securityContext.capabilities.ciliumAgent={CHOWN,KILL,NET_ADMIN,NET_RAW,IPC_LOCK,SYS_ADMIN,SYS_RESOURCE,DAC_OVERRIDE,FOWNER,SETGID,SETUID}',
      '--set', 'securityContext.capabilities.cleanCiliumState={NET_ADMIN,SYS_ADMIN,SYS_RESOURCE}',
    ],
    { maxBuffer: 64 << 20 },
  );
  const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter(Boolean);
  const configMap = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'cilium-config');
  const daemonSet = docs.find((d) => d.kind === 'DaemonSet' && d.metadata?.name === 'cilium');
  if (!configMap || !daemonSet) throw new Error('the Cilium chart rendered no cilium-config or DaemonSet cilium');
  // The test API server runs without --allow-privileged (nothing here runs pods), so what needs it
  // goes; what the view reads, the cilium-agent image, is untouched.
  const pod = daemonSet.spec.template.spec;
  for (const x of [...(pod.initContainers ?? []), ...pod.containers]) {
    delete x.securityContext?.privileged;
    for (const m of x.volumeMounts ?? []) if (m.mountPropagation === 'Bidirectional') delete m.mountPropagation;
  }
  return { configMap, daemonSet };
}

t.test('before Cilium exists: the view is current but both objects are missing, and reviews are answered', async (t) => {
  const ready = await eventually('the view to be listed', async () => {
    const r = await readyz();
    return r.body.clusterView?.state === 'current' ? r : undefined;
  }, 15_000);
  t.equal(ready.status, 200, 'ready: the view never decides readiness');
  t.same(ready.body.clusterView.missing, ['ConfigMap kube-system/cilium-config', 'DaemonSet kube-system/cilium']);
  t.equal(ready.body.clusterView.ageSeconds, 0);
  t.equal(await guard.metric('cilium_guard_cluster_view_up'), 1);
  t.equal(await guard.metric('cilium_guard_cluster_view_object_present', { object: 'cilium-config' }), 0);
  t.equal(await guard.metric('cilium_guard_cluster_view_object_present', { object: 'cilium-agent' }), 0);
  const answered = await guard.calls();
  const out = await c.kubectl(['create', '--dry-run=server', '-f', '-'], application('before-cilium'));
  t.equal(out.code, 0, out.stderr);
  t.equal(await guard.calls(), answered + 1, 'the review reached cilium-guard and was allowed');
  t.notOk(guard.logs.some((l) => l.component === 'cluster-view' && l.level >= 40), 'no view errors: the chart RBAC allows list and watch by name');
});

t.test('Cilium 1.18.1 installed: the view fills within seconds, and an edit of cilium-config is seen', async (t) => {
  const { configMap, daemonSet } = await ciliumObjects();
  const started = Date.now();
  for (const o of [configMap, daemonSet]) {
    const out = await c.cp.kubectl(['apply', '--server-side', '--field-manager=helm', '-f', '-'], { input: JSON.stringify(o) });
    t.equal(out.code, 0, `${o.kind}: ${out.stderr}`);
  }
  const filled = await eventually('the view to see Cilium', async () => {
    const r = await readyz();
    return r.body.clusterView?.agentVersion === '1.18.1' && r.body.clusterView.missing.length === 0 ? r : undefined;
  }, 10_000);
  t.ok(Date.now() - started < 5_000, `seen in ${Date.now() - started} ms`);
  t.match(filled.body, { status: 'ready', clusterView: { state: 'current', ageSeconds: 0, missing: [], agentVersion: '1.18.1' } });
  t.equal(await guard.metric('cilium_guard_cluster_view_age_seconds'), 0);
  t.equal(await guard.metric('cilium_guard_cluster_view_object_present', { object: 'cilium-config' }), 1);
  t.equal(await guard.metric('cilium_guard_cluster_view_object_present', { object: 'cilium-agent' }), 1);

  const out = await c.cp.kubectl(['patch', 'configmap', 'cilium-config', '-n', 'kube-system', '--type=merge', '-p', JSON.stringify({ data: { 'cluster-name': 'talos-prod' } }), '-o', 'jsonpath={.metadata.resourceVersion}']);
  t.equal(out.code, 0, out.stderr);
  const edited = out.stdout.trim();
  t.not(edited, filled.body.clusterView.ciliumConfigResourceVersion);
  const changed = await eventually('the view to see the edit', async () => {
    const r = await readyz();
    return r.body.clusterView.ciliumConfigResourceVersion === edited ? r : undefined;
  }, 5_000);
  t.match(changed.body.clusterView, { state: 'current', missing: [], ageSeconds: 0 });

  // U1 reads the view: an Application two minors below the running 1.18.1 is refused, the next minor passes.
  // (Each keeps the running cluster name, which L1 would otherwise refuse to change.)
  const runningName = (a: Obj): void => void (a.spec.source.helm.valuesObject.cluster = { name: 'talos-prod' });
  const skip = await c.kubectl(['create', '--dry-run=server', '-f', '-'], application('skip', (a) => {
    runningName(a);
    a.spec.source.targetRevision = '1.16.3';
  }));
  t.match(skip.stderr, /denied the request: cilium-guard denied Application argocd\/skip: \[U1\] spec\.source\.targetRevision is 1\.16\.3, a downgrade of 2 minor versions from 1\.18\.1 \(the running cilium-agent \(quay\.io\/cilium\/cilium:v1\.18\.1@sha256:/);
  // L1 reads the edited view: the running cluster is now named talos-prod, so an Application that
  // leaves cluster.name at the chart's "default" would rename it; naming it talos-prod passes.
  const renames = await c.kubectl(['create', '--dry-run=server', '-f', '-'], application('next', (a) => (a.spec.source.targetRevision = '1.19.0')));
  t.match(renames.stderr, /\[L1\] this would make cilium-config cluster-name "default", which changes it from "talos-prod" in the running cilium-config; .*: set cluster\.name so that cluster-name stays "talos-prod"/);
  const next = await c.kubectl(['create', '--dry-run=server', '-f', '-'], application('next', (a) => {
    runningName(a);
    a.spec.source.targetRevision = '1.19.0';
  }));
  t.equal(next.code, 0, next.stderr);

  // And the agent is gone again: the view says so at once.
  t.equal((await c.cp.kubectl(['delete', 'daemonset', 'cilium', '-n', 'kube-system'])).code, 0);
  const gone = await eventually('the view to miss the DaemonSet', async () => {
    const r = await readyz();
    return r.body.clusterView.missing.includes('DaemonSet kube-system/cilium') ? r : undefined;
  }, 5_000);
  t.equal(gone.status, 200);
  t.equal(gone.body.clusterView.agentVersion, undefined);
  const unknown = await c.kubectl(['create', '--dry-run=server', '-f', '-'], application('skip', (a) => {
    runningName(a);
    a.spec.source.targetRevision = '1.16.3';
  }));
  t.equal(unknown.code, 0, 'no agent runs, no version to compare with: allowed');
});
