// What on-call people and auditors see, through a real kube-apiserver: the Events cilium-guard writes
// on denied objects (as the chart's ServiceAccount, with the chart's RBAC), its metrics, and
// `cilium-guard audit` over what the cluster already holds.
import { execFile } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { REPO } from '../helpers/corpus.js';
import { policyReportCRDs } from '../helpers/tools.js';
import { type Obj, application, applicationSet, ciliumConfig, eventually, startCluster } from './harness.js';

const SKIP_MUTATION = 'test.cilium-guard.io/skip-mutation';
const c = await startCluster({
  guardFlags: { '--events-series-interval': '1s' },
  // A user's objectSelector lets some argocd-cm through unmutated: what `audit` must still find.
  set: { 'webhooks.argocdCm.objectSelector': { matchExpressions: [{ key: SKIP_MUTATION, operator: 'DoesNotExist' }] } },
});
t.teardown(() => c.stop());
const { kubectl, guard } = c;

async function events(namespace: string, selector = 'cilium-guard.io/rule'): Promise<Obj[]> {
  const out = await kubectl(['get', 'events.events.k8s.io', '-n', namespace, '-l', selector, '-o', 'json']);
  if (out.code !== 0) throw new Error(out.stderr);
  return (JSON.parse(out.stdout) as { items: Obj[] }).items;
}

t.test('a denied create leaves one PolicyViolation Event on the object, with the rule and the message', async (t) => {
  const bad = application('moved', (a) => (a.spec.destination.namespace = 'cilium'));
  const out = await kubectl(['create', '-f', '-'], bad);
  t.not(out.code, 0);
  t.match(out.stderr, /denied the request: .*\[R1\]/);
  const [event] = await eventually('the Event', async () => {
    const list = (await events('argocd', 'cilium-guard.io/rule=R1')).filter((e) => e.regarding?.name === 'moved');
    return list.length > 0 ? list : undefined;
  });
  t.match(event, {
    reason: 'PolicyViolation',
    action: 'Denied',
    type: 'Warning',
    reportingController: 'cilium-guard.io/admission-webhook',
    regarding: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'moved' },
    note: /^cilium-guard denied CREATE: \[R1\] /,
  });
  // kubectl's default (core/v1) view of the same Event, as `kubectl get events` prints it.
  const table = await kubectl(['get', 'events', '-n', 'argocd', '--field-selector', 'involvedObject.name=moved']);
  t.match(table.stdout, /Warning\s+PolicyViolation\s+application\/moved\s+cilium-guard denied CREATE: \[R1\]/);
});

t.test('a denied update shows in `kubectl describe` of the existing Application', async (t) => {
  t.equal((await kubectl(['create', '-f', '-'], application('kept'))).code, 0);
  const out = await kubectl(['patch', 'application', 'kept', '-n', 'argocd', '--type=merge', '-p', JSON.stringify({ spec: { syncPolicy: { syncOptions: [] } } })]);
  t.match(out.stderr, /denied the request: .*\[R3\]/);
  const described = await eventually('describe to list the Event', async () => {
    const d = await kubectl(['describe', 'application', 'kept', '-n', 'argocd']);
    return /PolicyViolation/.test(d.stdout) ? d.stdout : undefined;
  });
  t.match(described, /Warning\s+PolicyViolation\s+.*cilium-guard denied UPDATE: \[R3\]/);
  const [event] = (await events('argocd', 'cilium-guard.io/rule=R3')).filter((e) => e.regarding?.name === 'kept');
  t.ok(event?.regarding?.uid, 'an update names the uid of the object it was about');
});

