// The one output module of check, audit and align: summaries, exit codes, text, JSON and PolicyReports.
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import {
  type AlignmentRow,
  type ObjectReport,
  exitCode,
  render,
  renderPolicyReports,
  showValue,
  summarize,
} from '../../src/cli/report.js';

const denied: ObjectReport = {
  source: 'cluster/test',
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  namespace: 'argocd',
  name: 'cilium',
  uid: '1234',
  allowed: false,
  findings: [
    { rule: 'R1', verdict: 'deny', path: 'spec.destination.namespace', message: 'must be kube-system' },
    { rule: 'R4.endpoint', verdict: 'warn', path: 'spec.source.helm.valuesObject.k8sServiceHost', message: 'not KubePrism' },
  ],
};
const warned: ObjectReport = {
  source: 'cluster/test',
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'kube-system',
  name: 'cilium-config',
  allowed: true,
  findings: [{ rule: 'C2', verdict: 'audit', path: 'data.x', message: 'audited' }],
};
const clean: ObjectReport = { ...warned, name: 'other', namespace: 'argocd', findings: [] };
const needsPatch: ObjectReport = {
  ...clean,
  name: 'argocd-cm',
  findings: [{ rule: 'M1', verdict: 'mutate', path: 'data', message: 'exclusion missing' }],
  patch: [{ op: 'add', path: '/data/resource.exclusions', value: '...' }],
};

t.test('summary counts and exit codes', async (t) => {
  const r = summarize('audit', { objects: [denied, warned, clean, needsPatch] });
  t.same(r.summary, { objects: 4, denied: 1, warnings: 1, mutations: 1, errors: 0, aligned: 0, differs: 0, oneSided: 0 });
  t.equal(exitCode(r), 1);
  t.equal(exitCode(summarize('audit', { objects: [clean] })), 0);
  const onlyWarn = summarize('check', { objects: [{ ...clean, findings: [denied.findings[1]!] }] });
  t.equal(exitCode(onlyWarn), 0, 'a warning alone passes');
  t.equal(exitCode(onlyWarn, true), 1, 'and fails with --strict');
  t.equal(exitCode(summarize('audit', { objects: [clean], errors: [{ source: 's', message: 'HTTP 403' }] })), 2, 'errors win');
  const rows: AlignmentRow[] = [
    { key: 'ipam.mode', talos: 'kubernetes', argocd: 'kubernetes', status: 'aligned' },
    { key: 'hubble.enabled', talos: true, status: 'talos-only' },
  ];
  const align = summarize('align', { alignment: rows });
  t.same([align.summary.aligned, align.summary.oneSided, align.summary.differs], [1, 1, 0]);
  t.equal(exitCode(align), 1, 'a one-sided setting fails');
  t.equal(exitCode(summarize('align', { alignment: [rows[0]!] })), 0);
});

t.test('text: audit hides clean objects unless asked, check lists them', async (t) => {
  const r = summarize('audit', { objects: [denied, clean], notes: ['ApplicationSets: not served'] });
  const text = render(r, 'text');
  t.match(text, /^note: ApplicationSets: not served$/m);
  t.match(text, /^FAIL  cluster\/test Application argocd\/cilium$/m);
  t.match(text, /^ {2}DENY R1 spec\.destination\.namespace: must be kube-system$/m);
  t.match(text, /^ {2}WARN R4\.endpoint /m);
  t.notMatch(text, /argocd\/other/);
  t.match(render(r, 'text', { showClean: true }), /^ok +cluster\/test ConfigMap argocd\/other$/m);
  t.match(text, /2 object\(s\) checked: 1 denied, 0 need the argocd-cm mutation, 1 warning\(s\), 0 error\(s\)/);
  t.match(render(summarize('check', { objects: [clean] }), 'text'), /^ok /m);
});

