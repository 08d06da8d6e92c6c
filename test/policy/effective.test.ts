// The effective-values view: Argo CD's argument list (argocd-helm.ts) and Helm's fold of it
// (effective.ts), with each key's origin, and unknown where cilium-guard cannot look.
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { defaultConfig, yamlLimits } from '../../src/policy/config.js';
import { appContext, cleanSetParameters, envsubst, templateArgs, templateOpts } from '../../src/policy/values/argocd-helm.js';
import { coalescedAt, coalesceValues, deepCopy, mergeMaps } from '../../src/policy/values/coalesce.js';
import { effectiveValues } from '../../src/policy/values/effective.js';
import { depthExceeds } from '../../src/policy/yaml11.js';

type Obj = Record<string, any>;
const limits = yamlLimits(defaultConfig());

function app(helm: Obj, extra: Obj = {}): Obj {
  return {
    metadata: { name: 'cilium', namespace: 'argocd' },
    spec: { project: 'platform', destination: { namespace: 'kube-system' }, source: { repoURL: 'https://helm.cilium.io/', chart: 'cilium', targetRevision: '1.18.2', helm } },
    ...extra,
  };
}

const view = (a: Obj, version: '3.19' | '4.2' | '4.3' = '4.3') => effectiveValues(a, a.spec.source, 'spec.source', { version, limits });

t.test('envsubst is os.Expand with Argo CD mapping (types.go Env.Envsubst)', async (t) => {
  const e = { ARGOCD_APP_NAME: 'cilium', ARGOCD_APP_NAMESPACE: 'kube-system' };
  t.same(envsubst('$ARGOCD_APP_NAMESPACE', e), { value: 'kube-system', unknown: [] });
  t.same(envsubst('${ARGOCD_APP_NAME}-x', e), { value: 'cilium-x', unknown: [] });
  t.same(envsubst('true$UNKNOWN', e), { value: 'true', unknown: [] });
  t.same(envsubst('a$$b', e), { value: 'a$b', unknown: [] });
  t.same(envsubst('cost: 5$', e), { value: 'cost: 5$', unknown: [] });
  t.same(envsubst('${}x', e), { value: 'x', unknown: [] });
  t.same(envsubst('$ARGOCD_APP_REVISION', e).unknown, ['ARGOCD_APP_REVISION']);
});

t.test('cleanSetParameters escapes commas as Argo CD does (util/helm/cmd.go)', async (t) => {
  t.equal(cleanSetParameters('a,b'), 'a\\,b');
  t.equal(cleanSetParameters('{a,b}'), '{a,b}', 'a list is left alone');
  t.equal(cleanSetParameters('{a,b'), '{a\\,b', 'only a whole {...} value is a list');
  t.equal(cleanSetParameters('a\\,b'), 'a\\,b', 'a comma after a backslash is not escaped again');
  t.equal(cleanSetParameters('a\\\\,b'), 'a\\\\,b', 'nor after an escaped backslash: strvals then splits there');
});

t.test('templateOpts and templateArgs: the helm command Argo CD builds', async (t) => {
  const a = app({
    releaseName: 'cilium',
    valuesObject: { kubeProxyReplacement: true },
    parameters: [
      { name: 'a', value: '1' },
      { name: 'b', value: 'x,y', forceString: true },
      { name: 'a', value: '2' },
      { name: 'n', value: '$ARGOCD_APP_NAMESPACE' },
    ],
    fileParameters: [{ name: 'f', path: 'files/f.txt' }],
    valueFiles: ['v1.yaml'],
    skipCrds: true,
  });
  const opts = templateOpts(a.spec.source, 'spec.source', appContext(a, []));
  t.same(templateArgs(opts), [
    'template', '.', '--name-template', 'cilium', '--namespace', 'kube-system',
    '--set', 'a=2', '--set', 'n=kube-system', '--set-string', 'b=x\\,y', '--set-file', 'f=file',
    '--values', 'v1.yaml', '--values', '<values>',
  ]);
  t.equal(opts.set[0]?.fieldPath, 'spec.source.helm.parameters[2]', 'the last entry of a name wins the collapse');
  const other = app({});
  other.metadata.namespace = 'team-a';
  t.equal(appContext(other, []).instanceName, 'team-a_cilium', 'ARGOCD_APP_NAME outside Argo CD\'s namespace');
  t.equal(templateOpts(other.spec.source, 'spec.source', appContext(other, [])).name, 'cilium', 'the release name is still metadata.name');
});

