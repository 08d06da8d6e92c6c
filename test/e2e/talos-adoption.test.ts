// Issue 16, end to end: a Talos cluster whose Cilium Argo CD adopts. cilium-guard (its own process,
// the chart's RBAC, --cluster-view) starts before Cilium exists; then the real Cilium 1.18.1 chart
// is installed with `helm install` and Talos' values, as Talos' bootstrap Job does; then Argo CD's
// writes of the user's Application are judged against what now runs.
//
// Every answer is read from the API server itself (status, Status message, each Warning header), and
// the rule ids in it are compared exactly: which rules denied, which warned, in order.
//
// The API server runs with --allow-privileged=true so the chart's pod templates are stored as they
// are; there is no kubelet, so no pod ever runs. helm talks to this API server only (see
// Cluster.helm) and does not wait for pods.
import path from 'node:path';
import t, { type Test } from 'tap';
import { SHARED } from '../helpers/corpus.js';
import { type ApiAnswer, type Obj, VALIDATING, application, eventually, startCluster } from './harness.js';

const started = Date.now();
const c = await startCluster({ allowPrivileged: true });
t.teardown(() => c.stop());
const { guard } = c;

const APPS = '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications';
const INSTALLED = path.join(SHARED, 'upstream', 'cilium', 'cilium-1.18.1.tgz');
const AGENT_CAPS = ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'];
const CLEAN_CAPS = ['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE'];

/** Talos' documented flags ("Deploying Cilium CNI", kube-proxy-free, KubePrism), as its bootstrap Job passes them. */
const TALOS_SET = [
  'ipam.mode=kubernetes',
  'kubeProxyReplacement=true',
  `securityContext.capabilities.ciliumAgent={${AGENT_CAPS.join(',')}}`,
  `securityContext.capabilities.cleanCiliumState={${CLEAN_CAPS.join(',')}}`,
  'cgroup.autoMount.enabled=false',
  'cgroup.hostRoot=/sys/fs/cgroup',
  'k8sServiceHost=localhost',
  'k8sServicePort=7445',
];
/** The same values as the user's Application carries them. */
const TALOS_VALUES = {
  ipam: { mode: 'kubernetes' },
  kubeProxyReplacement: true,
  securityContext: { capabilities: { ciliumAgent: AGENT_CAPS, cleanCiliumState: CLEAN_CAPS } },
  cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
  k8sServiceHost: 'localhost',
  k8sServicePort: 7445,
};

/** The user's Application: chart 1.18.2 from helm.cilium.io into this cluster's kube-system, Talos' values. */
function userApp(name: string, edit: (a: Obj) => void = () => {}): Obj {
  return application(name, (a) => {
    a.spec.source.targetRevision = '1.18.2';
    a.spec.source.helm.valuesObject = structuredClone(TALOS_VALUES);
    edit(a);
  });
}
const values = (a: Obj): Obj => a.spec.source.helm.valuesObject;

/** The edits Argo CD might be asked to make, each from the user's Application. */
const EDITS = {
  'default capabilities': (a: Obj) => delete values(a).securityContext,
  'cluster-pool IPAM': (a: Obj) => (values(a).ipam.mode = 'cluster-pool'),
  'another cluster name': (a: Obj) => (values(a).cluster = { name: 'talos-prod' }),
  'chart 1.16.15': (a: Obj) => (a.spec.source.targetRevision = '1.16.15'),
  'chart 1.20.0': (a: Obj) => (a.spec.source.targetRevision = '1.20.0'),
  'native routing': (a: Obj) => Object.assign(values(a), { routingMode: 'native', ipv4NativeRoutingCIDR: '10.244.0.0/16', autoDirectNodeRoutes: true }),
} satisfies Record<string, (a: Obj) => void>;
type Edit = keyof typeof EDITS;

/** What a person sees of an answer: allowed or not, the rule ids in the denial, the rule ids of cilium-guard's warnings. */
interface Judged {
  status: number;
  denied: string[];
  warned: string[];
  /** The denial's findings by rule id (`[ID] text`), in order. */
  findings: Array<{ rule: string; text: string }>;
  message: string;
}