t.test('text: the alignment table', async (t) => {
  const r = summarize('align', {
    alignment: [
      { key: 'ipam.mode', talos: 'kubernetes', argocd: 'kubernetes', status: 'aligned' },
      { key: 'k8sServicePort', talos: 7445, argocd: '7445', status: 'aligned', note: 'number on one side, string on the other' },
      { key: 'routingMode', talos: 'tunnel', argocd: 'native', status: 'differs' },
      { key: 'hubble.relay.enabled', argocd: true, status: 'argocd-only' },
    ],
  });
  const lines = render(r, 'text').trimEnd().split('\n');
  t.match(lines[0], /^Setting +Talos bootstrap +Argo CD +Status$/);
  t.match(lines[1], /^-+ +-+ +-+ +-+$/);
  t.match(lines[2], /^ipam\.mode +kubernetes +kubernetes +Aligned$/);
  t.match(lines[3], /^k8sServicePort +7445 +"7445" +Aligned \(number on one side/);
  t.match(lines[4], /^routingMode +tunnel +native +Differs$/);
  t.match(lines[5], /^hubble\.relay\.enabled +\(not set\) +true +Only on one side \(Argo CD\)$/);
  t.match(lines[6], /4 setting\(s\) compared: 2 aligned, 1 differ, 1 only on one side/);
  // Columns line up: every Status starts at the same offset.
  const at = lines.slice(2, 6).map((l) => l.search(/(Aligned|Differs|Only)/));
  t.equal(new Set(at).size, 1, `status column aligned: ${at.join(',')}`);
});

t.test('showValue keeps types readable', async (t) => {
  t.equal(showValue('kubernetes'), 'kubernetes');
  t.equal(showValue('true'), '"true"', 'a string that reads as a boolean is quoted');
  t.equal(showValue(true), 'true');
  t.equal(showValue('7445'), '"7445"');
  t.equal(showValue(7445), '7445');
  t.equal(showValue(''), '""');
  t.equal(showValue(undefined), '(not set)');
  t.equal(showValue(['a']), '["a"]');
});

t.test('json is the whole report', async (t) => {
  const r = summarize('audit', { inputs: ['cluster/test'], objects: [denied] });
  t.same(JSON.parse(render(r, 'json')), r);
});

t.test('PolicyReports: one per namespace, a result per finding and a pass per clean object', async (t) => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0, 250);
  const r = summarize('audit', { objects: [denied, warned, clean, needsPatch] });
  const reports = renderPolicyReports(r, now);
  t.same(
    reports.map((x) => [x.kind, (x.metadata as { namespace?: string }).namespace]),
    [
      ['PolicyReport', 'argocd'],
      ['PolicyReport', 'kube-system'],
    ],
  );
  const argocd = reports[0] as { summary: Record<string, number>; results: Array<Record<string, unknown>> };
  t.same(argocd.summary, { pass: 1, fail: 2, warn: 1, error: 0, skip: 0 });
  const r1 = argocd.results.find((x) => x.rule === 'R1')!;
  t.equal(r1.result, 'fail');
  t.equal(r1.severity, 'high');
  t.same(r1.resources, [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'cilium', uid: '1234' }]);
  t.same(r1.properties, { path: 'spec.destination.namespace', verdict: 'deny' });
  t.same(r1.timestamp, { seconds: Math.floor(now / 1000), nanos: 250_000_000 });
  t.equal(argocd.results.find((x) => x.rule === 'R4.endpoint')!.result, 'warn');
  t.equal(argocd.results.find((x) => x.rule === 'M1')!.result, 'fail');
  t.same(argocd.results.find((x) => x.rule === 'all')!.resources, [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'other' }]);
  const ks = reports[1] as { results: Array<Record<string, unknown>> };
  t.same(ks.results.map((x) => [x.rule, x.result, x.severity]), [['C2', 'fail', 'medium']]);
  // The YAML form is what `kubectl apply -f -` reads: one document per report.
  const docs = parseAllDocuments(render(r, 'policyreport', { now }));
  t.equal(docs.length, 2);
  t.same(docs[0]!.toJS(), reports[0]);
  t.equal(render(summarize('audit', {}), 'policyreport'), '', 'nothing checked: no report');
});

t.test('the rule page reaches PolicyReports (properties.docs) and the text report', async (t) => {
  const docs = 'https://docs.example.org/rules/R1.md';
  const linked: ObjectReport = { ...denied, findings: [{ ...denied.findings[0]!, docs }] };
  const r = summarize('audit', { objects: [linked] });
  const [report] = renderPolicyReports(r, 0) as Array<{ results: Array<{ rule: string; properties: Record<string, string> }> }>;
  t.same(report!.results.find((x) => x.rule === 'R1')!.properties, { path: 'spec.destination.namespace', verdict: 'deny', docs });
  t.match(render(r, 'text'), `  DENY R1 spec.destination.namespace: must be kube-system (see ${docs})\n`);
});