t.test('lookups say where a value came from', async (t) => {
  const ev = view(app({ valuesObject: { kubeProxyReplacement: false, k8sServicePort: 7445 }, parameters: [{ name: 'kubeProxyReplacement', value: 'TRUE' }] }));
  t.same(ev.get(['kubeProxyReplacement']), { state: 'set', value: true, origin: { layer: '--set', fieldPath: 'spec.source.helm.parameters[0]' } });
  t.same(ev.get(['k8sServicePort']), { state: 'set', value: 7445, origin: { layer: 'valuesObject', fieldPath: 'spec.source.helm.valuesObject.k8sServicePort' } });
  t.match(ev.get(['k8sServiceHost']), { state: 'default', why: /not set, so the chart default applies/ });
  t.match(view(app({ values: 'kubeProxyReplacement: ~' })).get(['kubeProxyReplacement']), { state: 'default', why: /null/ });
  t.match(view(app({ values: 'extraConfig: x' })).get(['extraConfig', 'kube-proxy-replacement']), { state: 'default', why: /not a mapping/ });
});

t.test('what cannot be seen is unknown, unless a visible layer decides it', async (t) => {
  const ev = view(app({ valueFiles: ['values.yaml'], values: 'kubeProxyReplacement: true\nextraArgs: []' }));
  t.match(ev.get(['kubeProxyReplacement']), { state: 'set', value: true }, 'the values file decides over value files');
  t.match(ev.get(['namespaceOverride']), { state: 'unknown', why: /value files/ });
  t.match(ev.get(['extraArgs']), { state: 'set', value: [] }, 'a list replaces what value files set');
  t.match(view(app({ valueFiles: ['v.yaml'], parameters: [{ name: 'extraArgs[0]', value: 'x' }] })).get(['extraArgs']), { state: 'unknown' }, 'an indexed --set keeps the rest of a list a value file may hold');
  t.match(view(app({ fileParameters: [{ name: 'kubeProxyReplacement', path: 'kpr.txt' }] })).get(['kubeProxyReplacement']), { state: 'unknown', why: /from a file/ });
  t.match(view(app({ parameters: [{ name: 'kubeProxyReplacement', value: '$ARGOCD_APP_REVISION' }] })).get(['kubeProxyReplacement']), { state: 'unknown', why: /sync time/ });
  const known = view(app({ valueFiles: ['v.yaml'] }), '4.3');
  t.same(known.unknowns()[0]?.key, '*');
  const given = effectiveValues(app({ valueFiles: ['v.yaml'] }), app({ valueFiles: ['v.yaml'] }).spec.source, 'spec.source', { version: '4.3', limits, valueFileContents: [{ kubeProxyReplacement: true }] });
  t.match(given.get(['kubeProxyReplacement']), { state: 'set', value: true }, 'value files count when their contents are given');
});

t.test('Helm refusing the values is an error with Helm\'s reason', async (t) => {
  t.equal(view(app({ parameters: [{ name: 'a', value: '1' }, { name: 'a.b', value: '2' }] })).error, null, 'different names in one group: tried in every order');
  t.match(view(app({ values: 'a: 1', parameters: [{ name: 'a.b', value: '2' }] })).error, { certain: true, message: /failed parsing --set data/ });
  t.match(view(app({ values: '- a\n- b\n' })).error, { certain: true, fieldPath: 'spec.source.helm.values' });
  t.match(view(app({ valuesObject: [1] })).error, { message: /must be a mapping/ });
  t.match(view(app({ valuesObject: { x: 'a\u0000cilium-guard-unknown\u0000' } })).error, { message: /reserved/ }, 'the marker cannot be smuggled in');
});

