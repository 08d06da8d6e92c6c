// A generator's `selector` (applicationset/generators/generator_spec_processor.go Transform) drops
// parameter sets before any Application is rendered: an element it filters out generates nothing
// and must not be judged. Parameters are matched the way Argo CD matches them: flattened with dots
// (jeremywohl/flatten), every leaf printed with Go's %v, against Argo CD's own copy of the label
// selector (applicationset/utils/selector.go). A selector cilium-guard cannot evaluate exactly is
// a warning, never a denial.
import t from 'tap';
import { applicationSetViolations, flattenParams, goFormatValue, selectorFilter } from '../../src/policy/applicationset.js';
import { defaultConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import type { Decision, JsonObject } from '../../src/policy/types.js';
import { BASES } from '../helpers/corpus.js';

const config = defaultConfig();

/** The golden ApplicationSet with a templated destination namespace and the given list generator. */
function appset(list: JsonObject, opts: { goTemplate?: boolean; selector?: unknown } = {}): JsonObject {
  const set = structuredClone(BASES.appset!()) as JsonObject;
  const spec = set.spec as JsonObject;
  const goTemplate = opts.goTemplate ?? true;
  if (!goTemplate) {
    delete spec.goTemplate;
    delete spec.goTemplateOptions;
  }
  const tmpl = spec.template as { spec: { destination: Record<string, unknown> }; metadata: Record<string, unknown> };
  tmpl.spec.destination.namespace = goTemplate ? '{{ .ns }}' : '{{ ns }}';
  tmpl.spec.destination.server = 'https://kubernetes.default.svc';
  tmpl.metadata.labels = {};
  spec.generators = [{ list, ...(opts.selector !== undefined ? { selector: opts.selector } : {}) }];
  return set;
}

function judge(set: JsonObject): Decision {
  return validate(
    {
      operation: 'CREATE',
      kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'ApplicationSet' },
      namespace: 'argocd',
      name: 'cilium',
      object: set,
      oldObject: null,
      userInfo: { username: 'me' },
      dryRun: false,
    },
    config,
  );
}

const prod = { env: 'prod', ns: 'kube-system', chartVersion: '1.18.2' };
const lab = { env: 'lab', ns: 'cilium', chartVersion: '1.18.2' };

t.test('an element the selector filters out is never judged', async (t) => {
  t.notOk(judge(appset({ elements: [prod, lab] })).allowed, 'without a selector the lab element is a second Cilium');
  const cases: Array<[string, unknown]> = [
    ['matchLabels', { matchLabels: { env: 'prod' } }],
    ['In', { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] }],
    ['NotIn', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['lab'] }] }],
    ['DoesNotExist', { matchExpressions: [{ key: 'lab', operator: 'DoesNotExist' }] }],
    ['Exists', { matchExpressions: [{ key: 'prod', operator: 'Exists' }] }],
    ['all requirements together', { matchLabels: { ns: 'kube-system' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }, { key: 'x', operator: 'NotIn', values: ['y'] }] }],
  ];
  for (const [why, selector] of cases) {
    const d = judge(appset({ elements: [{ ...prod, prod: 'yes' }, { ...lab, lab: 'yes' }] }, { selector }));
    t.ok(d.allowed, `${why}: allowed`);
    t.same(d.findings.filter((f) => f.rule === 'R1'), [], `${why}: the lab element is not judged at all`);
  }
  const d = judge(appset({ elements: [prod, lab] }, { selector: { matchLabels: { env: 'lab' } } }));
  t.notOk(d.allowed, 'the selector keeps the lab element: denied');
  t.match(d.message, /elements\[1\]/);
  t.notOk(judge(appset({ elements: [prod, lab] }, { selector: {} })).allowed, 'an empty selector matches everything');
  t.notOk(judge(appset({ elements: [prod, lab] }, { selector: null })).allowed, 'a null selector is no selector');
  const none = judge(appset({ elements: [lab] }, { selector: { matchLabels: { env: 'prod' } } }));
  t.ok(none.allowed, 'every element filtered out: nothing is generated');
  t.same(none.findings, [], 'and nothing is reported');
});