t.test('the same denial five times is one Event with series.count 5; a dry run writes none', async (t) => {
  const bad = application('repeated', (a) => (a.spec.source.helm.releaseName = 'cilium-two'));
  for (let i = 0; i < 5; i++) t.match((await kubectl(['create', '-f', '-'], bad)).stderr, /\[R2\]/);
  const event = await eventually('series.count 5', async () => {
    const list = (await events('argocd', 'cilium-guard.io/rule=R2')).filter((e) => e.regarding?.name === 'repeated');
    return list.length === 1 && list[0]!.series?.count === 5 ? list[0] : undefined;
  });
  t.match(event?.series?.lastObservedTime, /^\d{4}-\d\d-\d\dT/);

  const answered = await guard.calls();
  const dry = application('dry-run-only', (a) => (a.spec.destination.namespace = 'cilium'));
  t.match((await kubectl(['create', '--dry-run=server', '-f', '-'], dry)).stderr, /\[R1\]/);
  t.equal(await guard.calls(), answered + 1, 'the dry run reached cilium-guard');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.same((await events('argocd')).filter((e) => e.regarding?.name === 'dry-run-only'), []);
  t.equal(await guard.metric('cilium_guard_events_total', { result: 'failed' }), 0);
  t.equal(await guard.metric('cilium_guard_events_total', { result: 'sent' }), 3);
  t.equal(await guard.metric('cilium_guard_events_total', { result: 'deduplicated' }), 4);
});

t.test('metrics: requests, latency by operation, verdict and rule, rule hits, certificate expiry, process', async (t) => {
  const text = await (await fetch(guard.metricsUrl)).text();
  t.match(text, /cilium_guard_admission_requests_total\{route="validate",operation="CREATE",kind="Application",verdict="denied",caller="authenticated"\} \d+/);
  t.match(text, /cilium_guard_admission_duration_seconds_bucket\{le="[^"]+",route="validate",operation="UPDATE",verdict="denied",rule="R3"\} \d+/);
  t.match(text, /cilium_guard_rule_results_total\{rule="R2",verdict="deny",caller="authenticated"\} 5/);
  const expiry = Number(/cilium_guard_certificate_expiry_timestamp_seconds\{certificate="serving"\} (\S+)/.exec(text)?.[1]);
  t.ok(expiry * 1000 > Date.now(), 'the serving certificate expiry is in the future');
  t.match(text, /cilium_guard_process_resident_memory_bytes \d+/);
});

const MAIN = path.join(REPO, 'dist/src/cli/main.js');
function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

t.test('cilium-guard audit: what the cluster already holds, judged by the same policy', async (t) => {
  // Clean objects first: audit on them passes.
  const clean = await cli(['audit', '--kubeconfig', c.asAlice, '--namespace', 'kube-system']);
  t.equal(clean.code, 0, clean.stdout + clean.stderr);
  t.match(clean.stdout, /^0 object\(s\) checked: 0 denied/m);

  // What the webhook never judged: writes by the break-glass group, and an argocd-cm outside the
  // mutating webhook's objectSelector.
  const holdsBad = [
    application('kpr-off', (a) => (a.spec.source.helm.valuesObject.kubeProxyReplacement = false)),
    applicationSet('appset-moved', (a) => (a.spec.template.spec.destination.namespace = 'cilium')),
    ciliumConfig('false'),
    { ...ciliumConfig('true', 'cilium'), metadata: { name: 'cilium-config', namespace: 'cilium', annotations: { 'argocd.argoproj.io/tracking-id': 'cilium:/ConfigMap:cilium/cilium-config' } } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { [SKIP_MUTATION]: 'true', 'app.kubernetes.io/part-of': 'argocd' } },
      data: { 'resource.exclusions': '- apiGroups: ["example.com"]\n  kinds: ["Thing"]\n' },
    },
  ];
  t.equal((await kubectl(['create', 'namespace', 'cilium'])).code, 0);
  for (const o of holdsBad) {
    const out = await kubectl(['create', '-f', '-'], o, c.asBreakGlass);
    t.equal(out.code, 0, `${o.kind} ${o.metadata.name}: ${out.stderr}`);
  }
  for (let i = 0; i < 4; i++) t.equal((await kubectl(['create', '-f', '-'], application(`fine-${i}`))).code, 0);

  const text = await cli(['audit', '--kubeconfig', c.asAlice, '--page-size', '2', '--progress']);
  t.equal(text.code, 1, 'exit 1: something breaks a rule');
  t.match(text.stdout, /FAIL  cluster\/\S+ Application argocd\/kpr-off\n  DENY R4 /);
  t.match(text.stdout, /FAIL  cluster\/\S+ ApplicationSet argocd\/appset-moved\n  DENY R1 /);
  t.match(text.stdout, /FAIL  cluster\/\S+ ConfigMap kube-system\/cilium-config\n  DENY C1 /);
  t.match(text.stdout, /FAIL  cluster\/\S+ ConfigMap cilium\/cilium-config\n  DENY C2 /);
  t.match(text.stdout, /ConfigMap argocd\/argocd-cm\n  MUTATE M1 /);
  t.notMatch(text.stdout, /fine-0/, 'clean objects are counted, not listed, without --verbose');
  t.match(text.stdout, /^\d+ object\(s\) checked: 4 denied, 1 need the argocd-cm mutation/m);
  t.match(text.stderr, /audit: Applications: 2 listed, more to come\n/, 'progress per page on stderr');
  t.match(text.stderr, /audit: checked \d+ object\(s\)/);

  const verbose = await cli(['audit', '--kubeconfig', c.asAlice, '--verbose', '--quiet', '-n', 'argocd']);
  t.match(verbose.stdout, /ok    cluster\/\S+ Application argocd\/fine-0/);
  t.equal(verbose.stderr, '');

  const json = JSON.parse((await cli(['audit', '--kubeconfig', c.asAlice, '-o', 'json'])).stdout) as Obj;
  t.equal(json.command, 'audit');
  const names = (json.objects as Obj[]).map((o) => `${o.kind}/${o.namespace}/${o.name}`);
  for (let i = 0; i < 4; i++) t.ok(names.includes(`Application/argocd/fine-${i}`), `fine-${i} was listed across pages`);
  t.equal(new Set(names).size, names.length, 'no object twice across pages');
  const kprOff = (json.objects as Obj[]).find((o) => o.name === 'kpr-off');
  t.match(kprOff, { apiVersion: 'argoproj.io/v1alpha1', allowed: false, uid: /^[0-9a-f-]{36}$/ });

  // Forbidden to list: a clear error and exit 2, not a clean report.
  const denied = await cli(['audit', '--kubeconfig', c.guardKubeconfig]);
  t.equal(denied.code, 2);
  t.match(denied.stdout, /ERROR cluster\/\S+ Applications: cannot list Applications in all namespaces: HTTP 403/);
});

