// The chart with the real helm: lint and template with the defaults and every documented values
// file, a schema that refuses typos and wrong types, and the properties users rely on.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { CONFIG_SCHEMA } from '../../src/policy/config.js';
import { createMetrics } from '../../src/server/metrics.js';
import { NAMESPACE, find, render } from '../helpers/chart.js';
import { DASHBOARD_FILE, alertExpressions, dashboardExpressions, family, metricNames } from '../helpers/monitoring.js';
import { REPO } from '../helpers/corpus.js';
import { CHART, helm } from '../helpers/tools.js';

const exec = promisify(execFile);
const valuesFiles = readdirSync(path.join(CHART, 'ci')).filter((f) => f.endsWith('.yaml')).sort();

t.test('helm lint --strict passes with the defaults and with each values file in ci/', async (t) => {
  t.ok(valuesFiles.length >= 4, `${valuesFiles.length} values files`);
  for (const file of [undefined, ...valuesFiles]) {
    const args = ['lint', CHART, '--strict', ...(file ? ['-f', path.join(CHART, 'ci', file)] : [])];
    const { stdout } = await exec(helm(), args);
    t.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/, `lint ${file ?? 'defaults'}`);
    t.notMatch(stdout, /\[(WARNING|ERROR)\]/, `no warnings for ${file ?? 'defaults'}`);
  }
});

t.test('helm template renders every values file', async (t) => {
  for (const file of valuesFiles) {
    const r = await render({ files: [path.join(CHART, 'ci', file)] });
    t.ok(r.docs.length > 8, `${file}: ${r.docs.length} objects`);
  }
});

