// `align`: the Helm values Talos bootstraps Cilium with beside the Argo CD Application's, as the
// handoff document's table. Fixtures follow the document (60-cilium.yaml's cilium-cli Job, the
// applications/cilium.yaml ApplicationSet) and the shared examples; chart defaults come from the
// real Cilium chart through a real helm.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { align } from '../../src/cli/align.js';
import { flattenValues } from '../../src/cli/helm-set.js';
import { exitCode, render, type AlignmentRow, type Report } from '../../src/cli/report.js';
import { shellCommands } from '../../src/cli/talos-install.js';
import { parseDocuments } from '../../src/cli/yaml-input.js';
import { defaultConfig } from '../../src/policy/config.js';
import type { JsonObject } from '../../src/policy/types.js';
import { REPO, SHARED } from '../helpers/corpus.js';
import { helm } from '../helpers/tools.js';

const FIXTURES = path.join(REPO, 'test/fixtures/align');
const BIN = path.join(REPO, 'dist/src/cli/main.js');
const TALOS = path.join(FIXTURES, 'talos-60-cilium.yaml');
const APP = path.join(FIXTURES, 'app-cilium.yaml');
const config = defaultConfig();
const tmp = mkdtempSync(path.join(tmpdir(), 'cilium-guard-align-'));

const docs = (text: string, name = 'input.yaml') => parseDocuments(text, name, 100).documents;
const fixture = (file: string) => ({ file, documents: docs(readFileSync(file, 'utf8'), file) });
const row = (report: Report, key: string): AlignmentRow => {
  const found = report.alignment.find((r) => r.key === key);
  if (!found) throw new Error(`no row ${key} in ${report.alignment.map((r) => r.key).join(', ')}`);
  return found;
};
const appText = readFileSync(APP, 'utf8');
/** The fixture ApplicationSet with its valuesObject changed by `edit`. */
function editedApp(edit: (values: JsonObject, helm: JsonObject, template: JsonObject) => void): { file: string; documents: ReturnType<typeof docs> } {
  const app = parse(appText) as JsonObject;
  const template = (app.spec as JsonObject).template as JsonObject;
  const helmSpec = (((template.spec as JsonObject).source as JsonObject).helm ?? {}) as JsonObject;
  edit(helmSpec.valuesObject as JsonObject, helmSpec, template);
  return { file: 'edited-app.yaml', documents: docs(stringify(app)) };
}
/** A Talos patch whose inline manifest holds `manifests` (YAML documents). */
function talosPatch(manifests: string): { file: string; documents: ReturnType<typeof docs> } {
  return { file: 'patch.yaml', documents: docs(stringify({ cluster: { inlineManifests: [{ name: 'cilium', contents: manifests }] } })) };
}
function job(container: JsonObject, extra: JsonObject = {}): string {
  return stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'cilium-install', namespace: 'kube-system' },
    spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'install', image: 'alpine/helm', ...container }], ...extra } } },
  });
}