const PREFIX = `admission webhook "${VALIDATING}" denied the request: cilium-guard denied `;
const DOCS_SUFFIX = / \(see https:\/\/github\.com\/cilium-guard\/cilium-guard\/blob\/main\/docs\/rules\/[\w.]+\.md\)$/;
function judged(a: ApiAnswer): Judged {
  const message = a.status >= 400 ? String(a.body.message ?? '') : '';
  const findings: Judged['findings'] = [];
  if (message.startsWith(PREFIX)) {
    // `Application argocd/NAME: [R] text; [R] text`
    const list = message.slice(message.indexOf(': [', PREFIX.length) + 2);
    for (const part of list.split(/; (?=\[[A-Z][0-9][\w.]*\] )/)) {
      const m = /^\[([A-Z][0-9][\w.]*)\] ([\s\S]*)$/.exec(part);
      // Each rule's last finding names its page; the text is judged without it, the page below.
      if (m) findings.push({ rule: m[1]!, text: m[2]!.replace(DOCS_SUFFIX, '') });
    }
  }
  const warned = a.warnings.map((w) => /^\[cilium-guard ([^\]\s]+)\]/.exec(w)?.[1]).filter((r): r is string => r !== undefined);
  return { status: a.status, denied: findings.map((f) => f.rule), warned, findings, message };
}

function expectAnswer(tt: Test, a: ApiAnswer, want: { status: number; denied: string[]; warned: string[] }, what: string): Judged {
  const j = judged(a);
  tt.same({ status: j.status, denied: j.denied, warned: j.warned }, want, what, { message: j.message, warnings: a.warnings });
  for (const rule of new Set(j.denied)) tt.match(j.message, `(see https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/${rule}.md)`, `${what}: names ${rule}'s page`);
  return j;
}

const create = (app: Obj, dryRun = false): Promise<ApiAnswer> => c.request('POST', `${APPS}${dryRun ? '?dryRun=All' : ''}`, app);
async function stored(name: string): Promise<Obj | null> {
  const a = await c.request('GET', `${APPS}/${name}`);
  return a.status === 200 ? a.body : null;
}
/** A full replace (PUT, an UPDATE) of the stored Application, edited: what Argo CD's client-go Update sends. */
async function update(name: string, edit: (a: Obj) => void, dryRun = false): Promise<ApiAnswer> {
  const current = await stored(name);
  if (!current) throw new Error(`no Application ${name}`);
  edit(current);
  return c.request('PUT', `${APPS}/${name}${dryRun ? '?dryRun=All' : ''}`, current);
}

t.test('before Cilium exists: the Talos Application is admitted, the chart-default capabilities are refused, and nothing live is judged', async (t) => {
  const ready = await eventually('the cluster view to be listed', async () => {
    const r = await c.readyz();
    return r.body.clusterView?.state === 'current' ? r : undefined;
  }, 15_000);
  t.same(ready.body.clusterView.missing, ['ConfigMap kube-system/cilium-config', 'DaemonSet kube-system/cilium'], 'the view: nothing runs yet');

  expectAnswer(t, await create(userApp('cilium')), { status: 201, denied: [], warned: [] }, 'the user\'s Application is created');

  const caps = expectAnswer(t, await create(userApp('cilium-default-caps', EDITS['default capabilities'])), { status: 403, denied: ['T1', 'T1'], warned: [] }, 'chart-default capabilities: T1 for both containers');
  t.match(caps.findings[0]?.text, 'securityContext.capabilities.ciliumAgent is not set');
  t.match(caps.findings[0]?.text, `set securityContext.capabilities.ciliumAgent="{${AGENT_CAPS.join(',')}}"`);
  t.match(caps.findings[1]?.text, `set securityContext.capabilities.cleanCiliumState="{${CLEAN_CAPS.join(',')}}"`);
  for (const f of caps.findings) t.match(f.text, /SYS_MODULE/);
  t.equal(await stored('cilium-default-caps'), null, 'nothing stored');

  // With nothing running and no old object, the live rules (L1) and the version rule (U1) have nothing to compare with.
  for (const edit of ['cluster-pool IPAM', 'another cluster name', 'chart 1.16.15', 'chart 1.20.0', 'native routing'] as const) {
    expectAnswer(t, await create(userApp('before-cilium', EDITS[edit]), true), { status: 201, denied: [], warned: [] }, `${edit}: admitted, nothing to compare with`);
  }
});