t.test('values.schema.json refuses unknown keys and wrong types, naming the field', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--set', 'replica=2'], /additional properties 'replica' not allowed/],
    [['--set', 'replicas=two'], /\/replicas': got string, want integer/],
    [['--set', 'webhooks.applications.failurePolicy=Sometimes'], /failurePolicy': value must be one of 'Fail', 'Ignore'/],
    [['--set', 'webhooks.ciliumConfig.timeoutSeconds=31'], /timeoutSeconds': maximum: got 31, want 30/],
    [['--set', 'certificates.mode=vault'], /mode': value must be one of/],
    [['--set', 'policy.rules.R1.mode=block'], /\/policy\/rules\/R1\/mode': value must be one of 'deny', 'warn', 'audit'/],
    [['--set', 'policy.cilium.namspace=kube-system'], /additional properties 'namspace' not allowed/],
    [['--set', 'policy.breakGlass.groups={x}'], /additional properties 'breakGlass' not allowed/],
    [['--set', 'certificates.selfSigned.overlap=5 minutes'], /overlap': '5 minutes' does not match pattern/],
  ];
  for (const [args, expected] of cases) {
    const r = await exec(helm(), ['template', 'x', CHART, ...args]).then(
      () => ({ ok: true, stderr: '' }),
      (err: { stderr: string }) => ({ ok: false, stderr: err.stderr }),
    );
    t.notOk(r.ok, `${args.join(' ')} is refused`);
    t.match(r.stderr, expected, args.join(' '));
  }
});

t.test('the policy part of the values schema is the policy file schema (less breakGlass)', async (t) => {
  const schema = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8')) as { properties: { policy: { properties: Record<string, unknown> } } };
  const { breakGlass: _b, ...expected } = CONFIG_SCHEMA.properties;
  t.same(schema.properties.policy.properties, JSON.parse(JSON.stringify(expected)));
  const { stdout } = await exec('node', [path.join(REPO, 'scripts/chart-schema.mjs')], { cwd: REPO });
  t.match(stdout, /wrote/);
  const { stdout: diff } = await exec('git', ['status', '--porcelain', 'charts/cilium-guard/values.schema.json'], { cwd: REPO });
  t.equal(diff, '', 'values.schema.json is what `npm run chart:schema` writes');
});

t.test('default install: two replicas, PDB, spread, probes, preStop shorter than the grace period', async (t) => {
  const r = await render();
  const dep = find(r, 'Deployment');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  t.equal(dep.spec.replicas, 2);
  t.equal(find(r, 'PodDisruptionBudget').spec.maxUnavailable, 1);
  t.same(pod.topologySpreadConstraints.map((s: { topologyKey: string }) => s.topologyKey), ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  t.equal(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) t.equal(c[probe].httpGet.scheme, 'HTTPS', probe);
  t.equal(c.readinessProbe.httpGet.path, '/readyz');
  t.equal(c.livenessProbe.httpGet.path, '/healthz');
  t.ok(pod.terminationGracePeriodSeconds > c.lifecycle.preStop.sleep.seconds, 'grace period longer than the preStop sleep');
  t.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, 'resources set');
  t.equal(dep.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rollout never drops below the replica count');
});

t.test('the pod is hardened for Pod Security restricted and mounts a token only where the code uses the API', async (t) => {
  for (const [mode, events, clusterView, tokenMounted] of [
    ['selfSigned', true, true, true],
    ['selfSigned', false, false, true],
    ['certManager', true, false, true],
    ['certManager', false, true, true],
    ['certManager', false, false, false],
  ] as const) {
    const r = await render({ set: { 'certificates.mode': mode, 'events.enabled': events, 'clusterView.enabled': clusterView } });
    const pod = find(r, 'Deployment').spec.template.spec;
    const c = pod.containers[0];
    t.equal(pod.securityContext.runAsNonRoot, true);
    t.equal(pod.securityContext.runAsUser, 65532);
    t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    t.same(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    t.equal(pod.automountServiceAccountToken, false);
    t.equal(find(r, 'ServiceAccount').automountServiceAccountToken, false);
    const mounts = c.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    const label = `${mode}, events ${events}, clusterView ${clusterView}`;
    const roles = r.docs.filter((d) => d.kind === 'Role' && !d.metadata.annotations?.['helm.sh/hook']);
    t.equal(mounts.includes('/var/run/secrets/kubernetes.io/serviceaccount'), tokenMounted, `${label}: API token mounted: ${tokenMounted}`);
    t.equal(mounts.includes('/tls'), mode !== 'selfSigned', `${label}: the TLS Secret is mounted unless cilium-guard manages it`);
    t.equal(r.docs.some((d) => d.kind === 'ClusterRole' && !d.metadata.annotations?.['helm.sh/hook']), mode === 'selfSigned' || events, `${label}: a ClusterRole only when used`);
    t.equal(roles.some((d) => d.metadata.namespace === NAMESPACE), mode === 'selfSigned', `${label}: Secret access only for selfSigned`);
    t.equal(roles.some((d) => d.metadata.namespace === 'kube-system'), clusterView, `${label}: kube-system access only for the cluster view`);
    t.equal(c.args.includes('--events'), events, `${label}: --events`);
    t.equal(c.args.includes('--cluster-view'), clusterView, `${label}: --cluster-view`);
    t.equal(c.env?.some((e: { name: string }) => e.name === 'POD_NAME') ?? false, events, `${label}: POD_NAME names the reporting instance`);
  }
});

t.test('extraEnv reaches the webhook container and both hook Jobs (an API server address where the Service IP is unreachable)', async (t) => {
  const env = [
    { name: 'KUBERNETES_SERVICE_HOST', value: '10.0.0.10' },
    { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
  ];
  for (const events of [true, false]) {
    const r = await render({ set: { 'events.enabled': events, extraEnv: env } });
    const c = find(r, 'Deployment').spec.template.spec.containers[0];
    t.same(c.env.filter((e: { name: string }) => e.name !== 'POD_NAME'), env, `events ${events}: the container has extraEnv`);
    t.equal(c.env.some((e: { name: string }) => e.name === 'POD_NAME'), events, `events ${events}: POD_NAME kept beside it`);
    const jobs = r.docs.filter((d) => d.kind === 'Job');
    t.equal(jobs.length, 2, 'the pre-delete Job and the helm test Job');
    for (const job of jobs) t.same(job.spec.template.spec.containers[0].env, env, `${job.metadata.name} has extraEnv`);
  }
  const plain = await render({ set: { 'events.enabled': false } });
  t.equal(find(plain, 'Deployment').spec.template.spec.containers[0].env, undefined, 'no env block without events or extraEnv');
  const refused = await exec(helm(), ['template', 'x', CHART, '--set', 'extraEnv[0].value=x']).then(
    () => '',
    (err: { stderr: string }) => err.stderr,
  );
  t.match(refused, /missing property 'name'/, 'an EnvVar without a name is refused by the schema');
});

t.test('RBAC is exactly what src/certs, src/audit/kube-events.ts and src/cluster/view.ts use, by resource name where names are known', async (t) => {
  const r = await render();
  const role = r.docs.find((d) => d.kind === 'Role' && d.metadata.namespace === NAMESPACE && !d.metadata.annotations?.['helm.sh/hook'])!;
  const viewRole = r.docs.find((d) => d.kind === 'Role' && d.metadata.namespace === 'kube-system')!;
  t.same(viewRole.rules, [
    { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cilium-config'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['cilium'], verbs: ['get', 'list', 'watch'] },
  ], 'the cluster view: two objects by name, in kube-system only');
  const viewBinding = r.docs.find((d) => d.kind === 'RoleBinding' && d.metadata.namespace === 'kube-system')!;
  t.same(viewBinding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: viewRole.metadata.name });
  t.same(viewBinding.subjects, [{ kind: 'ServiceAccount', name: 'cg-cilium-guard', namespace: NAMESPACE }]);
  const view = readFileSync(path.join(REPO, 'src/cluster/view.ts'), 'utf8');
  t.same([...new Set([...view.matchAll(/(?:core|apps)\.(\w+)\(/g)].map((m) => m[1]))].sort(), ['listNamespacedConfigMap', 'listNamespacedDaemonSet'], 'the cluster view lists (and watches) only');
  t.match(view, /fieldSelector = `metadata\.name=\$\{name\}`/, 'by name, which list/watch with resourceNames require');
  const moved = await render({ set: { 'clusterView.namespace': 'cilium', 'policy.cilium.configMapName': 'cilium-cfg' } });
  t.match(moved.docs.find((d) => d.kind === 'Role' && d.metadata.namespace === 'cilium')?.rules[0], { resourceNames: ['cilium-cfg'] }, 'namespace and ConfigMap name follow the values');
  const clusterRole = r.docs.find((d) => d.kind === 'ClusterRole' && !d.metadata.annotations?.['helm.sh/hook'])!;
  t.same(role.rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['cg-cilium-guard-tls'], verbs: ['get', 'update'] }]);
  t.same(clusterRole.rules, [
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: ['cg-cilium-guard'], verbs: ['get', 'patch'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['cg-cilium-guard'], verbs: ['get', 'patch'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ]);
  const events = readFileSync(path.join(REPO, 'src/audit/kube-events.ts'), 'utf8');
  t.same([...new Set([...events.matchAll(/this\.api\.(\w+)\(/g)].map((m) => m[1]))].sort(), ['createNamespacedEvent', 'patchNamespacedEvent'], 'the Event calls the last rule covers');
  const certManager = await render({ set: { 'certificates.mode': 'certManager' } });
  t.same(certManager.docs.find((d) => d.kind === 'ClusterRole' && !d.metadata.annotations?.['helm.sh/hook'])!.rules, [
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ], 'certManager: Events only');
  const source = readFileSync(path.join(REPO, 'src/certs/kube.ts'), 'utf8');
  const calls = [...source.matchAll(/this\.(core|admission)\.(\w+)\(/g)].map((m) => m[2]).sort();
  t.same([...new Set(calls)], [
    'createNamespacedSecret',
    'patchMutatingWebhookConfiguration',
    'patchValidatingWebhookConfiguration',
    'readMutatingWebhookConfiguration',
    'readNamespacedSecret',
    'readValidatingWebhookConfiguration',
    'replaceNamespacedSecret',
  ], 'the API calls the RBAC above covers (create is only a fallback when the chart did not create the Secret)');
});

t.test('webhooks: separate entries, tight rules, matchConditions, sideEffects None, short timeouts, failurePolicy from values', async (t) => {
  const r = await render({ set: { 'webhooks.ciliumConfig.failurePolicy': 'Fail', 'webhooks.applications.namespaces': ['argocd'] } });
  const v = find(r, 'ValidatingWebhookConfiguration');
  const m = find(r, 'MutatingWebhookConfiguration');
  t.same(v.webhooks.map((w: { name: string }) => w.name), ['applications.cilium-guard.io', 'cilium-config.cilium-guard.io']);
  t.same(m.webhooks.map((w: { name: string }) => w.name), ['argocd-cm.cilium-guard.io']);
  const [apps, cm] = v.webhooks;
  const [argocdCm] = m.webhooks;
  for (const w of [apps, cm, argocdCm]) {
    t.equal(w.sideEffects, 'None');
    t.ok(w.timeoutSeconds <= 5, `${w.name} times out within 5 s`);
    t.same(w.admissionReviewVersions, ['v1']);
    t.equal(w.clientConfig.service.port, 443);
  }
  t.equal(apps.failurePolicy, 'Fail');
  t.equal(cm.failurePolicy, 'Fail', 'failurePolicy comes from values');
  t.equal(argocdCm.failurePolicy, 'Ignore');
  t.same(apps.rules[0].resources, ['applications', 'applicationsets']);
  t.same(apps.namespaceSelector.matchExpressions[0].values, ['argocd']);
  t.same(cm.rules[0].resources, ['configmaps']);
  t.match(cm.matchConditions[0].expression, /== "cilium-config"$/);
  t.match(cm.matchConditions[1].expression, /"cilium-guard:break-glass"/);
  t.same(apps.matchConditions.map((c: { name: string }) => c.name), ['not-status-only', 'not-break-glass']);
  t.equal(apps.matchConditions[1].expression, cm.matchConditions[1].expression, 'one break-glass condition for both');
  t.same(argocdCm.objectSelector, { matchLabels: { 'app.kubernetes.io/part-of': 'argocd' } });
  t.equal(argocdCm.matchConditions[0].expression, 'object.metadata.name == "argocd-cm"');
  t.same(argocdCm.rules[0].operations, ['CREATE', 'UPDATE'], 'the mutating webhook never sees DELETE');
});

t.test('the ConfigMap names in matchConditions follow the policy', async (t) => {
  const r = await render({ set: { 'policy.cilium.configMapName': 'cilium-cfg', 'policy.argocd.configMapName': 'my-argocd-cm' } });
  t.match(find(r, 'ValidatingWebhookConfiguration').webhooks[1].matchConditions[0].expression, /== "cilium-cfg"$/);
  t.equal(find(r, 'MutatingWebhookConfiguration').webhooks[0].matchConditions[0].expression, 'object.metadata.name == "my-argocd-cm"');
  t.match(find(r, 'ConfigMap').data['policy.yaml'], /configMapName: cilium-cfg/);
});

t.test('the policy file gets the chart breakGlass, and a policy change rolls the pods', async (t) => {
  const a = await render();
  const b = await render({ set: { breakGlass: { groups: ['oncall'], users: ['alice'] } } });
  t.match(find(b, 'ConfigMap').data['policy.yaml'], /breakGlass:\n  groups:\n  - oncall\n  users:\n  - alice/);
  t.not(find(a, 'Deployment').spec.template.metadata.annotations['checksum/policy'], find(b, 'Deployment').spec.template.metadata.annotations['checksum/policy']);
});

t.test('certificate modes: selfSigned args, certManager injection annotation, existingSecret caBundle', async (t) => {
  const self = find(await render(), 'Deployment').spec.template.spec.containers[0].args as string[];
  t.ok(self.includes('--cert-secret=cilium-guard/cg-cilium-guard-tls'));
  t.ok(self.includes('--cert-dns-names=cg-cilium-guard.cilium-guard.svc,cg-cilium-guard.cilium-guard.svc.cluster.local'));
  const cm = await render({ files: [path.join(CHART, 'ci/cert-manager-values.yaml')] });
  t.equal(find(cm, 'ValidatingWebhookConfiguration').metadata.annotations['cert-manager.io/inject-ca-from'], 'cilium-guard/cg-cilium-guard');
  t.same(find(cm, 'Certificate', 'cilium-guard').spec.dnsNames, ['cg-cilium-guard.cilium-guard.svc', 'cg-cilium-guard.cilium-guard.svc.cluster.local']);
  t.ok((find(cm, 'Deployment').spec.template.spec.containers[0].args as string[]).includes('--tls-cert=/tls/tls.crt'));
  const own = await render({ files: [path.join(CHART, 'ci/existing-secret-values.yaml')] });
  const bundle = Buffer.from(find(own, 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, 'base64').toString();
  t.match(bundle, /^-----BEGIN CERTIFICATE-----/);
  t.equal(find(own, 'Deployment').spec.template.spec.volumes.find((v: { name: string }) => v.name === 'tls').secret.secretName, 'my-webhook-tls');
  const missing = await exec(helm(), ['template', 'x', CHART, '--set', 'certificates.mode=existingSecret']).catch((e: { stderr: string }) => e);
  t.match((missing as { stderr: string }).stderr, /certificates.existingSecret.(name|caBundle) .*is required when certificates.mode is existingSecret/);
});

t.test('uninstall: a pre-delete hook deletes the webhook configurations before the pods go', async (t) => {
  const r = await render();
  const job = r.docs.find((d) => d.kind === 'Job' && d.metadata.annotations?.['helm.sh/hook'] === 'pre-delete')!;
  t.same(job.spec.template.spec.containers[0].args, ['uninstall', '--validating-webhook=cg-cilium-guard', '--mutating-webhook=cg-cilium-guard']);
  const role = r.docs.find((d) => d.kind === 'ClusterRole' && d.metadata.annotations?.['helm.sh/hook'] === 'pre-delete')!;
  t.same(role.rules.map((x: { verbs: string[] }) => x.verbs), [['delete'], ['delete']]);
  t.ok(Number(job.metadata.annotations['helm.sh/hook-weight']) > Number(role.metadata.annotations['helm.sh/hook-weight']), 'RBAC exists before the Job');
});

t.test('every alert has a runbook_url from metrics.prometheusRule.runbookBaseURL, and its page exists in docs/runbooks/', async (t) => {
  type Alert = { alert: string; annotations: Record<string, string> };
  const rules = (r: Awaited<ReturnType<typeof render>>) => find(r, 'PrometheusRule').spec.groups[0].rules as Alert[];
  const base = 'https://github.com/cilium-guard/cilium-guard/blob/main/docs/runbooks/';
  const defaults = rules(await render({ set: { 'metrics.prometheusRule.enabled': true } }));
  t.ok(defaults.length >= 10, `${defaults.length} alerts`);
  const pages = new Set(readdirSync(path.join(REPO, 'docs', 'runbooks')));
  for (const alert of defaults) {
    t.equal(alert.annotations.runbook_url, `${base}${alert.alert}.md`, `${alert.alert}: runbook_url`);
    t.ok(pages.has(`${alert.alert}.md`), `docs/runbooks/${alert.alert}.md exists`);
    const page = readFileSync(path.join(REPO, 'docs', 'runbooks', `${alert.alert}.md`), 'utf8');
    t.match(page, new RegExp(`^# ${alert.alert}\\b`), `${alert.alert}: the page is that alert's runbook`);
  }
  // The base comes from values, with or without its trailing slash.
  for (const own of ['https://wiki.example.com/runbooks', 'https://wiki.example.com/runbooks/']) {
    const custom = rules(await render({ set: { 'metrics.prometheusRule.enabled': true, 'metrics.prometheusRule.runbookBaseURL': own } }));
    t.ok(custom.every((a) => a.annotations.runbook_url === `https://wiki.example.com/runbooks/${a.alert}.md`), `base ${own}`);
  }
});

t.test('options: hostNetwork, priorityClassName, NetworkPolicy, ServiceMonitor, PrometheusRule, url mode', async (t) => {
  const r = await render({ files: [path.join(CHART, 'ci/hardened-values.yaml')] });
  const pod = find(r, 'Deployment').spec.template.spec;
  t.equal(pod.hostNetwork, true);
  t.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  t.equal(pod.priorityClassName, 'system-cluster-critical');
  t.equal(pod.containers[0].ports[0].containerPort, 10443);
  t.equal(find(r, 'NetworkPolicy').spec.ingress[1].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'monitoring');
  const mon = await render({ files: [path.join(CHART, 'ci/cert-manager-values.yaml')] });
  t.equal(find(mon, 'ServiceMonitor').spec.endpoints[0].port, 'metrics');
  const alerts = find(mon, 'PrometheusRule').spec.groups[0].rules.map((x: { alert: string }) => x.alert);
  t.same(alerts, [
    'CiliumGuardWebhookFailOpen',
    'CiliumGuardWebhookCallsFailing',
    'CiliumGuardWebhookLatencyHigh',
    'CiliumGuardApiServerLatencyHigh',
    'CiliumGuardCertificateExpiringSoon',
    'CiliumGuardCertificateErrors',
    'CiliumGuardInternalErrors',
    'CiliumGuardEventsFailing',
    'CiliumGuardDenials',
    'CiliumGuardNoReadyReplicas',
  ]);
  const eventsAlert = await render({ set: { 'metrics.prometheusRule.enabled': true, 'metrics.prometheusRule.eventsFailingThreshold': 0.5 } });
  const rule = (find(eventsAlert, 'PrometheusRule').spec.groups[0].rules as Array<{ alert: string; expr: string }>).find((x) => x.alert === 'CiliumGuardEventsFailing')!;
  t.match(rule.expr, /result=~"failed\|timed_out\|dropped"}\[10m\]\)\) > 0\.5$/, 'the threshold comes from values');
  t.match(find(mon, 'PrometheusRule').spec.groups[0].rules[4].expr, /< 604800$/, '168h in seconds');
  const url = await render({ set: { 'webhooks.url': 'https://127.0.0.1:8443' } });
  t.same(find(url, 'ValidatingWebhookConfiguration').webhooks[0].clientConfig, { url: 'https://127.0.0.1:8443/validate' });
  t.same(find(url, 'MutatingWebhookConfiguration').webhooks[0].clientConfig, { url: 'https://127.0.0.1:8443/mutate' });
  // The API server checks the URL's host against the self-signed certificate: it must be named.
  const certArgs = async (u: string) =>
    (find(await render({ set: { 'webhooks.url': u } }), 'Deployment').spec.template.spec.containers[0].args as string[]).filter((a) => /^--cert-(ips|dns-names)=/.test(a));
  t.same(await certArgs('https://127.0.0.1:8443'), ['--cert-dns-names=cg-cilium-guard.cilium-guard.svc,cg-cilium-guard.cilium-guard.svc.cluster.local', '--cert-ips=127.0.0.1']);
  t.same(await certArgs('https://[::1]:8443'), ['--cert-dns-names=cg-cilium-guard.cilium-guard.svc,cg-cilium-guard.cilium-guard.svc.cluster.local', '--cert-ips=::1']);
  t.same(await certArgs('https://guard.example.com'), ['--cert-dns-names=cg-cilium-guard.cilium-guard.svc,cg-cilium-guard.cilium-guard.svc.cluster.local,guard.example.com']);
});

t.test('the Grafana dashboard ConfigMap', async (t) => {
  t.notOk((await render()).docs.some((d) => d.kind === 'ConfigMap' && String(d.metadata.name).endsWith('-dashboard')), 'off by default');
  const r = await render({
    set: { 'metrics.grafanaDashboard': { enabled: true, namespace: 'monitoring', labels: { grafana_dashboard: '1' }, annotations: { grafana_folder: 'Platform' } } },
  });
  const cm = find(r, 'ConfigMap', '-dashboard');
  t.equal(cm.metadata.namespace, 'monitoring');
  t.equal(cm.metadata.labels.grafana_dashboard, '1', 'the Grafana sidecar label');
  t.same(cm.metadata.annotations, { grafana_folder: 'Platform' });
  t.equal(cm.data['cilium-guard.json'], readFileSync(DASHBOARD_FILE, 'utf8'), 'the dashboard file, byte for byte');
  const dashboard = JSON.parse(cm.data['cilium-guard.json']);
  t.equal(dashboard.uid, 'cilium-guard');
  t.ok(dashboard.panels.filter((p: { type: string }) => p.type !== 'row').length >= 12);
  const ids = dashboard.panels.map((p: { id: number }) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dashboard.panels as Array<{ gridPos: { x: number; w: number } }>) t.ok(p.gridPos.x + p.gridPos.w <= 24, 'panels fit the 24-column grid');
  t.equal(find(await render({ set: { 'metrics.grafanaDashboard.enabled': true } }), 'ConfigMap', '-dashboard').metadata.namespace, 'cilium-guard', 'default: the release namespace');
});

t.test('every cilium-guard metric the dashboard and alerts query is exported', async (t) => {
  const metrics = createMetrics();
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  const used = metricNames([...dashboardExpressions(), ...(await alertExpressions())]);
  const ours = [...used].filter((n) => n.startsWith('cilium_guard_'));
  t.ok(ours.length >= 10, `the dashboard and alerts use cilium-guard's metrics: ${ours.join(', ')}`);
  for (const name of ours) t.ok(exported.has(family(name)), `${name} is exported by createMetrics()`);
  for (const m of ['cilium_guard_admission_requests_total', 'cilium_guard_rule_results_total', 'cilium_guard_admission_duration_seconds_bucket', 'cilium_guard_events_total', 'cilium_guard_certificate_expiry_timestamp_seconds']) {
    t.ok(used.has(m), `the dashboard or alerts show ${m}`);
  }
  // The API server's own metrics are checked against a live kube-apiserver in test/e2e/failure.test.ts;
  // kube-state-metrics is the one other exporter, for the replica count.
  t.same([...used].filter((n) => n.startsWith('kube_')), ['kube_deployment_status_replicas_available']);
});

t.test('NOTES.txt tells the user what to check', async (t) => {
  const { stdout } = await exec(helm(), ['install', 'cg', CHART, '-n', 'cilium-guard', '--dry-run=client']);
  t.match(stdout, /rollout status deployment\/cg-cilium-guard/);
  t.match(stdout, /helm test cg -n cilium-guard/);
  t.match(stdout, /--as-group=cilium-guard:break-glass/);
  t.match(stdout, /cilium-config.cilium-guard.io .*failurePolicy=Ignore/);
});

t.test("the ValidatingAdmissionPolicies' messages name each rule's page, from policy.docs.ruleURL", async (t) => {
  const messages = (r: Awaited<ReturnType<typeof render>>) =>
    r.docs
      .filter((d) => d.kind === 'ValidatingAdmissionPolicy')
      .flatMap((d) => d.spec.validations as Array<{ message?: string; messageExpression?: string }>)
      .map((v) => v.message ?? v.messageExpression ?? '');
  const byDefault = messages(await render());
  t.equal(byDefault.length, 4, 'R1, R2, R3 and C1');
  for (const [i, rule] of ['R1', 'R2', 'R3', 'C1'].entries()) {
    t.match(byDefault[i], `[${rule}]`);
    t.match(byDefault[i], `(see https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/${rule}.md)`, `${rule} names its page`);
  }
  const moved = messages(await render({ set: { 'policy.docs.ruleURL': 'https://wiki.example.org/{rule}' } }));
  t.match(moved[2], '(see https://wiki.example.org/R3)');
  const off = messages(await render({ set: { 'policy.docs.ruleURL': '' } }));
  t.notOk(off.some((m) => m.includes('(see ')), 'no links when ruleURL is empty');
});