t.test('the handoff document: Talos cilium-cli Job against the Argo CD ApplicationSet', async (t) => {
  const report = align({ talos: fixture(TALOS), app: fixture(APP) }, config);
  t.same(report.errors, []);
  t.same(
    report.alignment.slice(0, 12).map((r) => r.key),
    ['(release name)', '(release namespace)', 'ipam.mode', 'kubeProxyReplacement', 'k8sServiceHost', 'k8sServicePort', 'routingMode', 'tunnelProtocol', 'bgpControlPlane.enabled', 'gatewayAPI.enabled', 'hubble.enabled', 'operator.replicas'],
    'the fixed rows of the document, in its order, after the release',
  );
  t.same(row(report, 'ipam.mode'), { key: 'ipam.mode', talos: 'kubernetes', argocd: 'kubernetes', status: 'aligned' });
  t.same([row(report, 'kubeProxyReplacement').talos, row(report, 'k8sServicePort').talos], [true, 7445], '--set values are typed as Helm types them');
  t.same(row(report, 'routingMode'), { key: 'routingMode', argocd: 'tunnel', status: 'aligned', note: 'the chart renders an empty routingMode as tunnel' });
  t.equal(row(report, 'tunnelProtocol').status, 'aligned');
  t.same(row(report, 'operator.replicas'), { key: 'operator.replicas', argocd: 1, status: 'argocd-only' }, 'without chart defaults: one-sided');
  t.same(row(report, 'securityContext.capabilities.ciliumAgent').talos, ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'], '{a,b} is a list');
  t.equal(row(report, 'gatewayAPI.enableAlpn').status, 'aligned', 'comma-separated --set assignments all count');
  t.ok(report.notes.some((n) => /Talos installs 1\.18\.1, Argo CD targets 1\.18\.2/.test(n)), 'the planned upgrade is noted');
  t.same(report.summary, { objects: 0, denied: 0, warnings: 0, mutations: 0, errors: 0, aligned: 17, differs: 0, oneSided: 1 });
  t.equal(exitCode(report), 1);
});

t.test('chart defaults from the real Cilium chart (helm show values)', async (t) => {
  const values = execFileSync(helm(), ['show', 'values', path.join(SHARED, 'upstream/cilium/cilium-1.18.2.tgz')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const chartDefaults = parse(values) as JsonObject;
  const report = align({ talos: fixture(TALOS), app: fixture(APP), chartDefaults }, config);
  t.same(row(report, 'operator.replicas'), { key: 'operator.replicas', argocd: 1, status: 'argocd-only', note: 'chart default 2' }, 'the document calls this aligned; the chart says 2');
  const two = align({ talos: fixture(TALOS), app: editedApp((v) => ((v.operator as JsonObject).replicas = 2)), chartDefaults }, config);
  t.same(row(two, 'operator.replicas'), { key: 'operator.replicas', argocd: 2, status: 'aligned', note: 'chart default 2' });
  t.equal(exitCode(two), 0, 'everything aligned: exit 0');
  t.equal(two.summary.aligned, two.alignment.length);
  const ipam = align({ talos: fixture(TALOS), app: editedApp((v) => delete v.ipam), chartDefaults }, config);
  t.same(row(ipam, 'ipam.mode'), { key: 'ipam.mode', talos: 'kubernetes', status: 'talos-only', note: 'chart default "cluster-pool"' });
});

t.test('differences that break the handoff', async (t) => {
  const kpr = align({ talos: fixture(TALOS), app: editedApp((v) => (v.kubeProxyReplacement = false)) }, config);
  t.same(row(kpr, 'kubeProxyReplacement'), { key: 'kubeProxyReplacement', talos: true, argocd: false, status: 'differs' });
  const moved = align(
    {
      talos: fixture(TALOS),
      app: editedApp((_v, h, tpl) => {
        h.releaseName = 'cilium-argo';
        ((tpl.spec as JsonObject).destination as JsonObject).namespace = 'cilium';
      }),
    },
    config,
  );
  t.equal(row(moved, '(release name)').status, 'differs');
  t.same(row(moved, '(release namespace)'), {
    key: '(release namespace)',
    talos: 'kube-system',
    argocd: 'cilium',
    status: 'differs',
    note: 'Argo CD would install a second Cilium instead of adopting the release',
  });
  const noName = align({ talos: fixture(TALOS), app: editedApp((_v, h) => delete h.releaseName) }, config);
  t.same(row(noName, '(release name)').argocd, 'cilium-helm-release', 'no releaseName: Argo CD uses the Application name');
  const text = render(kpr, 'text');
  t.match(text, /^kubeProxyReplacement +true +false +Differs$/m);
  t.match(text, /1 differ, 1 only on one side/);
});

t.test('types: numbers and strings, booleans and strings, list order', async (t) => {
  const report = align(
    {
      talos: fixture(TALOS),
      app: editedApp((v) => {
        v.k8sServicePort = '7445';
        v.kubeProxyReplacement = 'true';
        const caps = (v.securityContext as JsonObject).capabilities as JsonObject;
        caps.cleanCiliumState = ['SYS_RESOURCE', 'SYS_ADMIN', 'NET_ADMIN'];
      }),
    },
    config,
  );
  t.same(row(report, 'k8sServicePort'), { key: 'k8sServicePort', talos: 7445, argocd: '7445', status: 'aligned', note: 'a number on one side, a string on the other; the chart quotes it either way' });
  t.equal(row(report, 'kubeProxyReplacement').status, 'differs');
  t.match(row(report, 'kubeProxyReplacement').note, /reads any non-empty string as true/);
  t.same(row(report, 'securityContext.capabilities.cleanCiliumState').note, 'same items in a different order');
  t.equal(row(report, 'securityContext.capabilities.cleanCiliumState').status, 'differs');
});

t.test('Argo CD layering: parameters over valuesObject, values strings, value files', async (t) => {
  const params = align(
    {
      talos: fixture(TALOS),
      app: editedApp((_v, h) => {
        h.parameters = [
          { name: 'hubble.enabled', value: 'false' },
          { name: 'k8sServicePort', value: '7445', forceString: true },
          { name: 'hubble.relay.enabled', value: 'true' },
        ];
      }),
    },
    config,
  );
  t.same(row(params, 'hubble.enabled'), { key: 'hubble.enabled', talos: true, argocd: false, status: 'differs' }, 'a parameter beats valuesObject');
  t.equal(row(params, 'k8sServicePort').argocd, '7445', 'forceString keeps a string');
  t.equal(row(params, 'hubble.relay.enabled').status, 'argocd-only');
  const files = editedApp((v, h) => {
    h.valueFiles = ['values-prod.yaml'];
    delete v.operator;
  });
  const hidden = align({ talos: fixture(TALOS), app: files }, config);
  t.ok(hidden.notes.some((n) => /not compared: .*valueFiles \(values-prod\.yaml\) were not given \(--app-values/.test(n)), hidden.notes.join('\n'));
  const given = align({ talos: fixture(TALOS), app: files, appValues: [{ operator: { replicas: 3 }, kubeProxyReplacement: false }] }, config);
  t.equal(row(given, 'operator.replicas').argocd, 3, 'a value file fills what valuesObject leaves');
  t.equal(row(given, 'kubeProxyReplacement').argocd, true, 'valuesObject beats a value file');
  const yamlString = editedApp((_v, h) => {
    h.values = 'ipam: {mode: cluster-pool}\nkubeProxyReplacement: yes\n';
    delete h.valuesObject;
  });
  const str = align({ talos: fixture(TALOS), app: yamlString }, config);
  t.same(row(str, 'ipam.mode').argocd, 'cluster-pool');
  t.equal(row(str, 'kubeProxyReplacement').argocd, true, 'values is YAML 1.1: yes is true');
  const multi = align(
    {
      talos: fixture(TALOS),
      app: { file: 'multi.yaml', documents: docs(readFileSync(path.join(SHARED, 'examples/02-app-cilium-multisource-good.yaml'), 'utf8')) },
    },
    config,
  );
  t.same(multi.errors, [], 'a multi-source Application: the Cilium source is found');
  t.equal(row(multi, 'kubeProxyReplacement').status, 'aligned');
});

t.test('Talos: sh -c scripts, helm upgrade --install, values files from ConfigMaps', async (t) => {
  const configMap = stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cilium-values', namespace: 'kube-system' },
    data: { 'values.yaml': 'ipam:\n  mode: kubernetes\nkubeProxyReplacement: true\nhubble:\n  enabled: false\n' },
  });
  const script = [
    'set -eu',
    'helm repo add cilium https://helm.cilium.io/ # the chart',
    'helm upgrade --install cilium cilium/cilium --version 1.18.1 \\',
    '  --namespace kube-system -f /values/values.yaml \\',
    '  --set hubble.enabled=true --set-string k8sServicePort=7445 \\',
    "  --set 'k8sServiceHost=localhost' --set-json 'operator={\"replicas\":1}' && echo done",
  ].join('\n');
  const manifests = `${configMap}---\n${job(
    { command: ['/bin/sh', '-ec', script], volumeMounts: [{ name: 'values', mountPath: '/values' }] },
    { volumes: [{ name: 'values', configMap: { name: 'cilium-values' } }] },
  )}`;
  const report = align({ talos: talosPatch(manifests), app: fixture(APP) }, config);
  t.same(report.errors, []);
  t.same(row(report, '(release name)').talos, 'cilium');
  t.same(row(report, '(release namespace)').talos, 'kube-system');
  t.equal(row(report, 'ipam.mode').talos, 'kubernetes', 'read from the mounted ConfigMap');
  t.equal(row(report, 'hubble.enabled').talos, true, '--set beats the values file');
  t.equal(row(report, 'k8sServicePort').talos, '7445', '--set-string keeps a string');
  t.equal(row(report, 'k8sServiceHost').talos, 'localhost', 'shell quotes removed');
  t.equal(row(report, 'operator.replicas').talos, 1, '--set-json');
  t.equal(row(report, 'operator.replicas').status, 'aligned');
  t.ok(report.notes.some((n) => /values file \/values\/values\.yaml read from ConfigMap cilium-values key values\.yaml/.test(n)));

  // helm in a pod installs into $HELM_NAMESPACE, else the pod's namespace; Talos applies an inline
  // manifest without a namespace to `default`, as kubectl does.
  const helmInstall = { command: ['helm', 'install', 'cilium', 'cilium/cilium'] };
  const inPodNs = align({ talos: talosPatch(job(helmInstall)), app: fixture(APP) }, config);
  t.same(row(inPodNs, '(release namespace)'), { key: '(release namespace)', talos: 'kube-system', argocd: 'kube-system', status: 'aligned' }, "the Job's namespace");
  const noNs = job(helmInstall).replace('  namespace: kube-system\n', '');
  t.notMatch(noNs, /namespace:/);
  t.same(row(align({ talos: talosPatch(noNs), app: fixture(APP) }, config), '(release namespace)'), {
    key: '(release namespace)',
    talos: 'default',
    argocd: 'kube-system',
    status: 'differs',
    note: 'Argo CD would install a second Cilium instead of adopting the release',
  });
  const envNs = align({ talos: talosPatch(job({ ...helmInstall, env: [{ name: 'HELM_NAMESPACE', value: 'cilium' }] })), app: fixture(APP) }, config);
  t.equal(row(envNs, '(release namespace)').talos, 'cilium', 'HELM_NAMESPACE');
  const template = align({ talos: talosPatch(job({ command: ['helm', 'template', 'cilium/cilium'] })), app: fixture(APP) }, config);
  t.equal(row(template, '(release name)').talos, 'release-name', 'helm template without a name renders release-name');
  // Helm applies every --set before every --set-string, whatever the command-line order.
  const order = align({ talos: talosPatch(job({ command: ['helm', 'install', 'cilium', 'cilium/cilium', '--set-string', 'k8sServicePort=7445', '--set', 'k8sServicePort=6443'] })), app: fixture(APP) }, config);
  t.equal(row(order, 'k8sServicePort').talos, '7445');

  const unmounted = align({ talos: talosPatch(job({ command: ['cilium', 'install', '--values', '/etc/cilium/values.yaml'] })), app: fixture(APP) }, config);
  t.ok(unmounted.notes.some((n) => /not compared: \/etc\/cilium\/values\.yaml is not mounted from a ConfigMap/.test(n)), unmounted.notes.join('\n'));
  t.match(row(unmounted, 'ipam.mode').note, /may be set by what cannot be read/);

  const setFile = align({ talos: talosPatch(job({ args: ['cilium', 'upgrade', '--set-file', 'ipam.mode=/x'] })), app: fixture(APP) }, config);
  t.match(row(setFile, 'ipam.mode').note, /may be set by what cannot be read: .*--set-file ipam\.mode=\/x/);
});

t.test('Talos: a plain values file, rendered manifests, nothing that installs Cilium', async (t) => {
  const valuesFile = { file: 'values.yaml', documents: docs('ipam: {mode: kubernetes}\nkubeProxyReplacement: true\nk8sServiceHost: localhost\nk8sServicePort: 7445\n') };
  const plain = align({ talos: valuesFile, app: fixture(APP) }, config);
  t.same(plain.errors, []);
  t.notOk(plain.alignment.some((r) => r.key.startsWith('(release')), 'a values file says nothing about the release');
  t.equal(row(plain, 'k8sServicePort').status, 'aligned');
  const rendered = align(
    { talos: talosPatch(stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'kube-proxy-replacement': 'true' } })), app: fixture(APP) },
    config,
  );
  t.equal(exitCode(rendered), 2);
  t.match(rendered.errors[0]?.message, /holds Cilium's rendered manifests \(ConfigMap cilium-config\), which keep no Helm values; pass the values file/);
  const nothing = align({ talos: talosPatch(job({ command: ['sleep', '1'] })), app: fixture(APP) }, config);
  t.match(nothing.errors[0]?.message, /no Job or Pod in cluster\.inlineManifests runs `cilium install`/);
  const notApp = align({ talos: fixture(TALOS), app: { file: 'cm.yaml', documents: docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n') } }, config);
  t.match(notApp.errors[0]?.message, /holds no Argo CD Application or ApplicationSet/);
  const other = align({ talos: fixture(TALOS), app: editedApp((_v, _h, tpl) => (((tpl.spec as JsonObject).source as JsonObject).chart = 'nginx')) }, config);
  t.match(other.errors[0]?.message, /no Application or ApplicationSet renders the Cilium chart/);
});

t.test('shell words', async (t) => {
  t.same(shellCommands(`cilium install \\\n  --set "a=b c" --set 'd=$e' && echo "x\\"y" # comment\nhelm version`), [
    ['cilium', 'install', '--set', 'a=b c', '--set', 'd=$e'],
    ['echo', 'x"y'],
    ['helm', 'version'],
  ]);
  t.same([...flattenValues({ a: { b: 1, 'c.d': [1] }, e: {} }).entries()], [
    ['a.b', 1],
    ['a.c\\.d', [1]],
    ['e', {}],
  ]);
});

t.test('the align command: text, json, exit codes, bad usage', async (t) => {
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'align', ...args], { encoding: 'utf8', timeout: 30_000 });
  const text = run(['--talos', TALOS, '--app', APP]);
  t.equal(text.status, 1, text.stderr);
  t.match(text.stdout, /^Setting +Talos bootstrap +Argo CD +Status$/m);
  t.match(text.stdout, /^operator\.replicas +\(not set\) +1 +Only on one side \(Argo CD\)$/m);
  const chartValues = path.join(tmp, 'chart-values.yaml');
  writeFileSync(chartValues, execFileSync(helm(), ['show', 'values', path.join(SHARED, 'upstream/cilium/cilium-1.18.2.tgz')], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  const appValues = path.join(tmp, 'app-values.yaml');
  writeFileSync(appValues, 'operator: {replicas: 2}\n');
  const twoReplicas = path.join(tmp, 'app.yaml');
  writeFileSync(twoReplicas, appText.replace('replicas: 1', 'replicas: 2'));
  const clean = run(['--talos', TALOS, '--app', twoReplicas, '--chart-values', chartValues, '-o', 'json']);
  t.equal(clean.status, 0, clean.stdout);
  const report = JSON.parse(clean.stdout) as Report;
  t.equal(report.command, 'align');
  t.equal(report.summary.differs + report.summary.oneSided, 0);
  t.equal(run(['--talos', TALOS, '--app', APP, '--app-values', appValues]).status, 1, '--app-values without valueFiles changes nothing');
  const missing = run(['--talos', path.join(tmp, 'nope.yaml'), '--app', APP]);
  t.equal(missing.status, 2);
  t.match(missing.stdout, /ERROR \S+nope\.yaml: cannot read/);
  const usage = run(['--app', APP]);
  t.equal(usage.status, 2);
  t.match(usage.stderr, /align needs --app APP\.yaml and --talos PATCH\.yaml, --live or --cluster FILE/);
  t.match(run(['--talos', TALOS, '--app', APP, '-o', 'policyreport']).stderr, /align reports settings, not objects/);
});