t.test('helm install of Cilium 1.18.1 with Talos\' values, as the bootstrap Job does', async (t) => {
  const cmBefore = await guard.metric('cilium_guard_admission_requests_total', { kind: 'ConfigMap', operation: 'CREATE', verdict: 'allowed' });
  t.match(c.cp.url, /^https:\/\/127\.0\.0\.1:\d+$/, 'helm is given only the loopback API server');
  const began = Date.now();
  const out = await c.helm(['install', 'cilium', INSTALLED, '--namespace', 'kube-system', ...TALOS_SET.flatMap((s) => ['--set', s])]);
  t.equal(out.code, 0, `helm install: ${out.stderr}`);
  t.comment(`helm install took ${Date.now() - began} ms`);
  const list = await c.helm(['list', '--namespace', 'kube-system', '-o', 'json']);
  t.match(JSON.parse(list.stdout || '[]'), [{ name: 'cilium', namespace: 'kube-system', status: 'deployed', chart: 'cilium-1.18.1', app_version: '1.18.1' }]);

  // What now runs (as stored: no pod runs here).
  const cm = await c.kubectl(['get', 'configmap', 'cilium-config', '-n', 'kube-system', '-o', 'json']);
  t.equal(cm.code, 0, cm.stderr);
  t.match((JSON.parse(cm.stdout) as Obj).data, {
    ipam: 'kubernetes',
    'kube-proxy-replacement': 'true',
    'cluster-name': 'default',
    'routing-mode': 'tunnel',
    'cgroup-root': '/sys/fs/cgroup',
  });
  const ds = await c.kubectl(['get', 'daemonset', 'cilium', '-n', 'kube-system', '-o', 'json']);
  t.equal(ds.code, 0, ds.stderr);
  const pod = (JSON.parse(ds.stdout) as Obj).spec.template.spec;
  const agent = pod.containers.find((x: Obj) => x.name === 'cilium-agent');
  t.match(agent.image, /^quay\.io\/cilium\/cilium:v1\.18\.1@sha256:/);
  t.same(agent.securityContext.capabilities.add, AGENT_CAPS, 'Talos\' capability list reached the DaemonSet');
  t.notMatch(JSON.stringify(pod), /SYS_MODULE/, 'no container asks for SYS_MODULE');
  t.notOk(pod.initContainers.some((x: Obj) => x.name === 'mount-cgroup'), 'no mount-cgroup init container');
  // cilium-config went through cilium-guard's webhook (C1: kube-proxy-replacement "true") and was allowed.
  t.equal(await guard.metric('cilium_guard_admission_requests_total', { kind: 'ConfigMap', operation: 'CREATE', verdict: 'allowed' }), cmBefore + 1);
});

t.test('cilium-guard\'s view sees what was installed', async (t) => {
  const cm = await c.kubectl(['get', 'configmap', 'cilium-config', '-n', 'kube-system', '-o', 'jsonpath={.metadata.resourceVersion}']);
  const seen = await eventually('the view to see Cilium 1.18.1', async () => {
    const r = await c.readyz();
    const v = r.body.clusterView;
    return v?.agentVersion === '1.18.1' && v.missing.length === 0 && v.ciliumConfigResourceVersion === cm.stdout.trim() ? r : undefined;
  }, 10_000);
  t.match(seen.body, { status: 'ready', clusterView: { state: 'current', missing: [], agentVersion: '1.18.1' } });
  t.equal(await guard.metric('cilium_guard_cluster_view_object_present', { object: 'cilium-config' }), 1);
  t.equal(await guard.metric('cilium_guard_cluster_view_object_present', { object: 'cilium-agent' }), 1);
});