t.test('parameters are flattened and printed as Argo CD does (goTemplate)', async (t) => {
  const element = { ns: 'cilium', chartVersion: '1.18.2', n: 1, f: 1.5, big: 1000000, neg: -0, yes: true, no: false, nil: null, nested: { env: 'lab', deep: { x: 'y' } }, list: ['a', { b: 'c' }], empty: {}, none: [] };
  t.same(flattenParams(element, true), {
    ok: true,
    params: {
      ns: 'cilium',
      chartVersion: '1.18.2',
      n: '1',
      f: '1.5',
      big: '1e+06',
      neg: '-0',
      yes: 'true',
      no: 'false',
      nil: '<nil>',
      'nested.env': 'lab',
      'nested.deep.x': 'y',
      'list.0': 'a',
      'list.1.b': 'c',
    },
  });
  const only = (selector: unknown): boolean => judge(appset({ elements: [element] }, { selector })).allowed;
  t.notOk(only({ matchLabels: { 'nested.env': 'lab' } }), 'nested keys are joined with dots');
  t.ok(only({ matchLabels: { nested: 'lab' } }), 'a map is not a leaf');
  t.notOk(only({ matchLabels: { big: '1e+06' } }), 'a JSON number is a float64 printed with %v');
  t.ok(only({ matchLabels: { big: '1000000' } }), 'so 1000000 does not match "1000000"');
  t.notOk(only({ matchLabels: { yes: 'true', 'list.1.b': 'c', nil: '<nil>' } }), 'booleans, list indexes and null');
  t.ok(only({ matchExpressions: [{ key: 'empty', operator: 'Exists' }] }), 'an empty map has no key');
  t.notOk(only({ matchExpressions: [{ key: 'none', operator: 'DoesNotExist' }] }), 'nor has an empty list');
});

