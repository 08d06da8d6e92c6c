// Issue 17: the handoff, for real. Talos installs Cilium 1.18.1 with Helm; the real Argo CD (v3.6.1,
// built from its Go module) adopts it at 1.18.2 through the user's ApplicationSet, with cilium-guard
// from our chart in front of the API server. The phases run in the user's order, in one cluster, and
// each says in its assertions what it proves (docs/operating/developing.md, "The real Argo CD").
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { example } from '../helpers/corpus.js';
import {
  APPSET_USER,
  ARGOCD_NS,
  CONTROLLER_USER,
  TALOS_VALUES,
  type ArgoEnv,
  type Obj,
  eventually,
  nonLoopbackPeers,
  sleep,
  startArgoEnv,
  sumMetric,
  yamlDocs,
} from './harness.js';

const REPORT = process.env.CILIUM_GUARD_ARGOCD_REPORT;
const report = (line: string): void => {
  t.comment(line);
  if (REPORT) appendFileSync(REPORT, `${line}\n`);
};

const env: ArgoEnv = await startArgoEnv();
t.teardown(() => env.stop());
const failed = (what: string): string => `${what}\n--- controller ---\n${env.argo?.controller.tail(30) ?? ''}\n--- appset ---\n${env.argo?.appset.tail(10) ?? ''}`;

const APP = 'cilium';
const getApp = (name = APP): Promise<Obj> => env.getJson(['application', name, '-n', ARGOCD_NS]);
const appState = async (name = APP): Promise<{ sync: string; health: string; phase: string; revision: string; reconciledAt: string; app: Obj }> => {
  const app = await getApp(name);
  return {
    sync: app.status?.sync?.status ?? '',
    health: app.status?.health?.status ?? '',
    phase: app.status?.operationState?.phase ?? '',
    revision: app.status?.sync?.revision ?? '',
    reconciledAt: app.status?.reconciledAt ?? '',
    app,
  };
};

/** Reviews cilium-guard logged (one debug line each), from index `from` on. */
const reviews = (from = 0): Obj[] => env.guardLogs().slice(from).filter((l) => l.msg === 'review').map((l) => l.review as Obj);

// ---------------------------------------------------------------------------------------------
await t.test('phase 1: Talos installs Cilium 1.18.1 with helm into kube-system', async (t) => {
  const values = path.join(env.dir, 'talos-values.json');
  writeFileSync(values, JSON.stringify(TALOS_VALUES));
  const r = await env.helm(['install', 'cilium', 'cilium', '--repo', env.repo.url, '--version', '1.18.1', '-n', 'kube-system', '-f', values]);
  t.equal(r.code, 0, `helm install: ${r.stderr}`);
  const ds = await env.getJson(['daemonset', 'cilium', '-n', 'kube-system']);
  t.match(ds.spec.template.spec.containers[0].image, /cilium\/cilium:v1\.18\.1@/, 'the agent DaemonSet runs 1.18.1');
  const cm = await env.getJson(['configmap', 'cilium-config', '-n', 'kube-system']);
  t.equal(cm.data['kube-proxy-replacement'], 'true');
  t.equal(cm.data['ipam'], 'kubernetes');
  // cilium-guard's cluster view (what L1 and U1 compare with) has read both objects.
  await eventually('the cluster view to see cilium-config and the agent', async () => {
    const present = await env.cluster.guard.metric('cilium_guard_cluster_view_object_present');
    return present >= 2 ? true : undefined;
  });
  t.ok(env.repo.requests.some((p) => p === '/cilium-1.18.1.tgz'), 'the chart came from the local repository');
});