t.test('audit -o policyreport: wgpolicyk8s.io PolicyReports that the real CRD accepts', async (t) => {
  for (const f of ['wgpolicyk8s.io_policyreports.yaml', 'wgpolicyk8s.io_clusterpolicyreports.yaml']) {
    const out = await c.cp.kubectl(['apply', '--server-side', '-f', path.join(policyReportCRDs(), f)]);
    t.equal(out.code, 0, out.stderr);
  }
  await eventually('the PolicyReport CRD to be served', async () => ((await kubectl(['get', 'policyreports', '-A'])).code === 0 ? true : undefined));
  const out = await cli(['audit', '--kubeconfig', c.asAlice, '-o', 'policyreport']);
  t.equal(out.code, 1);
  const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
  t.same(docs.map((d) => `${d.kind}/${d.metadata.namespace}`).sort(), ['PolicyReport/argocd', 'PolicyReport/cilium', 'PolicyReport/kube-system']);
  const applied = await kubectl(['apply', '--server-side', '--field-manager=cilium-guard-audit', '-f', '-'], out.stdout);
  t.equal(applied.code, 0, applied.stderr);
  const stored = JSON.parse((await kubectl(['get', 'policyreport', 'cilium-guard', '-n', 'argocd', '-o', 'json'])).stdout) as Obj;
  const r4 = (stored.results as Obj[]).find((r) => r.rule === 'R4');
  t.match(r4, { policy: 'cilium-guard', result: 'fail', severity: 'high', resources: [{ kind: 'Application', name: 'kpr-off', namespace: 'argocd' }] });
  t.ok(stored.summary.fail >= 3 && stored.summary.pass >= 4, `summary ${JSON.stringify(stored.summary)}`);
  t.ok((stored.results as Obj[]).some((r) => r.rule === 'M1' && r.result === 'fail'), 'the missing exclusion is a failure');
});
