// The real Cilium chart as ground truth. For every Application in the test corpus, and for a matrix
// of spellings that Helm layering and YAML 1.1 make tricky, render ../shared/upstream/cilium with the
// real helm and the arguments Argo CD would pass (ground-truth.ts), and send the same Application
// through the real API server to a running cilium-guard (server-side dry run). The test fails where
// they disagree:
//   - cilium-guard denies a rule that the rendered chart satisfies (a false denial), or
//   - the rendered chart breaks a rule that cilium-guard lets through without a denial (or, where
//     some layer cannot be seen, without at least a warning).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SHARED, loadCorpus } from '../helpers/corpus.js';
import { STRICTER, type Rendered, compare, plan, prepareChart, renderJob } from './ground-truth.js';
import { type Obj, application, startCluster } from './harness.js';

const c = await startCluster();
t.teardown(() => c.stop());
const chart = await prepareChart(path.join(SHARED, 'upstream', 'cilium', 'cilium-1.18.2.tgz'));
const home = mkdtempSync(path.join(os.tmpdir(), 'helm-home-'));
const work = mkdtempSync(path.join(os.tmpdir(), 'ground-truth-'));
t.teardown(() => {
  for (const d of [path.dirname(chart), home, work]) rmSync(d, { recursive: true, force: true });
});

interface Subject {
  id: string;
  app: Obj;
}

const subjects: Subject[] = [];
const seen = new Set<string>();
function add(id: string, app: Obj | null): void {
  if (!app || app.kind !== 'Application') return;
  const key = JSON.stringify(app);
  if (seen.has(key)) return;
  seen.add(key);
  subjects.push({ id, app });
}
for (const k of loadCorpus()) {
  add(`corpus ${k.id}`, k.object);
  add(`corpus ${k.id} (old)`, k.oldObject);
}

