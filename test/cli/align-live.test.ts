// `align --live` / `align --cluster FILE`: what runs beside what the Argo CD Application would write.
// "What runs" is the real Cilium 1.18.1 chart rendered by the real helm with Talos' values (what
// Talos' bootstrap installs), read as the webhook's cluster view reads kubectl's output.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { alignLive } from '../../src/cli/align-live.js';
import { exitCode, render, type AlignmentRow, type Report } from '../../src/cli/report.js';
import { parseDocuments } from '../../src/cli/yaml-input.js';
import { readClusterView, type ClusterView } from '../../src/policy/cluster-view.js';
import { defaultConfig } from '../../src/policy/config.js';
import { REPO, SHARED, example } from '../helpers/corpus.js';
import { helm } from '../helpers/tools.js';

const BIN = path.join(REPO, 'dist/src/cli/main.js');
const config = defaultConfig();
const tmp = mkdtempSync(path.join(tmpdir(), 'cilium-guard-align-live-'));

/** cilium-config and DaemonSet cilium as Talos installs them (a List, as kubectl get -o yaml prints). */
function talosInstalled(): string {
  const home = mkdtempSync(path.join(tmp, 'helm-'));
  const out = execFileSync(
    helm(),
    [
      'template', 'cilium', path.join(SHARED, 'upstream', 'cilium', 'cilium-1.18.1.tgz'), '--namespace', 'kube-system',
      '--set', 'ipam.mode=kubernetes,kubeProxyReplacement=true,k8sServiceHost=localhost,k8sServicePort=7445',
      '--set', 'cgroup.autoMount.enabled=false,cgroup.hostRoot=/sys/fs/cgroup',
      '--set', 'securityContext.capabilities.ciliumAgent={CHOWN,KILL,NET_ADMIN,NET_RAW,IPC_LOCK,SYS_ADMIN,SYS_RESOURCE,DAC_OVERRIDE,FOWNER,SETGID,SETUID}',
      '--set', 'securityContext.capabilities.cleanCiliumState={NET_ADMIN,SYS_ADMIN,SYS_RESOURCE}',
    ],
    { env: { PATH: process.env.PATH ?? '', HOME: home, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home, KUBECONFIG: path.join(home, 'none') }, maxBuffer: 64 << 20 },
  ).toString();
  const items = parseAllDocuments(out)
    .map((d) => d.toJS())
    .filter((d) => (d?.kind === 'ConfigMap' && d.metadata?.name === 'cilium-config') || (d?.kind === 'DaemonSet' && d.metadata?.name === 'cilium'));
  return stringify({ apiVersion: 'v1', kind: 'List', items });
}

const viewFile = path.join(tmp, 'running.yaml');
writeFileSync(viewFile, talosInstalled());
const parsedView = readClusterView(parseAllDocuments(String(execFileSync('cat', [viewFile]))).map((d) => d.toJS()));
if (typeof parsedView === 'string') throw new Error(parsedView);
const view: ClusterView = parsedView;

const good = example('01-app-cilium-good.yaml') as any;
function appWith(edit: (values: any, app: any) => void): { file: string; documents: ReturnType<typeof parseDocuments>['documents'] } {
  const a = structuredClone(good);
  edit(a.spec.source.helm.valuesObject, a);
  const text = stringify(a);
  return { file: 'app.yaml', documents: parseDocuments(text, 'app.yaml', 100).documents };
}
const row = (r: Report, key: string): AlignmentRow => {
  const found = r.alignment.find((x) => x.key.startsWith(`${key} `) || x.key === key);
  if (!found) throw new Error(`no row ${key}`);
  return found;
};
const live = (app: ReturnType<typeof appWith>, v: ClusterView = view, appValues: any[] = []) => alignLive({ app, appValues, view: v, viewFrom: viewFile }, config);

t.test('the Talos Application against what Talos installed: every setting aligned, the webhook admits it', async (t) => {
  const r = live(appWith((_v, a) => (a.spec.source.targetRevision = '1.18.2')));
  t.equal(view.agent?.version, '1.18.1', 'the running agent, from the rendered image tag');
  t.same(r.alignment.filter((x) => x.status !== 'aligned'), []);
  t.match(row(r, '(chart version)'), { talos: '1.18.1', argocd: '1.18.2', note: /changes the patch release \(allowed\)/ });
  t.match(row(r, 'ipam'), { talos: 'kubernetes', argocd: 'kubernetes', status: 'aligned' });
  t.match(row(r, 'cluster-name'), { talos: 'default', argocd: 'default' });
  t.equal(r.objects[0]?.allowed, true);
  t.equal(exitCode(r), 0);
  t.match(render(r, 'text'), /Setting +Running +Argo CD +Status/);
  t.same(JSON.parse(render(r, 'json')).sides, { left: 'Running', right: 'Argo CD' });
});