t.test('mergeMaps and coalesceValues as Helm', async (t) => {
  t.same(mergeMaps({ a: { b: 1, c: 2 }, l: [1] }, { a: { b: 3 }, l: [2] }), { a: { b: 3, c: 2 }, l: [2] });
  const chart = { a: { b: 1, c: null }, d: 'x', e: { f: 1 }, n: null };
  t.same(coalesceValues(chart, { a: { b: null }, d: null, z: null }, '4.3'), { a: {}, e: { f: 1 }, z: null }, '4.x: a user null deletes a default, chart nulls are cleaned, a new null is kept');
  t.same(coalesceValues(chart, { a: { b: null }, d: null, z: null }, '3.19'), { a: { c: null }, e: { f: 1 }, n: null, z: null }, '3.19 keeps chart nulls');
  const notes: string[] = [];
  t.same(coalesceValues({ e: { f: 1 } }, { e: 'scalar' }, '4.3', notes), { e: 'scalar' });
  t.same(coalesceValues({ e: 'x' }, { e: { f: 1 } }, '4.3', notes), { e: { f: 1 } });
  const obj = JSON.parse('{"__proto__": {"polluted": true}}');
  t.equal(({} as Obj).polluted, undefined);
  t.ok(Object.prototype.hasOwnProperty.call(mergeMaps({}, obj), '__proto__'), '__proto__ is kept as an own key');
});

t.test('coalescedAt: what coalesceValues holds at a path, in every Helm version, on any trees', async (t) => {
  // Small alphabets so that the two trees meet often: nulls, scalars, lists (of maps with nulls too,
  // which Helm 4's cleaning does not enter) and maps on either side of every key.
  const key = fc.constantFrom('a', 'b', 'c', '__proto__');
  const leaf = fc.constantFrom<unknown>(null, 0, 1, 'x', '', true, false);
  const { tree } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 3 }), tie('tree')),
    tree: fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => {
      const o: Obj = {};
      for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
  }));
  const path = fc.array(fc.oneof(key, fc.constantFrom(0, 1)), { maxLength: 4 });
  const versions = fc.constantFrom('3.19' as const, '4.2' as const, '4.3' as const);
  let both = 0;
  fc.assert(
    fc.property(tree, tree, path, versions, (chart, user, p, version) => {
      const chartBefore = deepCopy(chart);
      const userBefore = deepCopy(user);
      const want = walkPath(coalesceValues(chart, user, version), p);
      const got = coalescedAt(chart, user, p, version);
      if (got.found && isTableValue(got.value) && isTableValue(walkPath(chart, p).value) && isTableValue(walkPath(user, p).value)) both++;
      return isDeepStrictEqual(got, want) && isDeepStrictEqual(chart, chartBefore) && isDeepStrictEqual(user, userBefore);
    }),
    { numRuns: 20000 },
  );
  t.ok(both > 0, `the runs include paths that end on a user map over a chart map (${both})`);
  // The cases the test above must reach, by name.
  const chart = { a: { b: 1, c: null }, d: 'x', e: { f: 1 }, n: null };
  const user = { a: { b: null }, d: null, z: null };
  t.same(coalescedAt(chart, user, ['a', 'c'], '3.19'), { found: true, value: null }, '3.19 keeps chart nulls');
  t.same(coalescedAt(chart, user, ['a', 'c'], '4.3'), { found: false, value: undefined }, '4.x cleans chart nulls');
  t.same(coalescedAt(chart, user, ['a', 'b'], '4.3'), { found: false, value: undefined }, 'a user null deletes a default');
  t.same(coalescedAt(chart, user, ['z'], '4.3'), { found: true, value: null }, 'a user null with no default stays');
  t.same(coalescedAt(chart, user, ['e', 'f'], '4.3'), { found: true, value: 1 }, 'a default nobody touched');
  t.same(coalescedAt(chart, { e: 'scalar' }, ['e'], '4.3'), { found: true, value: 'scalar' }, 'a user scalar over a chart map');
});

