import t from 'tap';
import { defaultConfig } from '../../src/policy/config.js';
import { collectLayers, envsubst, lookupValue, parseSetName, typedSetValue } from '../../src/policy/helm-values.js';
import { parseYaml11 } from '../../src/policy/yaml11.js';

const limits = { bytes: 1 << 20, aliases: 100, depth: 64 };
const env = { appName: 'cilium', destinationNamespace: 'kube-system', project: 'platform', repoURL: 'r', path: '', targetRevision: '1.18.2' };

t.test('YAML 1.1 booleans are exactly go-yaml v2 resolve table', async (t) => {
  const truthy = ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'];
  const falsy = ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'];
  for (const w of truthy) t.same(parseYaml11(`k: ${w}`, limits), { ok: true, value: { k: true } }, w);
  for (const w of falsy) t.same(parseYaml11(`k: ${w}`, limits), { ok: true, value: { k: false } }, w);
  for (const w of ['tRue', 'yES', 'oN', '"off"', "'yes'"]) {
    const r = parseYaml11(`k: ${w}`, limits);
    t.ok(r.ok && typeof (r.value as { k: unknown }).k === 'string', `${w} stays a string`);
  }
});

t.test('duplicate keys: the last one wins; merge keys work', async (t) => {
  t.same(parseYaml11('a: 1\na: 2', limits), { ok: true, value: { a: 2 } });
  t.same(parseYaml11('base: &b {x: 1}\nc:\n  <<: *b\n  z: 2', limits), { ok: true, value: { base: { x: 1 }, c: { x: 1, z: 2 } } });
  t.same(parseYaml11('y: 1', limits), { ok: true, value: { true: 1 } }, 'y as a key is a boolean too, as in go-yaml v2');
});

t.test('hostile YAML is refused with a reason, quickly', async (t) => {
  const bomb = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]';
  const started = process.hrtime.bigint();
  t.match(parseYaml11(bomb, limits), { ok: false, error: /alias/ });
  t.match(parseYaml11('['.repeat(100000) + ']'.repeat(100000), limits), { ok: false, error: /deeper than 64/ });
  t.match(parseYaml11('x: ' + 'y'.repeat(2 << 20), limits), { ok: false, error: /bytes/ });
  t.match(parseYaml11('a: [1, 2\nb: 3', limits), { ok: false, error: /not valid YAML/ });
  t.ok(Number(process.hrtime.bigint() - started) / 1e9 < 5, 'bounded in time');
});

t.test('strvals names and typing (helm pkg/strvals)', async (t) => {
  t.same(parseSetName('a.b.c'), ['a', 'b', 'c']);
  t.same(parseSetName('extraConfig.kube-proxy-replacement'), ['extraConfig', 'kube-proxy-replacement']);
  t.same(parseSetName('annotations.argocd\\.argoproj\\.io/x'), ['annotations', 'argocd.argoproj.io/x']);
  t.same(parseSetName('extraArgs[0]'), ['extraArgs', 0]);
  t.same(parseSetName('a[1].b'), ['a', 1, 'b']);
  t.equal(typedSetValue('TRUE', false), true);
  t.equal(typedSetValue('fAlSe', false), false);
  t.equal(typedSetValue('NULL', false), null);
  t.equal(typedSetValue('7445', false), 7445);
  t.equal(typedSetValue('0', false), 0);
  t.equal(typedSetValue('0755', false), '0755', 'a leading zero stays a string');
  t.equal(typedSetValue('true', true), 'true', 'forceString keeps the string');
});

t.test('envsubst is os.Expand with Argo CD mapping', async (t) => {
  const e = { ARGOCD_APP_NAME: 'cilium', ARGOCD_APP_NAMESPACE: 'kube-system' };
  const sync = new Set(['ARGOCD_APP_REVISION']);
  t.same(envsubst('$ARGOCD_APP_NAMESPACE', e, sync), { value: 'kube-system' });
  t.same(envsubst('${ARGOCD_APP_NAME}-x', e, sync), { value: 'cilium-x' });
  t.same(envsubst('true$UNKNOWN', e, sync), { value: 'true' });
  t.same(envsubst('a$$b', e, sync), { value: 'a$b' });
  t.same(envsubst('cost: 5$', e, sync), { value: 'cost: 5$' });
  t.same(envsubst('${}x', e, sync), { value: 'x' });
  t.match(envsubst('$ARGOCD_APP_REVISION', e, sync), { unknown: /sync time/ });
});

t.test('layers: --set-string beats --set beats valuesObject; fileParameters are unknowable', async (t) => {
  const config = defaultConfig();
  const layers = collectLayers(
    {
      valuesObject: { kubeProxyReplacement: false, nested: { x: 1 } },
      parameters: [
        { name: 'kubeProxyReplacement', value: 'true' },
        { name: 'k8sServicePort', value: '7445' },
        { name: 'k8sServicePort', value: '6443', forceString: true },
      ],
      fileParameters: [{ name: 'nested', path: 'n.yaml' }],
    },
    'spec.source',
    env,
    null,
    config,
  );
  t.match(lookupValue(layers, ['kubeProxyReplacement']), { state: 'set', value: true, path: 'spec.source.helm.parameters[0].value' });
  t.match(lookupValue(layers, ['k8sServicePort']), { state: 'set', value: '6443' });
  t.match(lookupValue(layers, ['nested', 'x']), { state: 'unknown' });
  t.match(lookupValue(layers, ['k8sServiceHost']), { state: 'default' });
});

t.test('layers: value files make an unset key unknowable, not a set one', async (t) => {
  const layers = collectLayers({ valueFiles: ['values.yaml'], values: 'kubeProxyReplacement: true' }, 'spec.source', env, null, defaultConfig());
  t.match(lookupValue(layers, ['kubeProxyReplacement']), { state: 'set', value: true });
  t.match(lookupValue(layers, ['namespaceOverride']), { state: 'unknown', why: /value files/ });
});

t.test('layers: a null parent hides the key; a null key deletes it', async (t) => {
  const layers = collectLayers({ values: 'extraConfig: ~\nkubeProxyReplacement: null' }, 'spec.source', env, null, defaultConfig());
  t.match(lookupValue(layers, ['extraConfig', 'kube-proxy-replacement']), { state: 'default' });
  t.match(lookupValue(layers, ['kubeProxyReplacement']), { state: 'default', why: /null/ });
});