// ---------------------------------------------------------------------------------------------
// The user's argocd-cm: Argo CD's default, whose resource.exclusions the user replaced with a list
// that lost the Cilium entry (as the troubleshooting section's "OutOfSync" symptom).
const defaultCm = yamlDocs(path.join(env.argocd, 'config', 'argocd-cm.yaml'))[0]!;
const userExclusions = String(defaultCm.data['resource.exclusions']).replace(/ *### Cilium internal[^\n]*\n(?: *- apiGroups:\n *- cilium\.io\n *kinds:\n(?: *- Cilium\w+\n)+)/, '');
const userCm: Obj = { ...defaultCm, metadata: { ...defaultCm.metadata, namespace: ARGOCD_NS }, data: { ...defaultCm.data, 'resource.exclusions': userExclusions } };
const excludesIdentity = (cm: Obj): boolean =>
  ((parseYaml(String(cm.data?.['resource.exclusions'] ?? '')) as Obj[] | null) ?? []).some(
    (e) => (e.apiGroups ?? []).includes('cilium.io') && (e.kinds ?? []).includes('CiliumIdentity') && (!e.clusters || e.clusters.includes('*')),
  );
const applyArgocdCm = async (): Promise<Obj> => {
  const r = await env.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=platform-team', '-f', '-'], userCm);
  if (r.code !== 0) throw new Error(r.stderr);
  return env.getJson(['configmap', 'argocd-cm', '-n', ARGOCD_NS]);
};

const offLoopback = new Set<string>();
let samples = 0;
let sampler: NodeJS.Timeout | undefined;
t.teardown(() => clearInterval(sampler));

await t.test('phase 2: argocd-cm goes through the mutating webhook, then Argo CD starts', async (t) => {
  t.notOk(excludesIdentity(userCm), 'the user file has no CiliumIdentity exclusion');
  t.ok(userExclusions.includes('kyverno.io'), 'and keeps the other entries');
  const before = await env.cluster.guard.metric('cilium_guard_admission_requests_total', { route: 'mutate', verdict: 'mutated' });
  const stored = await applyArgocdCm();
  t.ok(excludesIdentity(stored), 'the stored argocd-cm excludes cilium.io/CiliumIdentity');
  t.ok(String(stored.data['resource.exclusions']).includes('kyverno.io'), 'every other entry is kept');
  t.equal(await env.cluster.guard.metric('cilium_guard_admission_requests_total', { route: 'mutate', verdict: 'mutated' }), before + 1);
  const argo = await env.startArgo({ appResyncSeconds: 10 });
  t.pass('argocd-repo-server, argocd-application-controller and argocd-applicationset-controller run');
  // The network rule, checked on the processes this suite adds: every socket of Argo CD and redis,
  // sampled twice a second for the rest of the run, has a loopback peer (or none).
  const pids = [argo.repoServer, argo.controller, argo.appset, env.redis.proc].map((p) => p.child.pid!);
  sampler = setInterval(() => {
    for (const v of nonLoopbackPeers(pids)) offLoopback.add(v);
    samples++;
  }, 500);
});


// ---------------------------------------------------------------------------------------------
const userAppSet = (edit: (a: Obj) => void = () => {}): Obj => {
  const a = structuredClone(example('03-appset-cilium-good.yaml') as Obj);
  a.metadata = { name: 'cilium', namespace: ARGOCD_NS };
  a.spec.generators[0].list.elements[0].chartVersion = '1.18.2';
  a.spec.template.spec.source.repoURL = env.repo.url;
  // As in the user's applications/cilium.yaml.
  a.spec.template.spec.syncPolicy.syncOptions = ['CreateNamespace=true', 'ServerSideApply=true', 'ApplyOutOfSync=true'];
  edit(a);
  return a;
};

let syncedAt = 0;
await t.test('phase 3: the user ApplicationSet generates the Application; Argo CD adopts Cilium at 1.18.2', async (t) => {
  const start = Date.now();
  const r = await env.cluster.kubectl(['apply', '-f', '-'], userAppSet());
  t.equal(r.code, 0, `ApplicationSet: ${r.stderr}`);
  const generated = await eventually('the ApplicationSet controller to create the Application', async () => (await getApp().catch(() => undefined)) ?? undefined, 60_000);
  t.equal(generated.spec.source.targetRevision, '1.18.2');
  const done = await eventually(
    'the sync to succeed',
    async () => {
      const s = await appState();
      if (s.phase === 'Failed' || s.phase === 'Error') throw new Error(failed(`sync ${s.phase}: ${s.app.status.operationState.message}`));
      return s.phase === 'Succeeded' && s.sync === 'Synced' ? s : undefined;
    },
    240_000,
  ).catch((err: Error) => {
    throw new Error(failed(err.message));
  });
  syncedAt = Date.now();
  report(`argocd: first sync (ApplicationSet created -> Synced/Succeeded): ${((syncedAt - start) / 1000).toFixed(1)} s`);
  t.equal(done.revision, '1.18.2', 'synced at 1.18.2');
  t.match(done.app.status.operationState.syncResult.source.targetRevision, '1.18.2');
  // Every object of the release is now tracked by Argo CD, in kube-system, at 1.18.2.
  const resources = done.app.status.resources as Obj[];
  t.ok(resources.length > 10, `${resources.length} objects in the Application`);
  for (const res of resources) {
    // The chart keeps the TLS-interception Roles in its secrets namespace (tls.secretsNamespace), as Talos's install did.
    t.ok(!res.namespace || res.namespace === 'kube-system' || res.namespace === 'cilium-secrets', `${res.kind}/${res.name} is in kube-system (or cilium-secrets, or cluster-scoped)`);
    const live = await env.getJson([`${res.kind.toLowerCase()}${res.group ? `.${res.group}` : ''}`, res.name, ...(res.namespace ? ['-n', res.namespace] : [])]);
    t.match(live.metadata.annotations?.['argocd.argoproj.io/tracking-id'], new RegExp(`^${APP}:`), `${res.kind}/${res.name} is tracked by Argo CD`);
  }
  const ds = await env.getJson(['daemonset', 'cilium', '-n', 'kube-system']);
  t.match(ds.spec.template.spec.containers[0].image, /cilium\/cilium:v1\.18\.2@/, 'the agent DaemonSet is at 1.18.2');
  // One Cilium, not two.
  const all = await env.getJson(['daemonsets', '-A']);
  const agents = (all.items as Obj[]).filter((d) => d.metadata.labels?.['k8s-app'] === 'cilium');
  t.same(
    agents.map((d) => `${d.metadata.namespace}/${d.metadata.name}`),
    ['kube-system/cilium'],
    'exactly one cilium agent DaemonSet',
  );
  const ns = await env.kubectl(['get', 'namespace', 'cilium']);
  t.not(ns.code, 0, 'no namespace cilium');
  const configs = await env.getJson(['configmaps', '-A', '--field-selector=metadata.name=cilium-config']);
  t.equal(configs.items.length, 1, 'one cilium-config');
  t.ok(env.repo.requests.includes('/cilium-1.18.2.tgz'), 'Argo CD fetched 1.18.2 from the local repository');
});

// ---------------------------------------------------------------------------------------------
await t.test('phase 2 (the running controller): CiliumIdentity stays out of the cache with the exclusion, gets in without', async (t) => {
  const t0 = Date.now();
  const lap = (what: string): void => void t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'ciliumidentities.cilium.io' },
    spec: {
      group: 'cilium.io',
      scope: 'Cluster',
      names: { kind: 'CiliumIdentity', listKind: 'CiliumIdentityList', plural: 'ciliumidentities', singular: 'ciliumidentity', shortNames: ['ciliumid'] },
      versions: [{ name: 'v2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  const c = await env.kubectl(['apply', '-f', '-'], crd);
  t.equal(c.code, 0, c.stderr);
  await eventually('the CRD to be established', async () => {
    const r = await env.kubectl(['get', 'crd', crd.metadata.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
    return r.stdout === 'True' ? true : undefined;
  });
  const objects = async (): Promise<number> => sumMetric(await env.argo!.controllerMetrics(), 'argocd_cluster_api_resource_objects');
  const apis = async (): Promise<number> => sumMetric(await env.argo!.controllerMetrics(), 'argocd_cluster_api_resources');
  // The controller caches CRDs too: wait until it has settled on the new one.
  await sleep(2000);
  // The cache can be empty for a moment (a new CRD makes the controller re-read the cluster; it syncs
  // again on the next reconciliation): a count is settled when it is non-zero three times running.
  const stable = async (): Promise<number> =>
    eventually(
      "the controller's cache to settle",
      async () => {
        const reads: number[] = [];
        for (let i = 0; i < 3; i++) {
          if (i > 0) await sleep(1500);
          reads.push(await objects());
        }
        return reads[0]! > 0 && reads.every((r) => r === reads[0]) ? reads[0] : undefined;
      },
      60_000,
    );
  const N = 25;
  const identities = Array.from({ length: N }, (_, i) => ({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumIdentity',
    metadata: { name: String(10_000 + i), labels: { 'io.kubernetes.pod.namespace': 'default' } },
    'security-labels': { 'k8s:io.kubernetes.pod.namespace': 'default' },
  }));
  const withExclusion = await stable();
  lap('settled with the exclusion');
  const apisWith = await apis();
  const made = await env.kubectl(['apply', '-f', '-'], { apiVersion: 'v1', kind: 'List', items: identities });
  t.equal(made.code, 0, made.stderr);
  await sleep(3000);
  t.equal(await stable(), withExclusion, `with the exclusion, ${N} CiliumIdentities leave the controller's cache as it was (${withExclusion} objects)`);

  // Without it: cilium-guard is down, the mutating webhook fails open (failurePolicy Ignore), and the
  // same file is stored as written.
  await env.stopGuard();
  try {
    lap('cilium-guard stopped');
    const invalidationsBefore = env.argo!.controller.lines.filter((l) => l.msg === 'invalidating live state cache').length;
    const bare = await applyArgocdCm();
    t.notOk(excludesIdentity(bare), 'with cilium-guard down, argocd-cm is stored without the exclusion');
    await eventually('the controller to invalidate its cache', async () =>
      env.argo!.controller.lines.filter((l) => l.msg === 'invalidating live state cache').length > invalidationsBefore ? true : undefined,
    );
    const without = await eventually(
      'the CiliumIdentities to reach the cache',
      async () => {
        const n = await objects();
        return n >= withExclusion + N ? n : undefined;
      },
      60_000,
    );
    lap('CiliumIdentities in the cache');
    t.equal(without, withExclusion + N, `without it, the ${N} CiliumIdentities are in Argo CD's cluster cache`);
    t.equal(await apis(), apisWith + 1, 'and CiliumIdentity is one more watched API');
    report(`argocd: cluster cache objects with the CiliumIdentity exclusion ${withExclusion}, without ${without} (${N} identities)`);
  } finally {
    // cilium-guard back: the next write of argocd-cm gets the exclusion again, and the controller drops them.
    await env.startGuard();
    await env.webhooksReady();
  }
  const again = await applyArgocdCm();
  lap('cilium-guard back');
  t.ok(excludesIdentity(again), 'with cilium-guard back, the exclusion is added again');
  const after = await eventually(
    'the CiliumIdentities to leave the cache',
    async () => {
      const n = await objects();
      return n === withExclusion ? n : undefined;
    },
    60_000,
  );
  t.equal(after, withExclusion, 'and the controller evicts them from its cache');
  lap('evicted');
  t.equal(await apis(), apisWith, 'CiliumIdentity is no longer watched');
});


// ---------------------------------------------------------------------------------------------
const short = (user: string): string =>
  user === CONTROLLER_USER ? 'application-controller' : user === APPSET_USER ? 'applicationset-controller' : user.replace(/^system:serviceaccount:/, 'sa:');
const tally = (rs: Obj[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const r of rs) {
    const key = `${short(String(r.user))} ${r.operation} ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}${r.dryRun ? ' dryRun' : ''}${r.fieldManager ? ` fieldManager=${r.fieldManager}` : ''} -> ${r.verdict}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return new Map([...m].sort());
};
const auditRecords = (): Obj[] => env.guardLogs().filter((l) => l.event === 'cilium-guard.audit');
/** Audit records written more than once for one review: the same uid, rule, path, value and message. */
const duplicateAudits = (): string[] => {
  const seen = new Map<string, number>();
  for (const r of auditRecords()) {
    const k = JSON.stringify([r.uid, r.rule, r.path, r.value, r.message]);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${n}x ${k}`);
};
const policyEvents = async (): Promise<Obj[]> => (await env.getJson(['events.v1.events.k8s.io', '-A', '-l', 'cilium-guard.io/rule'])).items as Obj[];

await t.test('phase 4: over several resync cycles, no denial of the controllers; every call counted by kind of write', async (t) => {
  const from = env.guardLogs().length;
  const callsBefore = await env.guardCalls();
  const seen = new Set<string>();
  const states = new Set<string>();
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    const s = await appState();
    seen.add(s.reconciledAt);
    states.add(`${s.sync}/${s.phase}`);
    await sleep(1000);
  }
  t.ok(seen.size >= 3, `${seen.size} reconciliations in 45 s (--app-resync 10)`);
  t.same([...states], ['Synced/Succeeded'], 'the Application stays Synced/Succeeded');
  const calls = (await env.guardCalls()) - callsBefore;
  const rs = reviews(from);
  t.equal(rs.length, calls, `every call cilium-guard answered in the window is accounted for (${calls})`);
  report(`argocd: calls cilium-guard received in ${seen.size} resync cycles, by kind of write (${rs.length}):`);
  for (const [k, n] of tally(rs)) report(`  ${String(n).padStart(4)}  ${k}`);
  // The whole run so far (phases 1-3, the restart of phase 2 included): every call, by kind of write.
  const all = reviews();
  t.equal(all.length, await env.guardCalls(), 'every call cilium-guard answered since the cluster started is in its log');
  report(`argocd: calls cilium-guard received in phases 1-4, by kind of write (${all.length}):`);
  for (const [k, n] of tally(all)) report(`  ${String(n).padStart(4)}  ${k}`);
  const controllerDenials = all.filter((r) => (r.user === CONTROLLER_USER || r.user === APPSET_USER) && r.verdict === 'denied');
  t.same(controllerDenials, [], "zero denials of Argo CD's own writes");
  // Dry runs (Argo CD's server-side diff) leave no Events, and no uid has its audit record twice.
  const dry = all.filter((r) => r.dryRun);
  t.ok(dry.length > 0 || all.length === 0, `${dry.length} dry runs seen (server-side diff)`);
  t.same(duplicateAudits(), [], 'no audit record is written twice');
  // The harness's readiness probes are dry runs that are denied: they must leave no Event.
  const dryDenied = all.filter((r) => r.dryRun && r.verdict === 'denied').length;
  t.ok(dryDenied > 0, `${dryDenied} dry runs were denied`);
  t.same(all.filter((r) => !r.dryRun && r.verdict === 'denied'), [], 'no real write was denied');
  t.same((await policyEvents()).map((e) => `${e.regarding?.kind}/${e.regarding?.name}: ${e.note}`), [], 'so there is no Event at all');
});

// ---------------------------------------------------------------------------------------------
// The troubleshooting section's mistakes, made with kubectl edit: an editor that changes the file.
const editorScript = path.join(env.dir, 'editor.mjs');
writeFileSync(
  editorScript,
  `import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from ${JSON.stringify(path.join(process.cwd(), 'node_modules', 'yaml', 'dist', 'index.js'))};
const file = process.argv[2];
const doc = parse(readFileSync(file, 'utf8'));
const spec = doc.kind === 'ApplicationSet' ? doc.spec.template.spec : doc.spec;
const values = spec.source.helm.valuesObject;
switch (process.env.CG_MISTAKE) {
  case 'namespace': spec.destination.namespace = 'cilium'; break;
  case 'release': spec.source.helm.releaseName = 'cilium-argo'; break;
  case 'ssa': spec.syncPolicy.syncOptions = spec.syncPolicy.syncOptions.filter((o) => o !== 'ServerSideApply=true'); break;
  case 'kpr': values.kubeProxyReplacement = false; break;
  case 'capabilities': delete values.securityContext; break;
  default: throw new Error('unknown mistake ' + process.env.CG_MISTAKE);
}
writeFileSync(file, stringify(doc));
`,
);
const kubectlEdit = async (resource: string, mistake: string): Promise<{ code: number; stderr: string }> => {
  const { execFile } = await import('node:child_process');
  const { kubectl } = await import('../helpers/tools.js');
  const tmp = path.join(env.dir, 'edit-tmp');
  mkdirSync(tmp, { recursive: true });
  return new Promise((resolve) => {
    execFile(
      kubectl(),
      [`--kubeconfig=${env.cluster.asAlice}`, 'edit', resource, '-n', ARGOCD_NS],
      { env: { PATH: process.env.PATH, HOME: path.join(env.dir, 'home'), TMPDIR: tmp, EDITOR: `${process.execPath} ${editorScript}`, CG_MISTAKE: mistake } },
      (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }),
    );
  });
};
const MISTAKES: Array<[string, RegExp]> = [
  ['namespace', /\[R1\]/],
  ['release', /\[R2\]/],
  ['ssa', /\[R3\]/],
  ['kpr', /\[R4\]/],
  ['capabilities', /\[T1\]/],
];

await t.test('phase 5: the troubleshooting mistakes, made with kubectl edit, are refused; Argo CD keeps working', async (t) => {
  const before = await appState();
  const specBefore = before.app.spec;
  const opBefore = before.app.status.operationState.finishedAt;
  // Refused by the chart's ValidatingAdmissionPolicy (in the API server, for what CEL reads literally:
  // R1-R3) or by the webhook (the Helm values: R4, T1); each answer names the rule.
  const byWebhook: Array<[string, string]> = [];
  for (const [mistake, rule] of MISTAKES) {
    for (const target of ['application/cilium', 'applicationset/cilium']) {
      const r = await kubectlEdit(target, mistake);
      t.not(r.code, 0, `${target}: ${mistake} is refused`);
      const layer = /admission webhook "applications\.cilium-guard\.io" denied the request/.test(r.stderr)
        ? 'webhook'
        : /ValidatingAdmissionPolicy '[^']*cilium-guard[^']*'[^\n]*denied request/.test(r.stderr)
          ? 'policy'
          : 'none';
      t.not(layer, 'none', `${target}: ${mistake}: refused by cilium-guard (${layer}): ${r.stderr.trim().slice(0, 200)}`);
      t.match(r.stderr, rule, `${target}: ${mistake}: ${rule.source}`);
      if (layer === 'webhook') byWebhook.push([target.startsWith('application/') ? 'Application' : 'ApplicationSet', rule.source.replace(/\\/g, '').replace(/[[\]]/g, '')]);
      report(`argocd: kubectl edit ${target}, ${mistake}: refused by the ${layer === 'policy' ? 'ValidatingAdmissionPolicy' : 'webhook'} ${rule.source.replace(/\\/g, '')}`);
    }
  }
  // A server-side dry run of a mistake: refused too, with an audit record marked dryRun, and no Event.
  await sleep(1500);
  const eventsBefore = await policyEvents();
  const dry = await env.cluster.kubectl(
    ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'],
    userAppSet((a) => a.spec.template.spec.source.helm.valuesObject.securityContext.capabilities.ciliumAgent.push('SYS_MODULE')),
  );
  t.match(dry.stderr, /denied the request/, 'a dry run of a mistake is refused');
  await sleep(1500);
  const eventsAfter = await policyEvents();
  const seriesSum = (es: Obj[]): number => es.reduce((n, e) => n + (e.series?.count ?? 1), 0);
  t.equal(eventsAfter.length, eventsBefore.length, 'the dry run left no new Event');
  t.equal(seriesSum(eventsAfter), seriesSum(eventsBefore), 'nor a series count');
  const dryRecords = auditRecords().filter((r) => r.dryRun && r.rule === 'T1' && r.kind === 'ApplicationSet');
  t.ok(dryRecords.length >= 1, 'its audit record is there, marked dryRun');
  // Each edit the webhook refused left an Event on its object (the policy's refusals are the API server's own).
  t.ok(byWebhook.length >= 4, `${byWebhook.length} edits refused by the webhook`);
  for (const [kind, rule] of byWebhook) {
    const on = eventsAfter.filter((e) => e.regarding?.kind === kind && e.regarding?.name === 'cilium');
    t.ok(on.some((e) => e.metadata.labels['cilium-guard.io/rule'] === rule), `an Event for ${rule} on ${kind} cilium`);
  }
  const after = await eventually('the controller to reconcile after the mistakes', async () => {
    const s = await appState();
    return s.reconciledAt !== before.reconciledAt ? s : undefined;
  });
  t.equal(after.sync, 'Synced', 'still Synced');
  t.equal(after.phase, 'Succeeded', 'still Succeeded');
  t.equal(after.app.status.operationState.finishedAt, opBefore, 'no new sync ran');
  t.same(after.app.spec, specBefore, 'the Application is as it was');
  const appset = await env.getJson(['applicationset', 'cilium', '-n', ARGOCD_NS]);
  t.same(appset.spec.template.spec.destination.namespace, 'kube-system', 'the ApplicationSet is as it was');
  t.same(duplicateAudits(), [], 'no audit record is written twice');
});

// ---------------------------------------------------------------------------------------------
const syncOperation = (by: string): Obj => ({
  operation: {
    initiatedBy: { username: by },
    sync: { revision: '1.18.2', syncOptions: ['ServerSideApply=true'] },
  },
});

await t.test('phase 6: cilium-guard stopped: status writes pass, a sync waits, and it recovers by itself', async (t) => {
  t.teardown(() => env.ensureGuard());
  const before = await appState();
  const drift = ['configmap', 'cilium-envoy-config', '-n', 'kube-system'];
  const original = (await env.getJson(drift)).data as Obj;
  await env.stopGuard();
  // Status-only writes never reach the webhook (matchConditions), so they go on.
  const reconciled = await eventually('a status write while cilium-guard is down', async () => {
    const s = await appState();
    return s.reconciledAt !== before.reconciledAt ? s : undefined;
  });
  t.equal(reconciled.sync, 'Synced', 'the controller refreshed the status with cilium-guard down');
  // A person's sync (an operation on the Application) is refused outright: failurePolicy Fail.
  const manual = await env.cluster.kubectl(['patch', 'application', APP, '-n', ARGOCD_NS, '--type=merge', '-p', JSON.stringify(syncOperation('alice'))]);
  t.not(manual.code, 0, 'a sync started by a person fails while cilium-guard is down');
  t.match(manual.stderr, /failed calling webhook "applications\.cilium-guard\.io"/);
  // Drift: self-heal must sync, which means writing .operation: that waits.
  const p = await env.kubectl(['patch', ...drift, '--type=merge', '-p', JSON.stringify({ data: { 'bootstrap-config.json': '{}' } })]);
  t.equal(p.code, 0, p.stderr);
  const outOfSync = await eventually('the controller to see the drift', async () => {
    const s = await appState();
    return s.sync === 'OutOfSync' ? s : undefined;
  }, 60_000);
  t.equal(outOfSync.sync, 'OutOfSync');
  const waitUntil = Date.now() + 25_000;
  let operationSeen = false;
  while (Date.now() < waitUntil) {
    const s = await appState();
    if (s.app.operation || s.app.status.operationState.finishedAt !== before.app.status.operationState.finishedAt) operationSeen = true;
    await sleep(1000);
  }
  t.notOk(operationSeen, 'for 25 s with cilium-guard down, no sync started: the auto-sync write waits');
  const errors = env.argo!.controller.lines.filter((l) => /failed calling webhook/.test(JSON.stringify(l)));
  t.ok(errors.length > 0, `the controller was told why (${errors.length} log lines with "failed calling webhook")`);
  // cilium-guard back: nothing to do by hand.
  const backAt = Date.now();
  await env.startGuard();
  const healed = await eventually(
    'self-heal to run once cilium-guard is back',
    async () => {
      const s = await appState();
      return s.sync === 'Synced' && s.phase === 'Succeeded' && s.app.status.operationState.finishedAt !== before.app.status.operationState.finishedAt ? s : undefined;
    },
    180_000,
  ).catch((err: Error) => {
    throw new Error(failed(err.message));
  });
  report(`argocd: self-heal after cilium-guard came back: ${((Date.now() - backAt) / 1000).toFixed(1)} s`);
  t.equal(healed.sync, 'Synced', 'Synced again, by itself');
  t.same((await env.getJson(drift)).data, original, 'the drift was undone');
});

await t.test('phase 6: deleting the Application with the resources finalizer is refused (D1); without it, allowed', async (t) => {
  await env.webhooksReady();
  // The ApplicationSet controller owns the generated Application's finalizers: with
  // preserveResourcesOnDeletion it keeps resources-finalizer off (a finalizer added by hand is gone on
  // its next reconcile); without it, it puts the finalizer on. So the finalizer comes the way it does
  // in a cluster: someone drops preserveResourcesOnDeletion from the ApplicationSet.
  const drop = await env.cluster.kubectl(['apply', '-f', '-'], userAppSet((a) => delete a.spec.syncPolicy));
  t.equal(drop.code, 0, `the ApplicationSet without preserveResourcesOnDeletion: ${drop.stderr}`);
  if (drop.stderr) t.comment(`warnings: ${drop.stderr.trim()}`);
  await eventually('the ApplicationSet controller to add resources-finalizer', async () =>
    ((await getApp()).metadata.finalizers ?? []).includes('resources-finalizer.argocd.argoproj.io') ? true : undefined,
  60_000);
  const del = await env.cluster.kubectl(['delete', 'application', APP, '-n', ARGOCD_NS, '--wait=false']);
  t.not(del.code, 0, 'delete with the resources finalizer is refused');
  t.match(del.stderr, /admission webhook "applications\.cilium-guard\.io" denied the request: cilium-guard denied Application argocd\/cilium: \[D1\]/);
  t.equal((await getApp()).metadata.deletionTimestamp, undefined, 'the Application is not being deleted');
  // Back to the user's file: the controller takes the finalizer off again, and a delete is allowed.
  const restore = await env.cluster.kubectl(['apply', '-f', '-'], userAppSet());
  t.equal(restore.code, 0, restore.stderr);
  await eventually('the ApplicationSet controller to remove resources-finalizer', async () =>
    ((await getApp()).metadata.finalizers ?? []).includes('resources-finalizer.argocd.argoproj.io') ? undefined : true,
  60_000);
  const uid = (await getApp()).metadata.uid;
  const del2 = await env.cluster.kubectl(['delete', 'application', APP, '-n', ARGOCD_NS]);
  t.equal(del2.code, 0, `delete without it is allowed: ${del2.stderr}`);
  t.equal((await env.kubectl(['get', 'daemonset', 'cilium', '-n', 'kube-system'])).code, 0, 'Cilium keeps running');
  // The ApplicationSet controller creates it again, and Argo CD adopts the same objects.
  const back = await eventually(
    'the ApplicationSet to regenerate the Application and Argo CD to sync it',
    async () => {
      const s = await appState().catch(() => undefined);
      return s && s.app.metadata.uid !== uid && s.sync === 'Synced' && s.phase === 'Succeeded' ? s : undefined;
    },
    120_000,
  );
  t.equal(back.sync, 'Synced', 'regenerated and Synced');
  t.match((await env.getJson(['daemonset', 'cilium', '-n', 'kube-system'])).spec.template.spec.containers[0].image, /v1\.18\.2@/, 'still 1.18.2');
});

// ---------------------------------------------------------------------------------------------
const apiserverMetrics = async (): Promise<string> => (await env.kubectl(['get', '--raw', '/metrics'])).stdout;
const histogram = (text: string, name: string, labels: Record<string, string>): { sum: number; count: number } => ({
  sum: sumMetric(text, `${name}_sum`, labels),
  count: sumMetric(text, `${name}_count`, labels),
});
const diffAvgMs = (a: { sum: number; count: number }, b: { sum: number; count: number }): { ms: number; n: number } => {
  const n = b.count - a.count;
  return { ms: n > 0 ? ((b.sum - a.sum) / n) * 1000 : NaN, n };
};

await t.test('phase 7: the time cilium-guard adds per sync and per controller write', async (t) => {
  // One sync: a person's operation (as argocd-server writes it), until Argo CD reports it Succeeded.
  const oneSync = async (): Promise<number> => {
    const prev = (await appState()).app.status.operationState.finishedAt;
    const start = performance.now();
    const r = await env.cluster.kubectl(['patch', 'application', APP, '-n', ARGOCD_NS, '--type=merge', '-p', JSON.stringify(syncOperation('alice'))]);
    if (r.code !== 0) throw new Error(r.stderr);
    for (;;) {
      const s = await appState();
      if (s.app.status.operationState.finishedAt !== prev && s.phase === 'Succeeded' && !s.app.operation) return performance.now() - start;
      if (performance.now() - start > 120_000) throw new Error(failed('the sync did not finish in 120 s'));
      await sleep(50);
    }
  };
  // Without cilium-guard = its two webhook configurations removed (as `helm uninstall` does), then
  // put back exactly as they were, caBundle included.
  const saved: Obj[] = [];
  const webhooksOff = async (): Promise<void> => {
    saved.length = 0;
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const list = await env.getJson([kind.toLowerCase(), '-l', 'app.kubernetes.io/instance=cg']);
      for (const o of list.items as Obj[]) {
        const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, managedFields: _mf, generation: _g, ...metadata } = o.metadata;
        saved.push({ ...o, apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata });
        const d = await env.kubectl(['delete', kind.toLowerCase(), o.metadata.name]);
        if (d.code !== 0) throw new Error(d.stderr);
      }
    }
    await env.webhooksGone();
  };
  const webhooksOn = async (): Promise<void> => {
    for (const o of saved) {
      const r = await env.kubectl(['create', '-f', '-'], o);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    await env.webhooksReady();
  };
  type Acc = { syncs: number[]; app: { sum: number; count: number }; cm: { sum: number; count: number }; webhook: { sum: number; count: number } };
  const acc: Record<'with' | 'without', Acc> = {
    with: { syncs: [], app: { sum: 0, count: 0 }, cm: { sum: 0, count: 0 }, webhook: { sum: 0, count: 0 } },
    without: { syncs: [], app: { sum: 0, count: 0 }, cm: { sum: 0, count: 0 }, webhook: { sum: 0, count: 0 } },
  };
  const req = 'apiserver_request_duration_seconds';
  const wh = 'apiserver_admission_webhook_admission_duration_seconds';
  const add = (into: { sum: number; count: number }, a: { sum: number; count: number }, b: { sum: number; count: number }): void => {
    into.sum += b.sum - a.sum;
    into.count += b.count - a.count;
  };
  const ROUNDS = 4;
  try {
    for (let i = 0; i < ROUNDS * 2; i++) {
      const mode = i % 2 === 0 ? 'with' : 'without';
      if (mode === 'without') await webhooksOff();
      else if (saved.length > 0) await webhooksOn();
      await sleep(1000);
      const before = await apiserverMetrics();
      acc[mode].syncs.push(await oneSync());
      await sleep(1000);
      const after = await apiserverMetrics();
      add(acc[mode].app, histogram(before, req, { resource: 'applications', verb: 'PATCH' }), histogram(after, req, { resource: 'applications', verb: 'PATCH' }));
      add(acc[mode].cm, histogram(before, req, { resource: 'configmaps', verb: 'APPLY' }), histogram(after, req, { resource: 'configmaps', verb: 'APPLY' }));
      add(acc[mode].webhook, histogram(before, wh, {}), histogram(after, wh, {}));
    }
  } finally {
    if (saved.length > 0 && (await env.kubectl(['get', 'validatingwebhookconfiguration', saved[0]!.metadata.name])).code !== 0) await webhooksOn();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = (h: { sum: number; count: number }): string => (h.count > 0 ? `${((h.sum / h.count) * 1000).toFixed(1)} ms avg over ${h.count}` : 'none');
  for (const mode of ['with', 'without'] as const) {
    const a = acc[mode];
    report(
      `argocd: ${mode} cilium-guard (${ROUNDS} syncs, interleaved): sync median ${median(a.syncs).toFixed(0)} ms (${a.syncs.map((x) => x.toFixed(0)).join(', ')}); ` +
        `Application PATCH ${ms(a.app)}; ConfigMap server-side apply ${ms(a.cm)}; webhook calls ${ms(a.webhook)}`,
    );
  }
  t.ok(acc.with.webhook.count > 0, 'with cilium-guard, the API server called it during the syncs');
  t.equal(acc.without.webhook.count, 0, 'without it, never');
  const per = (h: { sum: number; count: number }): number => (h.sum / h.count) * 1000;
  report(
    `argocd: added per sync ${(median(acc.with.syncs) - median(acc.without.syncs)).toFixed(0)} ms (median difference); ` +
      `per controller write through a webhook ${per(acc.with.webhook).toFixed(1)} ms (the API server's own measure of the call); ` +
      `per Application PATCH ${(per(acc.with.app) - per(acc.without.app)).toFixed(1)} ms, per ConfigMap apply ${(per(acc.with.cm) - per(acc.without.cm)).toFixed(1)} ms`,
  );
});

// ---------------------------------------------------------------------------------------------
await t.test('phase 8: cilium-guard itself as an Argo CD Application of our chart stays Synced; its Secret and caBundle never churn', async (t) => {
  const { CHART } = await import('../helpers/tools.js');
  const chartMeta = parseYaml((await import('node:fs')).readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as Obj;
  const pkg = await env.helm(['package', CHART, '-d', path.join(env.dir, 'packaged')]);
  t.equal(pkg.code, 0, pkg.stderr);
  await env.repo.add(path.join(env.dir, 'packaged', `cilium-guard-${chartMeta.version}.tgz`));
  const secretName = 'cg-cilium-guard-tls';
  const webhookConfigs = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const list = await env.getJson([kind, '-l', 'app.kubernetes.io/instance=cg']);
      for (const o of list.items as Obj[]) for (const w of o.webhooks as Obj[]) out.push(`${kind}/${w.name}: ${w.clientConfig.caBundle}`);
    }
    return out.sort();
  };
  const secret = async (): Promise<Obj> => env.getJson(['secret', secretName, '-n', 'cilium-guard']);
  const secretBefore = await secret();
  const bundlesBefore = await webhookConfigs();
  t.ok(secretBefore.data?.['ca.crt'] || Object.keys(secretBefore.data ?? {}).length > 0, 'cilium-guard filled its Secret');
  t.ok(bundlesBefore.every((b) => !b.endsWith(': undefined')), 'and injected the caBundle everywhere');
  const certChangesBefore = await env.cluster.guard.metric('cilium_guard_certificate_changes_total');
  // The release as the harness installed it (url mode, otherwise the chart's defaults),
  // with what the chart documents for Argo CD (NOTES.txt): ignoreDifferences on the caBundle.
  const app = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'cilium-guard', namespace: ARGOCD_NS },
    spec: {
      project: 'default',
      source: {
        repoURL: env.repo.url,
        chart: 'cilium-guard',
        targetRevision: chartMeta.version,
        helm: { releaseName: 'cg', valuesObject: { webhooks: { url: env.cluster.guard.url } } },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'cilium-guard' },
      ignoreDifferences: [
        { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration', jqPathExpressions: ['.webhooks[].clientConfig.caBundle'] },
        { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration', jqPathExpressions: ['.webhooks[].clientConfig.caBundle'] },
      ],
      syncPolicy: { automated: { selfHeal: true } },
    },
  };
  const c = await env.cluster.kubectl(['apply', '-f', '-'], app);
  t.equal(c.code, 0, c.stderr);
  const synced = await eventually(
    'cilium-guard to be Synced',
    async () => {
      const s = await appState('cilium-guard');
      if (s.phase === 'Failed' || s.phase === 'Error') throw new Error(failed(`sync ${s.phase}: ${s.app.status.operationState.message}`));
      return s.sync === 'Synced' && s.phase === 'Succeeded' ? s : undefined;
    },
    120_000,
  ).catch((err: Error) => {
    throw new Error(failed(err.message));
  });
  t.equal(synced.sync, 'Synced', 'the chart is Synced');
  const tracked = await secret();
  t.match(tracked.metadata.annotations?.['argocd.argoproj.io/tracking-id'], /^cilium-guard:/, 'its Secret is tracked by Argo CD');
  t.same(tracked.data, secretBefore.data, 'the first sync kept the certificates');
  const rv = { secret: tracked.metadata.resourceVersion, bundles: await webhookConfigs(), finishedAt: synced.app.status.operationState.finishedAt };
  t.same(rv.bundles, bundlesBefore, 'and the caBundle');
  // Resync cycles.
  const reconciled = new Set<string>();
  const states = new Set<string>();
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    const s = await appState('cilium-guard');
    reconciled.add(s.reconciledAt);
    states.add(s.sync);
    await sleep(1000);
  }
  t.ok(reconciled.size >= 3, `${reconciled.size} reconciliations`);
  t.same([...states], ['Synced'], 'it stays Synced');
  const end = await appState('cilium-guard');
  t.equal(end.app.status.operationState.finishedAt, rv.finishedAt, 'self-heal never had to sync again');
  const secretAfter = await secret();
  t.equal(secretAfter.metadata.resourceVersion, rv.secret, 'the Secret was not written again');
  t.same(secretAfter.data, secretBefore.data);
  t.same(await webhookConfigs(), bundlesBefore, 'the caBundle never changed');
  t.equal(await env.cluster.guard.metric('cilium_guard_certificate_changes_total'), certChangesBefore, 'cilium-guard changed no certificate');
  const cilium = await appState();
  t.equal(cilium.sync, 'Synced', 'and Cilium is still Synced');
});

// ---------------------------------------------------------------------------------------------
await t.test("the whole run: every call cilium-guard received, by kind of write; none of Argo CD's was denied", async (t) => {
  const all = reviews();
  t.equal(all.length, await env.guardCalls(), 'every call is in the log of one of the cilium-guard processes');
  report(`argocd: every call cilium-guard received in phases 1-8, by kind of write (${all.length}):`);
  for (const [k, n] of tally(all)) report(`  ${String(n).padStart(4)}  ${k}`);
  t.same(
    all.filter((r) => (r.user === CONTROLLER_USER || r.user === APPSET_USER) && r.verdict === 'denied'),
    [],
    "zero denials of the application controller's and the applicationset controller's writes",
  );
  t.same(duplicateAudits(), [], 'no audit record was written twice');
  t.ok(samples > 100, `${samples} samples of the Argo CD processes' and redis's sockets`);
  t.same([...offLoopback], [], 'none of them ever had a peer beyond loopback');
  const events = await policyEvents();
  t.notOk(
    events.some((e) => e.regarding?.name === 'readiness-probe' || e.regarding?.name === 'webhook-probe'),
    'no Event from a dry run (the probes, the dry-run mistake)',
  );
});