t.test('Argo CD adopts it: the user\'s Application is admitted, the breaking edits are refused and say what to set', async (t) => {
  // The user's own Application, unchanged, now judged against what runs.
  expectAnswer(t, await create(userApp('cilium-adopt')), { status: 201, denied: [], warned: [] }, 'CREATE of the user\'s Application');
  expectAnswer(t, await update('cilium-adopt', (a) => (values(a).operator = { replicas: 1 })), { status: 200, denied: [], warned: [] }, 'UPDATE from it (operator.replicas)');
  expectAnswer(t, await update('cilium', (a) => (values(a).operator = { replicas: 1 })), { status: 200, denied: [], warned: [] }, 'UPDATE of the one created before Cilium');

  const running = 'quay\\.io/cilium/cilium:v1\\.18\\.1@sha256:';
  const cases: Array<{ edit: Edit; create: string[]; update: string[]; says: RegExp[] }> = [
    {
      edit: 'default capabilities',
      create: ['T1', 'T1'],
      update: ['T1', 'T1'],
      says: [/set securityContext\.capabilities\.ciliumAgent="\{CHOWN,KILL,NET_ADMIN,NET_RAW,IPC_LOCK,SYS_ADMIN,SYS_RESOURCE,DAC_OVERRIDE,FOWNER,SETGID,SETUID\}"/],
    },
    {
      edit: 'cluster-pool IPAM',
      create: ['L1'],
      // One finding where the running cilium-config and the old Application agree.
      update: ['L1'],
      says: [/cilium-config ipam "cluster-pool", which changes it from "kubernetes" in the running cilium-config(?: and the previous version of this Application)?; /, /: set ipam\.mode so that ipam stays "kubernetes"$/],
    },
    {
      edit: 'another cluster name',
      create: ['L1'],
      // One finding where the running cilium-config and the old Application agree.
      update: ['L1'],
      says: [/cilium-config cluster-name "talos-prod", which changes it from "default" in the running cilium-config(?: and the previous version of this Application)?; /, /: set cluster\.name so that cluster-name stays "default"$/],
    },
    {
      edit: 'chart 1.16.15',
      create: ['U1'],
      update: ['U1', 'U1'],
      says: [new RegExp(`spec\\.source\\.targetRevision is 1\\.16\\.15, a downgrade of 2 minor versions from 1\\.18\\.1 \\(the running cilium-agent \\(${running}`), /go to the latest 1\.17\.x first/],
    },
    {
      edit: 'chart 1.20.0',
      create: ['U1'],
      update: ['U1', 'U1'],
      says: [new RegExp(`spec\\.source\\.targetRevision is 1\\.20\\.0, an upgrade of 2 minor versions from 1\\.18\\.1 \\(the running cilium-agent \\(${running}`), /go to the latest 1\.19\.x first/],
    },
  ];
  const before = await stored('cilium');
  for (const k of cases) {
    const name = `cilium-${k.edit.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
    const made = expectAnswer(t, await create(userApp(name, EDITS[k.edit])), { status: 403, denied: k.create, warned: [] }, `${k.edit}: CREATE refused`);
    for (const re of k.says) t.match(made.findings[0]?.text, re, `${k.edit}: the CREATE's refusal says ${re}`);
    t.equal(await stored(name), null, `${k.edit}: nothing stored`);
    const edited = expectAnswer(t, await update('cilium', EDITS[k.edit]), { status: 403, denied: k.update, warned: [] }, `${k.edit}: UPDATE refused`);
    for (const re of k.says) t.match(edited.findings[0]?.text, re, `${k.edit}: the UPDATE's refusal says ${re}`);
  }
  t.same((await stored('cilium'))?.spec, before?.spec, 'the stored Application is unchanged');

  // A dry run (dryRun=All, `kubectl apply --dry-run=server`) is judged the same way and stores nothing.
  const real = judged(await create(userApp('cilium-cluster-pool-ipam', EDITS['cluster-pool IPAM'])));
  const dry = expectAnswer(t, await create(userApp('cilium-cluster-pool-ipam', EDITS['cluster-pool IPAM']), true), { status: 403, denied: ['L1'], warned: [] }, 'dry-run CREATE refused');
  t.equal(dry.message, real.message, 'the same message as without dryRun');
  t.equal(await stored('cilium-cluster-pool-ipam'), null);
  const realUpdate = judged(await update('cilium', EDITS['chart 1.20.0']));
  const dryUpdate = expectAnswer(t, await update('cilium', EDITS['chart 1.20.0'], true), { status: 403, denied: ['U1', 'U1'], warned: [] }, 'dry-run UPDATE refused');
  t.equal(dryUpdate.message, realUpdate.message, 'the same message as without dryRun');
  const record = await guard.log((l) => l.event === 'cilium-guard.audit' && l.name === 'cilium-cluster-pool-ipam' && l.dryRun === true, 'the dry run\'s audit record');
  t.match(record, { rule: 'L1', verdict: 'deny', operation: 'CREATE' });

  // A change of routing mode (and the native-routing CIDR it needs) reroutes pod traffic while
  // agents roll: allowed, with a warning for each key, against what runs (and, on UPDATE, against
  // the previous Application too).
  const nativeCreate = await create(userApp('cilium-native-routing', EDITS['native routing']));
  expectAnswer(t, nativeCreate, { status: 201, denied: [], warned: ['L1', 'L1'] }, 'native routing: CREATE admitted with warnings');
  const ours = nativeCreate.warnings.filter((w) => w.startsWith('[cilium-guard ')).map((w) => {
    t.match(w, / \(see https:\/\/github\.com\/cilium-guard\/cilium-guard\/blob\/main\/docs\/rules\/L1\.md\)$/, "the warning names L1's page");
    return w.replace(DOCS_SUFFIX, '');
  });
  t.match(ours[0], /^\[cilium-guard L1\] this would make cilium-config routing-mode "native", not "tunnel" as in the running cilium-config; .*: set routingMode so that routing-mode stays "tunnel" unless the change is planned$/);
  t.match(ours[1], /^\[cilium-guard L1\] this would make cilium-config ipv4-native-routing-cidr "10\.244\.0\.0\/16", not unset .* as in the running cilium-config; /);
  expectAnswer(t, await update('cilium', EDITS['native routing']), { status: 200, denied: [], warned: ['L1', 'L1'] }, 'native routing: UPDATE admitted with warnings, one per setting');
  t.equal((await stored('cilium'))?.spec.source.helm.valuesObject.routingMode, 'native', 'stored');
  t.comment(`the whole file so far: ${Date.now() - started} ms`);
});
