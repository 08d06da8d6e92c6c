// The rule catalogue and the documentation links: every rule has a line and a page, and the page is
// named wherever a person reads a finding (denial, warning); `docs.ruleURL` moves or removes it.
import t from 'tap';
import { defaultConfig, resolveConfig } from '../../src/policy/config.js';
import { mutate, validate } from '../../src/policy/engine.js';
import { DEFAULT_RULE_DOCS_URL, RULE_PROTECTS, ruleCatalogue, ruleDocsURL } from '../../src/policy/rules.js';
import { RULE_IDS } from '../../src/policy/types.js';
import { applicationRequest } from '../helpers/review.js';

const app = (namespace: string, name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: 'cilium', namespace: 'argocd' },
  spec: {
    project: 'default',
    source: { repoURL: 'https://helm.cilium.io/', chart: 'cilium', targetRevision: '1.18.2', helm: { releaseName: name, valuesObject: { kubeProxyReplacement: true, k8sServiceHost: 'localhost', k8sServicePort: 7445, ...extra } } },
    destination: { server: 'https://kubernetes.default.svc', namespace },
    syncPolicy: { syncOptions: ['ServerSideApply=true'] },
  },
});

t.test('every rule id has a line and a page in the catalogue, in RULE_IDS order, with its mode', async (t) => {
  const config = defaultConfig();
  config.rules.A1.mode = 'audit';
  const catalogue = ruleCatalogue(config);
  t.same(catalogue.map((r) => r.id), [...RULE_IDS]);
  for (const r of catalogue) {
    t.ok(RULE_PROTECTS[r.id].length > 20, `${r.id} says what it protects`);
    t.equal(r.docs, `https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/${r.id}.md`);
    t.equal(r.mode, r.id === 'A1' ? 'audit' : config.rules[r.id].mode);
  }
  t.equal(DEFAULT_RULE_DOCS_URL, defaultConfig().docs.ruleURL);
});

t.test('docs.ruleURL: {rule} is replaced wherever it appears; empty turns links off; the schema refuses a URL without {rule}', async (t) => {
  const config = defaultConfig();
  config.docs.ruleURL = 'https://docs.example.org/{rule}/index.html#{rule}';
  t.equal(ruleDocsURL('R4.endpoint', config), 'https://docs.example.org/R4.endpoint/index.html#R4.endpoint');
  config.docs.ruleURL = '';
  t.equal(ruleDocsURL('R1', config), undefined);
  t.notOk(ruleCatalogue(config).some((r) => 'docs' in r), 'no docs field when links are off');
  for (const bad of ['https://docs.example.org/rules/', 'ftp://x/{rule}', 'https://x/{rule} y']) {
    const r = resolveConfig({ docs: { ruleURL: bad } });
    t.notOk(r.ok, `${JSON.stringify(bad)} is refused`);
  }
  t.ok(resolveConfig({ docs: { ruleURL: '' } }).ok, 'empty is accepted');
  t.ok(resolveConfig({ docs: { ruleURL: 'http://wiki.internal/cilium-guard/{rule}' } }).ok);
});

t.test('a denial names each denied rule\'s page once, after that rule\'s last finding; warnings name theirs', async (t) => {
  const d = validate(applicationRequest(app('cilium', 'cilium2')), defaultConfig());
  t.notOk(d.allowed);
  const msg = d.message ?? '';
  for (const rule of ['R1', 'R2']) {
    const url = `https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/${rule}.md`;
    t.equal(msg.split(url).length - 1, 1, `${rule}'s page is named once`);
    const part = msg.split(/; (?=\[[A-Z][0-9][\w.]*\] )/).find((p) => p.includes(`[${rule}] `)) ?? '';
    t.ok(part.endsWith(` (see ${url})`), `${rule}'s page follows its finding`);
  }
  for (const f of d.findings) t.equal(f.docs, `https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/${f.rule}.md`);

  const config = defaultConfig();
  config.rules.R1.mode = 'warn';
  config.talos.enabled = false; // T1/T2 would deny this Application's chart defaults
  const w = validate(applicationRequest(app('cilium', 'cilium')), config);
  t.ok(w.allowed, w.message ?? 'allowed');
  t.match(w.warnings.join('\n'), /^\[cilium-guard R1\] .*\(see https:\/\/github\.com\/cilium-guard\/cilium-guard\/blob\/main\/docs\/rules\/R1\.md\)$/m);

  config.docs.ruleURL = '';
  const off = validate(applicationRequest(app('cilium', 'cilium2')), { ...config, rules: defaultConfig().rules });
  t.notMatch(off.message ?? '', /\(see /, 'no link when docs.ruleURL is empty');
  t.notOk(off.findings.some((f) => f.docs), 'no docs field on findings');
});

t.test('the M1 mutation warning names M1\'s page', async (t) => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/part-of': 'argocd' } }, data: {} };
  const d = mutate(
    { operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, namespace: 'argocd', name: 'argocd-cm', object: cm, oldObject: null, userInfo: {}, dryRun: false },
    defaultConfig(),
  );
  t.ok(d.patched);
  t.match(d.warnings[0], /\(see https:\/\/github\.com\/cilium-guard\/cilium-guard\/blob\/main\/docs\/rules\/M1\.md\)$/);
});

t.test("the rule index page (docs/rules/README.md) says what the catalogue says, and each rule's page exists", async (t) => {
  const { existsSync, readFileSync } = await import('node:fs');
  const path = await import('node:path');
  const { REPO } = await import('../helpers/corpus.js');
  const index = readFileSync(path.join(REPO, 'docs', 'rules', 'README.md'), 'utf8');
  const rows = new Map([...index.matchAll(/^\| ([A-Z][0-9][\w.]*) \| (.*?) \| (.*?) \| \[/gm)].map((m) => [m[1]!, { protects: m[2]!.replace(/`/g, ''), mode: m[3]! }]));
  t.same([...rows.keys()], [...RULE_IDS], 'one row per rule, in order');
  const defaults = defaultConfig();
  for (const id of RULE_IDS) {
    t.equal(rows.get(id)?.protects, RULE_PROTECTS[id], `${id}: the same words in cilium-guard rules and the index`);
    t.ok(rows.get(id)?.mode.startsWith(defaults.rules[id].mode), `${id}: the default mode`);
    t.ok(existsSync(path.join(REPO, 'docs', 'rules', `${id}.md`)), `docs/rules/${id}.md exists (denials link to it)`);
  }
});
