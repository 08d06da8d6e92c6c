// Effective values shared across reviews (application.ts sourceValues): the same source content
// is rendered once, and nothing that decides an answer is left out of what makes it "the same".
import t from 'tap';
import { ReviewRenderings, applicationViolations, renderedConfigs } from '../../src/policy/application.js';
import { SHARED, contentKey, sameContent } from '../../src/policy/shared-values.js';
import { defaultConfig, resolveConfig, type PolicyConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import { specSources } from '../../src/policy/identify.js';
import { appContext } from '../../src/policy/values/argocd-helm.js';
import { makeReview } from '../helpers/apiserver.js';
import { example } from '../helpers/corpus.js';

type Obj = Record<string, any>;

/** ../shared/examples' good Cilium Application, with these Helm values over its own. */
function app(values: Obj, meta: Obj = {}, spec: Obj = {}): Obj {
  const a = structuredClone(example('01-app-cilium-good.yaml')) as Obj;
  Object.assign(a.metadata, meta);
  Object.assign(a.spec, spec);
  Object.assign(a.spec.source.helm.valuesObject, structuredClone(values));
  return a;
}

const rules = (a: Obj, config: PolicyConfig) => applicationViolations(a, config).map((v) => `${v.rule} ${v.certain}`);
const firstConfig = (a: Obj, config: PolicyConfig, review?: ReviewRenderings) => renderedConfigs(a, config, false, review)[0]!.alternatives[0];

t.test('two objects with the same sources share one rendering', async (t) => {
  const config = defaultConfig();
  const a = app({ hubble: { relay: { enabled: true } } });
  const b = structuredClone(a);
  b.metadata.resourceVersion = '2';
  b.status = { sync: { status: 'Synced' } };
  const a2 = structuredClone(a);
  t.not(a, b);
  t.not(firstConfig(a, config), firstConfig(a2, config), 'content seen once is not kept (a user\'s edit)');
  t.equal(firstConfig(b, config), firstConfig(a2, config), 'seen twice, it is: a third object reads the second one\'s rendering');
  t.same(applicationViolations(b, config), applicationViolations(a, config));
  const c = app({ hubble: { relay: { enabled: false } } });
  firstConfig(structuredClone(c), config);
  t.not(firstConfig(c, config), firstConfig(a, config), 'other values, another rendering');
});

t.test('what decides an answer besides the source is part of the key', async (t) => {
  const config = defaultConfig();
  // No helm.releaseName: the release name is metadata.name, the namespace the destination's.
  const unnamed = (meta: Obj = {}, spec: Obj = {}) => {
    const x = app({}, meta, spec);
    delete x.spec.source.helm.releaseName;
    return x;
  };
  const a = unnamed();
  t.same(rules(a, config), [], 'release cilium in kube-system');
  // The same source under another name or destination is another rendering.
  t.same(rules(unnamed({ name: 'cilium-2' }), config), ['R2 true'], 'another metadata.name: another release');
  t.same(rules(unnamed({}, { destination: { server: 'https://kubernetes.default.svc', namespace: 'cilium' } }), config), ['R1 true'], 'another destination namespace');
  t.same(rules(a, config), [], 'and the first answer is unchanged');
  // Another policy never reads a rendering made for this one.
  const other = resolveConfig({ cilium: { releaseName: 'cilium-cni' } });
  if (!other.ok) throw new Error(other.errors.join('; '));
  t.same(rules(a, other.config), ['R2 true'], 'another policy, its own answer');
  t.same(rules(a, config), [], 'this policy, its own answer');
});

t.test('a spec update whose old object was rendered before decides as when it was not', async (t) => {
  const config = defaultConfig();
  const oldApp = app({ ipam: { mode: 'cluster-pool' } });
  const newApp = app({ ipam: { mode: 'kubernetes' } });
  const review = () => makeReview({ operation: 'UPDATE', object: structuredClone(newApp), oldObject: structuredClone(oldApp) }).request as any;
  const cold = validate(review(), config);
  t.equal(cold.allowed, false, 'L1: the IPAM mode of a running cluster may not change');
  t.match(cold.message, /\[L1\]/);
  const warm = validate(review(), config);
  t.same(warm, cold, 'the same decision from shared renderings');
});

t.test('keys that cannot be written exactly are not shared', async (t) => {
  const a = app({ cluster: { id: 0 } });
  const b = app({ cluster: { id: -0 } });
  const key = (x: Obj) => contentKey(specSources(x.spec, defaultConfig())[0]!, appContext(x, ['argocd']));
  t.type(key(a), 'object');
  t.not(key(a), null);
  t.equal(key(b), null, '-0 (JSON writes it as 0, Helm prints -0, and equality cannot tell them apart)');
  t.equal(key(app({ cluster: { id: Number.NaN } })), null, 'NaN (check reads YAML: .nan)');
  t.equal(key(app({ cluster: { id: Number.POSITIVE_INFINITY } })), null, 'Infinity (.inf)');
  t.equal(key(app({ cluster: { name: new Date(0) } })), null, 'an object that is not plain JSON');
  const cyclic = app({});
  cyclic.spec.source.helm.valuesObject.self = cyclic.spec.source.helm.valuesObject;
  t.equal(key(cyclic), null, 'a cycle (a recursive YAML alias in check\'s input)');
  t.equal(sameContent(key(app({}))!, key(app({}))!), true, 'equal content in two objects is one key');
  t.equal(sameContent(key(app({}, { name: 'x' }))!, key(app({}))!), false, 'the application name is in the key');
  t.equal(sameContent(key(app({}, {}, { project: 'p' }))!, key(app({}))!), false, 'and the project');
  t.equal(sameContent(key(app({ a: 1 }))!, key(app({ a: '1' }))!), false, 'a number is not its string');
  t.equal(sameContent(key(app({ a: [1, 2] }))!, key(app({ a: [2, 1] }))!), false, 'nor a list in another order');
  t.equal(sameContent(key(app({ a: { b: 1 } }))!, key(app({ a: { b: 1, c: null } }))!), false, 'nor a map with one key more');
  const ordered = app({ a: { x: 1, y: 2 } });
  const reordered = app({ a: { y: 2, x: 1 } });
  t.not(key(ordered)!.hash, key(reordered)!.hash, 'key order is in the fingerprint (a message may follow it)');
});

t.test('contents that share a fingerprint are told apart', async (t) => {
  // The fingerprint reads a key's length and its first, middle and last characters: Argo CD's
  // sync-options annotation and a name one letter away share one. Each content keeps its own
  // rendering, and each answer is the one made without sharing.
  const key = (x: Obj) => contentKey(specSources(x.spec, defaultConfig())[0]!, appContext(x, ['argocd']));
  const bad = app({ annotations: { 'argocd.argoproj.io/sync-options': 'ServerSideApply=false' } });
  const good = app({ annotations: { 'argocd.argoproj.io/xync-options': 'ServerSideApply=false' } });
  t.equal(key(good)!.hash, key(bad)!.hash, 'the premise: one fingerprint');
  t.equal(sameContent(key(good)!, key(bad)!), false);
  const alone = (x: Obj) => rules(structuredClone(x), defaultConfig());
  t.not(alone(good).join(), alone(bad).join(), 'the premise: they are judged differently');
  const config = defaultConfig();
  for (let i = 0; i < 3; i++) {
    t.same(rules(structuredClone(good), config), alone(good), `the annotation, ${i + 1}. time`);
    t.same(rules(structuredClone(bad), config), alone(bad), `another name, ${i + 1}. time`);
  }
  t.equal(firstConfig(structuredClone(good), config), firstConfig(structuredClone(good), config), 'both kept');
  t.equal(firstConfig(structuredClone(bad), config), firstConfig(structuredClone(bad), config));
  t.not(firstConfig(structuredClone(good), config), firstConfig(structuredClone(bad), config), 'apart');
});

t.test('the shared renderings are bounded', async (t) => {
  const config = defaultConfig();
  const seenTwice = (n: string) => {
    firstConfig(app({ podLabels: { n } }), config);
    return firstConfig(app({ podLabels: { n } }), config);
  };
  const kept = seenTwice('0');
  t.equal(firstConfig(app({ podLabels: { n: '0' } }), config), kept, 'kept while few are seen');
  for (let i = 1; i <= SHARED.seen + SHARED.max; i++) firstConfig(app({ podLabels: { n: `once ${i}` } }), config);
  t.equal(firstConfig(app({ podLabels: { n: '0' } }), config), kept, `still kept after ${SHARED.seen + SHARED.max} contents seen once`);
  for (let i = 1; i <= SHARED.max; i++) seenTwice(String(i));
  t.not(firstConfig(app({ podLabels: { n: '0' } }), config), kept, `forgotten after ${SHARED.max} others seen twice`);
  const huge = app({ podLabels: { n: 'x'.repeat(SHARED.maxEntrySize) } });
  firstConfig(structuredClone(huge), config);
  t.not(firstConfig(structuredClone(huge), config), firstConfig(structuredClone(huge), config), 'a source larger than an entry may be is never kept');
});

t.test('content seen once is remembered by its key alone, and boundedly', async (t) => {
  const config = defaultConfig();
  const edit = app({ podLabels: { n: 'edit' } });
  firstConfig(edit, config);
  // More contents seen once than the doorkeeper remembers push the edit out: seen again, it is
  // "once" again, and only its third sighting is kept.
  for (let i = 1; i <= SHARED.seen; i++) firstConfig(app({ podLabels: { n: `other ${i}` } }), config);
  const again = firstConfig(structuredClone(edit), config);
  t.not(firstConfig(structuredClone(edit), config), again, 'forgotten by the doorkeeper, then seen once more: not kept yet');
  const third = firstConfig(structuredClone(edit), config);
  t.equal(firstConfig(structuredClone(edit), config), third, 'then kept');
});

t.test("an UPDATE that leaves the spec alone (Argo CD's sync) renders the old object's spec from the new one's", async (t) => {
  const config = defaultConfig();
  // A -0 keeps the content out of the shared renderings: only the unchanged spec can make them one.
  const base = app({ podAnnotations: { x: -0 } });
  const sync = (old: Obj) => {
    const object = structuredClone(base);
    object.operation = { initiatedBy: { automated: true }, sync: { revision: '1.18.6', syncOptions: ['ServerSideApply=true'] } };
    const req = makeReview({ operation: 'UPDATE', object, oldObject: old }).request as any;
    req.object = object; // makeReview copies; keep the objects this test holds
    req.oldObject = old;
    return { req, object };
  };
  const old = structuredClone(base);
  const { req, object } = sync(old);
  const renderings = new ReviewRenderings(config);
  t.equal(validate(req, config, { renderings }).allowed, true);
  t.equal(firstConfig(old, config, renderings), firstConfig(object, config, renderings), 'one rendering for both');
  // Another name with the same spec is another Application (`check` may compare any two).
  const renamed = structuredClone(base);
  renamed.metadata.name = 'cilium-2';
  const other = sync(renamed);
  const apart = new ReviewRenderings(config);
  validate(other.req, config, { renderings: apart });
  t.not(firstConfig(renamed, config, apart), firstConfig(other.object, config, apart), 'not for another name');
  // What a review rendered goes with it: another review renders the old object again.
  t.not(firstConfig(old, config), firstConfig(object, config), 'nothing kept past the review');
});

t.test('a spec that differs only by a -0 is another spec: the old object renders on its own', async (t) => {
  const config = defaultConfig();
  const old = app({ podAnnotations: { x: 0 } });
  const object = app({ podAnnotations: { x: -0 } });
  object.operation = { initiatedBy: { automated: true }, sync: { revision: '1.18.6', syncOptions: ['ServerSideApply=true'] } };
  const req = makeReview({ operation: 'UPDATE', object, oldObject: old }).request as any;
  req.object = object;
  req.oldObject = old;
  const renderings = new ReviewRenderings(config);
  validate(req, config, { renderings });
  t.not(firstConfig(old, config, renderings), firstConfig(object, config, renderings));
});

t.test('a sync of an Application already denied is still judged pre-existing', async (t) => {
  const config = defaultConfig();
  const bad = app({ kubeProxyReplacement: false, podAnnotations: { x: -0 } });
  const object = structuredClone(bad);
  object.operation = { initiatedBy: { automated: true }, sync: { revision: '1.18.6', syncOptions: ['ServerSideApply=true'] } };
  const decision = validate(makeReview({ operation: 'UPDATE', object, oldObject: structuredClone(bad) }).request as any, config);
  t.equal(decision.allowed, true, 'the old object had it already');
  t.match(decision.findings, [{ rule: 'R4', verdict: 'warn', downgrade: 'pre-existing' }]);
  const create = validate(makeReview({ operation: 'CREATE', object: structuredClone(bad) }).request as any, config);
  t.equal(create.allowed, false, 'and a CREATE of it is denied');
});

t.test('a source nested deeper than any rendering reads is not shared, and its key does not exhaust the stack', async (t) => {
  const deep = app({});
  let node: Obj = deep.spec.source.helm.valuesObject;
  for (let i = 0; i < 5_000; i++) node = node.n = {};
  t.equal(contentKey(specSources(deep.spec, defaultConfig())[0]!, appContext(deep, ['argocd'])), null);
});
