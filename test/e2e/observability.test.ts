// What on-call people and auditors see, through a real kube-apiserver: the Events cilium-guard writes
// on denied objects (as the chart's ServiceAccount, with the chart's RBAC), and its metrics.
import t from 'tap';
import { type Obj, application, eventually, startCluster } from './harness.js';

const c = await startCluster({ guardFlags: { '--events-series-interval': '1s' } });
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
  t.match(text, /cilium_guard_admission_requests_total\{route="validate",operation="CREATE",kind="Application",verdict="denied"\} \d+/);
  t.match(text, /cilium_guard_admission_duration_seconds_bucket\{le="[^"]+",route="validate",operation="UPDATE",verdict="denied",rule="R3"\} \d+/);
  t.match(text, /cilium_guard_rule_results_total\{rule="R2",verdict="deny"\} 5/);
  const expiry = Number(/cilium_guard_certificate_expiry_timestamp_seconds\{certificate="serving"\} (\S+)/.exec(text)?.[1]);
  t.ok(expiry * 1000 > Date.now(), 'the serving certificate expiry is in the future');
  t.match(text, /cilium_guard_process_resident_memory_bytes \d+/);
});