t.test('depthExceeds: the nesting depth of any JSON value, counted as a recursive walk would', async (t) => {
  const depth = (v: unknown): number => (typeof v !== 'object' || v === null ? 0 : 1 + Math.max(0, ...Object.values(v).map(depth)));
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, limit) => depthExceeds(v, limit) === depth(v) > limit),
    { numRuns: 5000 },
  );
  t.equal(depthExceeds(JSON.parse('{"__proto__": {"a": {"b": 1}}}'), 2), true, 'a "__proto__" key is walked like any other');
  t.equal(depthExceeds([[[[]]]], 4), false);
  t.equal(depthExceeds([[[[]]]], 3), true);
});

function isTableValue(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A plain walk, as a test oracle for paths in a coalesced tree. */
function walkPath(tree: unknown, p: ReadonlyArray<string | number>): { found: boolean; value: unknown } {
  let node = tree;
  for (const seg of p) {
    if (typeof seg === 'number' ? !Array.isArray(node) || seg >= node.length : !isTableValue(node) || !Object.prototype.hasOwnProperty.call(node, seg)) return { found: false, value: undefined };
    node = (node as Record<string, unknown>)[seg];
  }
  return { found: true, value: node };
}

t.test('chart defaults are the bottom layer, coalesced as Helm does', async (t) => {
  const chartDefaults = { kubeProxyReplacement: 'false', securityContext: { capabilities: { ciliumAgent: ['SYS_MODULE', 'NET_ADMIN'] } } };
  const a = app({ valuesObject: { securityContext: { privileged: false } }, parameters: [{ name: 'kubeProxyReplacement', value: 'null' }] });
  const ev = effectiveValues(a, a.spec.source, 'spec.source', { version: '4.3', limits, chartDefaults });
  t.match(ev.get(['securityContext', 'capabilities', 'ciliumAgent']), { state: 'default', value: ['SYS_MODULE', 'NET_ADMIN'], origin: { layer: 'chart' } }, 'lists come whole from the chart when nothing sets them');
  t.match(ev.get(['kubeProxyReplacement']), { state: 'default', value: undefined, why: /null/ }, 'a user null deletes the default');
  const set = app({ parameters: [{ name: 'securityContext.capabilities.ciliumAgent[0]', value: 'CHOWN' }] });
  t.match(effectiveValues(set, set.spec.source, 'spec.source', { version: '4.3', limits, chartDefaults }).get(['securityContext', 'capabilities', 'ciliumAgent']), { state: 'set', value: ['CHOWN'] }, '--set list[0] against a chart default replaces the whole list');
});

t.test('lookups are cached per path, and no two paths share an answer whatever their keys hold', async (t) => {
  const ev = view(app({ valuesObject: { a: { '0': 'key zero', '1:b': 'odd key', 'x\u0000y': 'nul key' }, l: ['first'], '1': { b: 'nested' } } }));
  // Each asked twice, in an order where a shared cache key would hand one path another's answer.
  const paths: Array<[Array<string | number>, unknown]> = [
    [['a', '0'], { state: 'set', value: 'key zero' }],
    [['a', 0], { state: 'default' }],
    [['l', 0], { state: 'set', value: 'first' }],
    [['l', '0'], { state: 'default' }],
    [['a', '1:b'], { state: 'set', value: 'odd key' }],
    [['a', '1', 'b'], { state: 'default' }],
    [['1', 'b'], { state: 'set', value: 'nested' }],
    [['a', 'x\u0000y'], { state: 'set', value: 'nul key' }],
    [['a', 'x', 'y'], { state: 'default' }],
  ];
  for (const round of [1, 2]) for (const [p, want] of paths) t.match(ev.get(p), want, `${JSON.stringify(p)} (round ${round})`);
});
