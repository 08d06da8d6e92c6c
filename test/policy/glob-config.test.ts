import t from 'tap';
import { covers } from '../../src/policy/argocd-cm.js';
import { defaultConfig, resolveConfig } from '../../src/policy/config.js';
import { globMatch } from '../../src/policy/glob.js';

t.test('gobwas glob without separators', async (t) => {
  t.ok(globMatch('*', 'cilium.io'));
  t.ok(globMatch('*.io', 'cilium.io'), '* crosses dots');
  t.ok(globMatch('cilium.*', 'cilium.io'));
  t.ok(globMatch('cilium.i?', 'cilium.io'));
  t.ok(globMatch('{cilium,calico}.io', 'cilium.io'));
  t.ok(globMatch('[a-c]ilium.io', 'cilium.io'));
  t.notOk(globMatch('[!c]ilium.io', 'cilium.io'));
  t.notOk(globMatch('cilium', 'cilium.io'));
  t.notOk(globMatch('cilium.io[', 'cilium.io'), 'a pattern that does not compile matches nothing');
  t.ok(globMatch('cilium\\.io', 'cilium.io'));
});

t.test('exclusion coverage: kinds are exact or *, clusters must cover every URL', async (t) => {
  const want = defaultConfig().argocd.exclusion;
  t.ok(covers({ apiGroups: [], kinds: [], clusters: [] }, want), 'an empty entry covers everything');
  t.ok(covers({ apiGroups: ['cilium.io'], kinds: ['CiliumIdentity', 'CiliumEndpoint'], clusters: [] }, want));
  t.notOk(covers({ apiGroups: ['cilium.io'], kinds: ['Cilium*'], clusters: ['*'] }, want), 'kinds are not globs');
  t.notOk(covers({ apiGroups: ['cilium.io'], kinds: ['*'], clusters: ['https://kubernetes.default.svc'] }, want));
  t.notOk(covers({ apiGroups: ['isovalent.com'], kinds: ['*'], clusters: [] }, want));
});

t.test('the policy file is schema-checked and names the offending field', async (t) => {
  t.match(resolveConfig({ rules: { R1: { mode: 'block' } } }), { ok: false, errors: [/rules\.R1\.mode: must be one of deny, warn, audit/] });
  t.match(resolveConfig({ cilium: { namespce: 'x' } }), { ok: false, errors: [/cilium\.namespce: unknown field/] });
  t.match(resolveConfig({ limits: { depth: 'deep' } }), { ok: false, errors: [/limits\.depth: must be integer/] });
  t.match(resolveConfig('nope'), { ok: false });
  const ok = resolveConfig({ cilium: { k8sServicePort: 7445 }, rules: { 'R4.endpoint': { mode: 'deny' } } });
  t.ok(ok.ok);
  if (ok.ok) {
    t.equal(ok.config.cilium.k8sServicePort, '7445');
    t.equal(ok.config.rules['R4.endpoint'].mode, 'deny');
    t.equal(ok.config.rules.R1.mode, 'deny', 'unset rules keep their default');
    t.equal(ok.config.cilium.namespace, 'kube-system');
  }
  t.same(resolveConfig(undefined), { ok: true, config: defaultConfig() });
});

t.test('config/policy.example.yaml is exactly the built-in defaults', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const { REPO } = await import('../helpers/corpus.js');
  const r = resolveConfig(parse(readFileSync(`${REPO}/config/policy.example.yaml`, 'utf8')));
  t.ok(r.ok, JSON.stringify(r));
  if (r.ok) t.same(r.config, defaultConfig());
});