// The matrix: one golden Application, one thing changed.
const withValues = (text: string) => (a: Obj) => {
  delete a.spec.source.helm.valuesObject;
  a.spec.source.helm.values = text;
};
const KUBEPRISM = 'k8sServiceHost: localhost\nk8sServicePort: 7445\n';
for (const s of ['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'y', 'Y', 'on', 'On', 'ON', 'false', 'False', 'no', 'n', 'N', 'off', 'OFF', '"true"', "'true'", '"yes"', '"on"', '"True"', '1', '0', '~', 'null', '""', 'strict', '!!str true', '!!bool "true"']) {
  add(`values kubeProxyReplacement: ${s}`, application('cilium', withValues(`kubeProxyReplacement: ${s}\n${KUBEPRISM}`)));
}
for (const v of [true, false, 'true', 'True', 'yes', 'on', 1, 0, '', null]) {
  add(`valuesObject kubeProxyReplacement ${JSON.stringify(v)}`, application('cilium', (a) => (a.spec.source.helm.valuesObject.kubeProxyReplacement = v)));
}
for (const v of ['true', 'TRUE', 'True', 'yes', 'on', '1', 'false', 'null', '', 'strict', 'tr,ue', '$ARGOCD_APP_NAME', 'true$NOPE', '$${X}', '${ARGOCD_APP_SOURCE_TARGET_REVISION}']) {
  for (const forceString of [false, true]) {
    add(
      `parameter kubeProxyReplacement=${v}${forceString ? ' (forceString)' : ''}`,
      application('cilium', (a) => (a.spec.source.helm.parameters = [{ name: 'kubeProxyReplacement', value: v, ...(forceString ? { forceString: true } : {}) }])),
    );
  }
}
for (const [key, value] of [['kube-proxy-replacement', 'false'], ['KUBE-PROXY-REPLACEMENT', 'false'], ['Kube-Proxy-Replacement', 'true'], ['kube-proxy-replacement', 'true']]) {
  add(`extraConfig ${key}: ${value}`, application('cilium', (a) => (a.spec.source.helm.valuesObject.extraConfig = { [key!]: value })));
}
add('parameter extraConfig.kube-proxy-replacement=false', application('cilium', (a) => (a.spec.source.helm.parameters = [{ name: 'extraConfig.kube-proxy-replacement', value: 'false' }])));
add('extraArgs --kube-proxy-replacement=false', application('cilium', (a) => (a.spec.source.helm.valuesObject.extraArgs = ['--kube-proxy-replacement=false'])));
add('extraEnv CILIUM_KUBE_PROXY_REPLACEMENT=false', application('cilium', (a) => (a.spec.source.helm.valuesObject.extraEnv = [{ name: 'CILIUM_KUBE_PROXY_REPLACEMENT', value: 'false' }])));
for (const [dest, helmNs, override] of [
  ['kube-system', '', undefined], ['cilium', '', undefined], ['cilium', 'kube-system', undefined], ['kube-system', 'cilium', undefined],
  ['kube-system', '', 'cilium'], ['kube-system', '', 'kube-system'], ['kube-system', '', ''], ['kube-system', '', null], ['', '', undefined], ['', 'kube-system', undefined],
] as const) {
  add(`destination ${JSON.stringify(dest)}, helm.namespace ${JSON.stringify(helmNs)}, namespaceOverride ${JSON.stringify(override)}`, application('cilium', (a) => {
    a.spec.destination.namespace = dest;
    if (helmNs) a.spec.source.helm.namespace = helmNs;
    if (override !== undefined) a.spec.source.helm.valuesObject.namespaceOverride = override;
  }));
}
add('parameter namespaceOverride=cilium', application('cilium', (a) => (a.spec.source.helm.parameters = [{ name: 'namespaceOverride', value: 'cilium' }])));
add('values namespaceOverride: ~', application('cilium', withValues(`kubeProxyReplacement: true\nnamespaceOverride: ~\n${KUBEPRISM}`)));
for (const [name, releaseName] of [['cilium', ''], ['cni', ''], ['cni', 'cilium'], ['cilium', 'Cilium'], ['cilium', '{{ "cilium" }}'], ['cilium', 'cilium{{ "-v2" }}'], ['cilium', 'cilium-v2']]) {
  add(`name ${name}, releaseName ${JSON.stringify(releaseName)}`, application(name!, (a) => (a.spec.source.helm.releaseName = releaseName)));
}
for (const [what, text] of [
  ['merge key', `base: &b\n  kubeProxyReplacement: false\n<<: *b\n${KUBEPRISM}`],
  ['merge key that supplies true', `base: &b\n  kubeProxyReplacement: true\n<<: *b\n${KUBEPRISM}`],
  ['merge key under an explicit true', `base: &b\n  kubeProxyReplacement: false\n<<: *b\nkubeProxyReplacement: true\n${KUBEPRISM}`],
  ['anchor and alias', `x: &v true\nkubeProxyReplacement: *v\n${KUBEPRISM}`],
  ['duplicate key, false last', `kubeProxyReplacement: true\nkubeProxyReplacement: false\n${KUBEPRISM}`],
  ['duplicate key, true last', `kubeProxyReplacement: false\nkubeProxyReplacement: true\n${KUBEPRISM}`],
  ['JSON', `{"kubeProxyReplacement": true, "k8sServiceHost": "localhost", "k8sServicePort": 7445}`],
  ['quoted key', `"kubeProxyReplacement": off\n${KUBEPRISM}`],
  ['wrong case key', `KubeProxyReplacement: true\n${KUBEPRISM}`],
  ['a second document', `kubeProxyReplacement: true\n${KUBEPRISM}---\nkubeProxyReplacement: false\n`],
  ['port as a string', 'kubeProxyReplacement: true\nk8sServiceHost: localhost\nk8sServicePort: "7445"\n'],
  ['API server port', 'kubeProxyReplacement: true\nk8sServiceHost: localhost\nk8sServicePort: 6443\n'],
  ['another host', 'kubeProxyReplacement: true\nk8sServiceHost: 127.0.0.1\nk8sServicePort: 7445\n'],
  ['no endpoint', 'kubeProxyReplacement: true\n'],
]) {
  add(`values ${what}`, application('cilium', withValues(text!)));
}

/**
 * cilium-guard's findings for one Application, as kubectl shows them: the rules named in the
 * denial, and those in "Warning: [cilium-guard RULE]" lines.
 */
async function judge(app: Obj): Promise<{ findings: Map<string, Set<string>>; refusedBy?: string }> {
  const body = structuredClone(app);
  body.metadata = { name: app.metadata?.name ?? 'unnamed', namespace: 'argocd', ...(app.metadata?.finalizers ? { finalizers: app.metadata.finalizers } : {}) };
  const out = await c.kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], body);
  const findings = new Map<string, Set<string>>();
  const note = (rule: string, verdict: string) => findings.set(rule, (findings.get(rule) ?? new Set()).add(verdict));
  for (const m of out.stderr.matchAll(/^Warning: \[cilium-guard ([\w.]+)\]/gm)) note(m[1]!, 'warn');
  const denial = /admission webhook "applications\.cilium-guard\.io" denied the request: cilium-guard denied [^:]+: (.*)$/m.exec(out.stderr);
  if (denial) for (const m of denial[1]!.matchAll(/(?:^|; )\[([\w.]+)\] /g)) note(m[1]!, 'deny');
  if (out.code !== 0 && !denial) return { findings, refusedBy: out.stderr.trim() };
  return { findings };
}