t.test('an IPAM flip, a new cluster name, a skipped minor: rows that differ, and the webhook denies with L1 and U1', async (t) => {
  const r = live(
    appWith((v, a) => {
      v.ipam.mode = 'cluster-pool';
      v.cluster = { name: 'prod' };
      a.spec.source.targetRevision = '1.20.0';
    }),
  );
  t.match(row(r, 'ipam'), { status: 'differs', argocd: 'cluster-pool', note: /IPAM mode .*\(L1 denies\)/ });
  t.match(row(r, 'cluster-name'), { status: 'differs', argocd: 'prod', note: /restarting every workload .*\(L1 denies\)$/ });
  t.match(row(r, '(chart version)'), { status: 'differs', note: /U1 denies/ });
  t.match(row(r, 'cluster-pool-ipv4-cidr'), { status: 'aligned', note: /only in cluster-pool IPAM/ });
  t.equal(r.objects[0]?.allowed, false);
  t.same([...new Set(r.objects[0]?.findings.filter((f) => f.verdict === 'deny').map((f) => f.rule))].sort(), ['L1', 'U1']);
  t.equal(exitCode(r), 1);
});

t.test('routing mode: a difference (exit 1) the webhook only warns about', async (t) => {
  const r = live(appWith((v) => ((v.routingMode = 'native'), (v.ipv4NativeRoutingCIDR = '10.244.0.0/16'))));
  t.match(row(r, 'routing-mode'), { status: 'differs', talos: 'tunnel', argocd: 'native', note: /L1 warns/ });
  t.equal(r.objects[0]?.allowed, true);
  t.ok(r.objects[0]?.findings.some((f) => f.rule === 'L1' && f.verdict === 'warn'));
  t.equal(exitCode(r), 1);
});

t.test('value files: unknown until given with --app-values, then compared', async (t) => {
  const files = appWith((v, a) => {
    delete v.ipam;
    a.spec.source.helm.valueFiles = ['values-prod.yaml'];
  });
  const unknown = live(files);
  t.match(row(unknown, 'ipam'), { status: 'differs', note: /cannot be known/ });
  t.ok(unknown.notes.some((n) => /valueFiles \(values-prod.yaml\) were not given/.test(n)));
  const given = live(files, view, [{ ipam: { mode: 'kubernetes' } }]);
  t.match(row(given, 'ipam'), { status: 'aligned', argocd: 'kubernetes' });
});

t.test('before Cilium runs: only the version row, and a note', async (t) => {
  const r = live(appWith(() => {}), { missing: ['ConfigMap kube-system/cilium-config', 'DaemonSet kube-system/cilium'] });
  t.same(r.alignment.map((x) => x.key), ['(chart version)']);
  t.match(row(r, '(chart version)'), { note: 'no cilium-agent runs' });
  t.ok(r.notes.some((n) => /nothing runs yet/.test(n)));
});

t.test('the command line: --cluster FILE, and usage errors exit 2', async (t) => {
  const appFile = path.join(tmp, 'app.yaml');
  writeFileSync(appFile, stringify(parse(stringify(good))));
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'align', ...args], { encoding: 'utf8' });
  const ok = run('--cluster', viewFile, '--app', appFile);
  t.equal(ok.status, 0, ok.stdout + ok.stderr);
  t.match(ok.stdout, /ipam \(ipam.mode\) +kubernetes +kubernetes +Aligned/);
  const json = run('--cluster', viewFile, '--app', appFile, '-o', 'json');
  t.equal(JSON.parse(json.stdout).alignment.length, 11);
  t.equal(run('--live', '--talos', appFile, '--app', appFile).status, 2, '--talos with --live');
  t.equal(run('--live', '--cluster', viewFile, '--app', appFile).status, 2, '--live with --cluster');
  t.equal(run('--cluster', viewFile).status, 2, 'no --app');
  t.equal(run('--kubeconfig', viewFile, '--talos', appFile, '--app', appFile).status, 2, '--kubeconfig without --live');
  const wrong = path.join(tmp, 'wrong.yaml');
  writeFileSync(wrong, 'ciliumconfig: {}\n');
  const notView = run('--cluster', wrong, '--app', appFile);
  t.equal(notView.status, 2);
  t.match(notView.stdout, /not a cluster view: unknown field\(s\) ciliumconfig/);
  // Kubernetes objects without cilium-config or the DaemonSet: nothing runs, and the output says so.
  const none = run('--cluster', appFile, '--app', appFile);
  t.match(none.stdout, /missing: ConfigMap kube-system\/cilium-config, DaemonSet kube-system\/cilium/);
});