t.test('Go %v of a float64', async (t) => {
  const table: Array<[number, string]> = [
    [1, '1'], [1.5, '1.5'], [100000, '100000'], [1000000, '1e+06'], [1234567, '1.234567e+06'], [123456789, '1.23456789e+08'],
    [0.0001, '0.0001'], [0.00001, '1e-05'], [-0, '-0'], [0, '0'], [1e21, '1e+21'], [3.0, '3'], [9007199254740993, '9.007199254740992e+15'],
    [1e-7, '1e-07'], [0.1, '0.1'], [123456.7, '123456.7'], [-1e6, '-1e+06'], [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'],
    [12345678901234567890, '1.2345678901234567e+19'], [-123.25, '-123.25'],
  ];
  // Printed by Go 1.26 from the same JSON numbers (json.Unmarshal into any, then fmt %v).
  for (const [n, go] of table) t.equal(goFormatValue(n), go, `${n}`);
});

t.test('without goTemplate, parameters are strings and values.* (list.go)', async (t) => {
  t.same(flattenParams({ env: 'prod', 'a.b': 'c', values: { tier: 'one' } }, false), { ok: true, params: { env: 'prod', 'a.b': 'c', 'values.tier': 'one' } });
  t.match(flattenParams({ n: 1 }, false), { ok: false }, 'a number fails the list generator without goTemplate');
  t.match(flattenParams({ values: { x: 1 } }, false), { ok: false });
  t.match(flattenParams({ values: 'x' }, false), { ok: false });
  const bad = { env: 'lab', ns: 'cilium', chartVersion: '1.18.2', values: { tier: 'two' } };
  const good = { env: 'prod', ns: 'kube-system', chartVersion: '1.18.2', values: { tier: 'one' } };
  t.ok(judge(appset({ elements: [good, bad] }, { goTemplate: false, selector: { matchLabels: { 'values.tier': 'one' } } })).allowed);
  t.notOk(judge(appset({ elements: [good, bad] }, { goTemplate: false, selector: { matchLabels: { 'values.tier': 'two' } } })).allowed);
  t.ok(judge(appset({ elements: [good, bad] }, { goTemplate: false, selector: { matchLabels: { env: 'prod' } } })).allowed);
});

t.test('a selector that cannot be evaluated exactly is a warning, never a denial', async (t) => {
  const unknowable: Array<[string, unknown, JsonObject[]?]> = [
    ['an operator Argo CD does not accept', { matchExpressions: [{ key: 'env', operator: 'Gt', values: ['1'] }] }],
    ['operators are case-sensitive', { matchExpressions: [{ key: 'env', operator: 'in', values: ['prod'] }] }],
    ['In without values', { matchExpressions: [{ key: 'env', operator: 'In', values: [] }] }],
    ['Exists with values', { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['x'] }] }],
    ['a key that is not a qualified name', { matchLabels: { 'my env': 'prod' } }],
    ['a key with two slashes', { matchLabels: { 'a/b/c': 'prod' } }],
    ['a matchLabels value that is not a string', { matchLabels: { env: 1 } }],
    ['a selector that is not an object', 'env=prod'],
    ['keys that collide after flattening', { matchLabels: { 'a.b': 'x' } }, [{ ...lab, 'a.b': 'x', a: { b: 'y' } }]],
  ];
  for (const [why, selector, elements] of unknowable) {
    const d = judge(appset({ elements: elements ?? [prod, lab] }, { selector }));
    t.ok(d.allowed, `${why}: allowed`);
    t.ok(d.warnings.some((w) => /selector/.test(w)), `${why}: a warning names the selector`);
    t.ok(d.findings.some((f) => f.rule === 'R1' && f.verdict === 'warn'), `${why}: the element's violation is a warning`);
  }
  const d = judge(appset({ elements: [prod, { ...lab, n: 1 }] }, { goTemplate: false, selector: { matchLabels: { env: 'prod' } } }));
  t.ok(d.allowed, 'a number without goTemplate: Argo CD cannot build the parameters');
  t.ok(d.findings.every((f) => f.verdict !== 'deny'));
});

t.test('the selector filter on its own', async (t) => {
  const p = { env: 'prod', tier: '1' };
  t.same(selectorFilter(undefined), { kind: 'none' });
  t.same(selectorFilter(null), { kind: 'none' });
  const s = selectorFilter({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['2'] }] });
  t.equal(s.kind, 'exact');
  if (s.kind === 'exact') {
    t.ok(s.matches(p));
    t.notOk(s.matches({ ...p, tier: '2' }));
    t.notOk(s.matches({ tier: '1' }), 'matchLabels needs the key');
  }
  t.match(selectorFilter({ matchLabels: { 'example.com/env': 'x', 'Example.com/env': 'x' } }), { kind: 'unknown', reason: /Example\.com\/env/ }, 'the prefix is a lowercase DNS subdomain');
  t.equal(selectorFilter({ matchLabels: { ['a'.repeat(63)]: 'x', [`${'b'.repeat(253)}/c`]: 'y' } }).kind, 'exact', 'limits are inclusive');
  t.equal(selectorFilter({ matchLabels: { ['a'.repeat(64)]: 'x' } }).kind, 'unknown', 'a name part of 64 characters');
});

t.test('violations come only from the elements that pass', async (t) => {
  const v = applicationSetViolations(appset({ elements: [prod, lab, { env: 'lab2', ns: 'default', chartVersion: '1.18.2' }] }, { selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'lab2'] }] } }), config);
  t.same(
    v.filter((x) => x.rule === 'R1').map((x) => [x.certain, /elements\[2\]/.test(x.message)]),
    [[true, true]],
    'only elements[2] breaks R1',
  );
});