const tally = { subjects: 0, renders: 0, agreed: 0, stricter: 0, unrenderable: [] as string[], helmErrors: [] as string[] };

t.test('cilium-guard and the real Cilium chart agree on R1, R2, R4 and R4.endpoint', async (t) => {
  const stricterSeen = new Set<number>();
  for (const s of subjects) {
    // Planned and rendered one at a time: the values files in `work` are reused.
    const p = plan(s.app, work);
    const verdict = await judge(s.app);
    if (verdict.refusedBy) {
      t.fail(`${s.id}: the API server refused it before any webhook: ${verdict.refusedBy}`);
      continue;
    }
    if ('unrenderable' in p) {
      tally.unrenderable.push(`${s.id}: ${p.unrenderable}`);
      continue;
    }
    tally.subjects++;
    const results: Rendered[] = [];
    for (const job of p.jobs) {
      results.push(await renderJob(chart, job, home));
      tally.renders++;
    }
    const errors = results.filter((r) => r.error).map((r) => r.error!);
    if (errors.length > 0) {
      // Argo CD could not render it, so it cannot reach the cluster: nothing to compare.
      tally.helmErrors.push(`${s.id}: ${errors[0]!.split('\n').pop()}`);
      continue;
    }
    const invisible = p.jobs.flatMap((j) => j.invisible);
    const { disagreements, stricter, agreed } = compare(s.app, results, invisible, verdict.findings);
    stricter.forEach((i) => stricterSeen.add(i));
    tally.stricter += stricter.length;
    tally.agreed += agreed;
    t.same(disagreements, [], s.id);
  }
  t.same([...stricterSeen].sort(), STRICTER.map((_, i) => i), 'every deliberate difference still occurs');
  t.ok(tally.subjects >= 100, `${tally.subjects} Applications rendered (${tally.renders} helm runs)`);
  process.stderr.write(
    `\nground truth: ${tally.subjects} Applications, ${tally.renders} helm renders of cilium-1.18.2, ${tally.agreed} rule verdicts agree, ` +
      `${tally.stricter} deliberately stricter (${STRICTER.map((x) => x.why).join('; ')})\n` +
      `  not rendered here: ${tally.unrenderable.length}${tally.unrenderable.map((u) => `\n    ${u}`).join('')}\n` +
      `  helm refused: ${tally.helmErrors.length}${tally.helmErrors.map((u) => `\n    ${u}`).join('')}\n`,
  );
});
