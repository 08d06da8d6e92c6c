// fast-check arbitraries for the fuzz tests: hostile JSON, AdmissionReviews that are mostly right
// and wrong in a few places, and Cilium Applications whose guarded fields vary at random.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { BASES } from '../helpers/corpus.js';
import { NASTIER, paths, type Path } from '../helpers/nasty.js';

type Obj = Record<string, unknown>;

/** Any JSON value, with the nasty ones mixed in. */
export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTIER) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
);

/** A YAML text for a Helm `values` string: well-formed (from random JSON) or hostile. */
export const valuesText: fc.Arbitrary<string> = fc.oneof(
  fc.dictionary(fc.constantFrom('kubeProxyReplacement', 'k8sServiceHost', 'k8sServicePort', 'ipam', 'namespaceOverride', 'x'), jsonish).map((v) => stringify(v)),
  fc.constantFrom(
    'kubeProxyReplacement: false',
    'kubeProxyReplacement: off',
    'kubeProxyReplacement: "true"',
    'kubeProxyReplacement: &k true\nother: *k',
    '<<: {kubeProxyReplacement: false}',
    'kubeProxyReplacement: true\nkubeProxyReplacement: false',
    'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    '['.repeat(500),
    '{a: '.repeat(200),
    '\t- : : :',
    'k8sServiceHost: !!binary aGVsbG8=',
    '%YAML 1.2\n---\nkubeProxyReplacement: true',
    '--- a\n--- b',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Sets `value` at a path (creating objects on the way) in a copy of `root`. */
export function setIn(root: Obj, path: Path, value: unknown): Obj {
  const copy = structuredClone(root);
  let node: Obj = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Obj;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** `arb` one time in `1 + keep`, otherwise undefined (the field is left as the fixture has it). */
const maybe = <T>(arb: fc.Arbitrary<T>, keep = 1): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: keep, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
/** `arb` one time in `1 + keep`, otherwise null. */
const rarely = <T>(arb: fc.Arbitrary<T>, keep: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: keep, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

/** A Cilium Application (fixture 01) whose guarded fields are each kept, dropped or randomised. */
export const ciliumApplication: fc.Arbitrary<Obj> = fc
  .record({
    releaseName: maybe(fc.oneof(fc.constantFrom('cilium', 'cilium-2', ''), jsonish)),
    helmNamespace: maybe(fc.oneof(fc.constantFrom('kube-system', 'cilium'), jsonish)),
    destNamespace: maybe(fc.oneof(fc.constantFrom('kube-system', 'default', ''), jsonish)),
    values: maybe(valuesText),
    valuesObject: maybe(fc.oneof(fc.record({ kubeProxyReplacement: jsonish }), jsonish)),
    parameters: maybe(
      fc.array(
        fc.record({
          name: fc.oneof(fc.constantFrom('kubeProxyReplacement', 'k8sServiceHost', 'k8sServicePort', 'a\\.b', 'x[0]'), jsonish),
          value: jsonish,
          forceString: fc.oneof(fc.boolean(), jsonish),
        }),
        { maxLength: 4 },
      ),
    ),
    syncOptions: maybe(
      fc.oneof(fc.subarray(['ServerSideApply=true', 'ServerSideApply=false', 'Replace=true', 'CreateNamespace=true', 'serversideapply=true']), jsonish),
    ),
    manifests: maybe(fc.oneof(fc.array(fc.string(), { maxLength: 2 }), jsonish)),
    finalizers: maybe(fc.oneof(fc.constant(['resources-finalizer.argocd.argoproj.io']), jsonish)),
  })
  .map((r) => {
    let app: Obj = BASES.app!();
    const edits: Array<[string[], unknown]> = [
      [['spec', 'source', 'helm', 'releaseName'], r.releaseName],
      [['spec', 'source', 'helm', 'namespace'], r.helmNamespace],
      [['spec', 'destination', 'namespace'], r.destNamespace],
      [['spec', 'source', 'helm', 'values'], r.values],
      [['spec', 'source', 'helm', 'parameters'], r.parameters],
      [['spec', 'syncPolicy', 'syncOptions'], r.syncOptions],
      [['operation', 'sync', 'manifests'], r.manifests],
      [['metadata', 'finalizers'], r.finalizers],
    ];
    if (r.valuesObject !== undefined) edits.push([['spec', 'source', 'helm', 'valuesObject'], r.valuesObject]);
    for (const [path, value] of edits) if (value !== undefined) app = setIn(app, path, value);
    return app;
  });

/** A Cilium ApplicationSet (fixture 03) with random generator elements, templatePatch and template fields. */
export const ciliumApplicationSet: fc.Arbitrary<Obj> = fc
  .record({
    elements: maybe(fc.array(fc.dictionary(fc.constantFrom('cluster', 'server', 'chartVersion', 'ns', 'kpr'), jsonish), { maxLength: 3 })),
    templatePatch: maybe(
      fc.oneof(
        fc.constantFrom(
          'spec:\n  destination:\n    namespace: {{ .ns }}\n',
          'spec:\n  source:\n    helm:\n      releaseName: other\n',
          '{{- if .kpr }}\nspec:\n  syncPolicy:\n    syncOptions: []\n{{- end }}\n',
        ),
        valuesText,
      ),
    ),
    goTemplate: maybe(jsonish),
    releaseName: maybe(fc.oneof(fc.constantFrom('cilium', '{{ .cluster }}-cilium'), jsonish)),
    destNamespace: maybe(fc.oneof(fc.constantFrom('kube-system', '{{ .ns }}'), jsonish)),
    kpr: maybe(fc.oneof(fc.constantFrom(false, '{{ .kpr }}'), jsonish)),
  })
  .map((r) => {
    let set: Obj = BASES.appset!();
    const edits: Array<[string[], unknown]> = [
      [['spec', 'generators'], r.elements === undefined ? undefined : [{ list: { elements: r.elements } }]],
      [['spec', 'templatePatch'], r.templatePatch],
      [['spec', 'goTemplate'], r.goTemplate],
      [['spec', 'template', 'spec', 'source', 'helm', 'releaseName'], r.releaseName],
      [['spec', 'template', 'spec', 'destination', 'namespace'], r.destNamespace],
      [['spec', 'template', 'spec', 'source', 'helm', 'valuesObject', 'kubeProxyReplacement'], r.kpr],
    ];
    for (const [path, value] of edits) if (value !== undefined) set = setIn(set, path, value);
    return set;
  });

/** Every kind the webhooks look at, from the shared examples, and the guarded Application. */
export const guardedObject: fc.Arbitrary<Obj> = fc.oneof(
  ciliumApplication,
  ciliumApplicationSet,
  fc.constantFrom(...Object.values(BASES).map((f) => f())),
);

/** A random edit somewhere in an object: the path is chosen from what is there. */
export const mutatedObject: fc.Arbitrary<Obj> = fc
  .tuple(guardedObject, fc.array(fc.tuple(fc.nat(), jsonish), { minLength: 1, maxLength: 3 }))
  .map(([base, edits]) => {
    let o = base;
    for (const [n, value] of edits) {
      const all = paths(o).filter((p) => p.length > 0);
      const p = all[n % all.length];
      if (p) o = setIn(o, p, value);
    }
    return o;
  });

const GVK: Record<string, { group: string; version: string; kind: string }> = {
  Application: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
  ApplicationSet: { group: 'argoproj.io', version: 'v1alpha1', kind: 'ApplicationSet' },
  ConfigMap: { group: '', version: 'v1', kind: 'ConfigMap' },
};

/** An AdmissionReview: each envelope field right most of the time and anything at all otherwise. */
export const admissionReview: fc.Arbitrary<Obj> = fc
  .record({
    object: fc.oneof({ weight: 15, arbitrary: fc.oneof(guardedObject, mutatedObject) }, { weight: 1, arbitrary: jsonish }),
    oldObject: fc.oneof({ weight: 15, arbitrary: fc.oneof(guardedObject, mutatedObject, fc.constant(null)) }, { weight: 1, arbitrary: jsonish }),
    operation: fc.oneof({ weight: 20, arbitrary: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT') }, { weight: 1, arbitrary: jsonish }),
    uid: fc.oneof({ weight: 20, arbitrary: fc.uuid() }, { weight: 1, arbitrary: jsonish }),
    kind: rarely(jsonish, 20),
    userInfo: fc.oneof(
      { weight: 15, arbitrary: fc.record({ username: fc.oneof(fc.constantFrom('kubernetes-admin', 'system:serviceaccount:argocd:argocd-application-controller'), jsonish), groups: fc.oneof(fc.array(fc.string()), jsonish) }) },
      { weight: 1, arbitrary: jsonish },
    ),
    dryRun: fc.oneof({ weight: 15, arbitrary: fc.boolean() }, { weight: 1, arbitrary: jsonish }),
    subResource: rarely(fc.oneof(fc.constant('status'), jsonish), 15),
    name: rarely(jsonish, 8),
    envelope: rarely(fc.record({ apiVersion: jsonish, kind: jsonish }), 30),
    requestItself: rarely(jsonish, 30),
  })
  .map((r) => {
    const subject = (r.object && typeof r.object === 'object' ? r.object : r.oldObject) as Obj | null;
    const kindName = subject && typeof subject.kind === 'string' ? subject.kind : 'ConfigMap';
    const meta = (subject?.metadata ?? {}) as Obj;
    const request: Obj = {
      uid: r.uid,
      kind: r.kind ?? GVK[kindName] ?? { group: 'example.com', version: 'v1', kind: kindName },
      operation: r.operation,
      userInfo: r.userInfo,
      object: r.operation === 'DELETE' ? null : r.object,
      oldObject: r.operation === 'CREATE' ? null : r.oldObject,
      dryRun: r.dryRun,
      ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
      name: r.name ?? meta.name,
      ...(r.subResource !== null ? { subResource: r.subResource } : {}),
    };
    return {
      apiVersion: r.envelope ? r.envelope.apiVersion : 'admission.k8s.io/v1',
      kind: r.envelope ? r.envelope.kind : 'AdmissionReview',
      request: r.requestItself ?? request,
    };
  });
