// The reviews the benchmark sends, built from ../shared/examples the way the API server would
// send them: a small Cilium Application, a large one (status with many resources, managedFields,
// history, as an UPDATE that carries the old object too), a denial, a cilium-config update and an
// argocd-cm that needs the mutation.
import { randomUUID } from 'node:crypto';
import { example } from '../test/helpers/corpus.js';
import { makeReview } from '../test/helpers/apiserver.js';

export type Route = 'validate' | 'mutate';

export interface Payload {
  name: string;
  route: Route;
  body: string;
  /** What a correct answer is: checked once before the load. */
  expect: 'allowed' | 'denied' | 'patched';
  /**
   * What the target for it is (issue 20): `hot` (what every other app's sync and Argo CD's status
   * writes send: at least 0.9 of the bare server), `cilium` (a full Cilium Application evaluation:
   * at least 0.75), `reported` (rare denials and mutations: cost reported, not capped).
   */
  class: 'hot' | 'cilium' | 'reported';
  /**
   * The body holds `[<id>]`, which the load generator replaces by a new id in every request
   * (autocannon's idReplacement), inside the Cilium Application's Helm values: every review then
   * renders content cilium-guard has not seen, so no cache of rendered sources helps (a user's edit).
   * Without it the same content comes again and again (Argo CD's writes of an unchanged spec).
   */
  unique?: true;
}

/** The placeholder the load generator replaces per request; sent as is, it is just a string. */
export const REQUEST_ID = '[<id>]';

type Obj = Record<string, any>;

function managedFields(n: number): Obj[] {
  return Array.from({ length: n }, (_, i) => ({
    manager: i === 0 ? 'argocd-server' : `argocd-application-controller-${i}`,
    operation: i === 0 ? 'Update' : 'Apply',
    apiVersion: 'argoproj.io/v1alpha1',
    time: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
    fieldsType: 'FieldsV1',
    fieldsV1: {
      'f:metadata': { 'f:labels': { '.': {}, 'f:platform.example.com/component': {} }, 'f:finalizers': { '.': {}, 'v:"resources-finalizer.argocd.argoproj.io"': {} } },
      'f:spec': { '.': {}, 'f:destination': { '.': {}, 'f:namespace': {}, 'f:server': {} }, 'f:project': {}, 'f:source': { '.': {}, 'f:chart': {}, 'f:helm': { '.': {}, 'f:releaseName': {}, 'f:valuesObject': {} }, 'f:repoURL': {}, 'f:targetRevision': {} } },
    },
  }));
}

/** A Cilium install's resources as Argo CD lists them in status.resources. */
function resources(n: number): Obj[] {
  const kinds = [
    ['apps', 'DaemonSet', 'cilium'],
    ['apps', 'Deployment', 'cilium-operator'],
    ['', 'ConfigMap', 'cilium-config'],
    ['', 'ServiceAccount', 'cilium'],
    ['rbac.authorization.k8s.io', 'ClusterRole', 'cilium'],
    ['rbac.authorization.k8s.io', 'ClusterRoleBinding', 'cilium'],
    ['', 'Service', 'hubble-peer'],
    ['cilium.io', 'CiliumLoadBalancerIPPool', 'pool'],
  ] as const;
  return Array.from({ length: n }, (_, i) => {
    const [group, kind, name] = kinds[i % kinds.length]!;
    return {
      group,
      version: 'v1',
      kind,
      namespace: kind.startsWith('Cluster') || kind.startsWith('Cilium') ? undefined : 'kube-system',
      name: `${name}-${i}`,
      status: 'Synced',
      health: kind === 'DaemonSet' || kind === 'Deployment' ? { status: 'Healthy' } : undefined,
    };
  });
}

function history(n: number): Obj[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    revision: `1.18.${i}`,
    deployedAt: new Date(Date.UTC(2026, 9, i + 1)).toISOString(),
    deployStartedAt: new Date(Date.UTC(2026, 9, i + 1)).toISOString(),
    source: { repoURL: 'https://helm.cilium.io/', chart: 'cilium', targetRevision: `1.18.${i}` },
    initiatedBy: { automated: true },
  }));
}

function withStatus(app: Obj, scale: { resources: number; history: number; managers: number }): Obj {
  const out = structuredClone(app);
  out.metadata.uid = randomUUID();
  out.metadata.resourceVersion = '123456';
  out.metadata.generation = 42;
  out.metadata.creationTimestamp = '2026-10-01T00:00:00Z';
  out.metadata.managedFields = managedFields(scale.managers);
  out.status = {
    sync: { status: 'Synced', revision: '1.18.6', comparedTo: { source: out.spec.source, destination: out.spec.destination } },
    health: { status: 'Healthy', lastTransitionTime: '2026-11-01T00:00:00Z' },
    resources: resources(scale.resources),
    history: history(scale.history),
    reconciledAt: '2026-11-25T00:00:00Z',
    operationState: { phase: 'Succeeded', message: 'successfully synced (all tasks run)', startedAt: '2026-11-24T00:00:00Z', finishedAt: '2026-11-24T00:00:05Z' },
    sourceType: 'Helm',
    summary: { images: ['quay.io/cilium/cilium:v1.18.6', 'quay.io/cilium/operator-generic:v1.18.6', 'quay.io/cilium/hubble-relay:v1.18.6'] },
  };
  return out;
}

/** Another team's Helm app, as Argo CD stores it: not Cilium, so no rule reads its values. */
function otherApp(): Obj {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'ingress-nginx', namespace: 'argocd', labels: { team: 'edge' }, finalizers: ['resources-finalizer.argocd.argoproj.io'] },
    spec: {
      project: 'edge',
      destination: { server: 'https://kubernetes.default.svc', namespace: 'ingress-nginx' },
      source: {
        repoURL: 'https://kubernetes.github.io/ingress-nginx',
        chart: 'ingress-nginx',
        targetRevision: '4.12.0',
        helm: { releaseName: 'ingress-nginx', valuesObject: { controller: { replicaCount: 2, service: { type: 'LoadBalancer' }, metrics: { enabled: true } } } },
      },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true', 'ServerSideApply=true'] },
    },
  };
}

function review(input: Parameters<typeof makeReview>[0]): string {
  return JSON.stringify(makeReview({ uid: '7d3a1c55-0000-4000-8000-000000000001', ...input }));
}

export function payloads(): Payload[] {
  const app = example('01-app-cilium-good.yaml');
  const small = withStatus(app, { resources: 4, history: 1, managers: 1 });
  const large = withStatus(app, { resources: 120, history: 10, managers: 3 });
  const oldLarge = structuredClone(large);
  oldLarge.metadata.resourceVersion = '123455';
  const deny = structuredClone(small);
  deny.spec.source.helm.valuesObject.kubeProxyReplacement = false;
  const config = example('06-cilium-config-good.yaml') as Obj;
  const newConfig = structuredClone(config);
  newConfig.data['debug'] = 'true';
  // The hot path: another team's app (not Cilium) whose sync changes spec or starts an operation.
  const other = withStatus(otherApp(), { resources: 12, history: 3, managers: 2 });
  const otherNew = structuredClone(other);
  otherNew.metadata.resourceVersion = '123457';
  otherNew.spec.source.targetRevision = '4.12.1';
  const otherOp = structuredClone(other);
  otherOp.operation = { initiatedBy: { username: 'alice' }, sync: { revision: '4.12.0', syncOptions: ['CreateNamespace=true'] } };
  // Argo CD's status write (the CRD has no status subresource), as it arrives when the chart's
  // matchConditions are off: only status and metadata differ.
  const statusNew = structuredClone(small);
  statusNew.metadata.resourceVersion = '123457';
  statusNew.status.reconciledAt = '2026-11-25T00:03:00Z';
  statusNew.metadata.annotations = { ...(statusNew.metadata.annotations ?? {}), 'argocd.argoproj.io/refresh': 'normal' };
  const ciliumNew = structuredClone(small);
  ciliumNew.metadata.resourceVersion = '123457';
  ciliumNew.spec.source.helm.valuesObject.hubble.relay.enabled = false;
  // The same reviews with content never seen before, in every request (`unique`): a pod
  // annotation, which no rule reads, carries the request's id in object and oldObject alike.
  const fresh = (o: Obj): Obj => {
    const x = structuredClone(o);
    x.spec.source.helm.valuesObject.podAnnotations = { 'bench.cilium-guard.dev/id': REQUEST_ID };
    return x;
  };
  // Argo CD's sync of the Cilium Application: it sets `operation` on an unchanged spec.
  const ciliumSync = structuredClone(small);
  ciliumSync.metadata.resourceVersion = '123457';
  ciliumSync.operation = { initiatedBy: { automated: true }, sync: { revision: '1.18.6', syncOptions: ['ServerSideApply=true'] } };
  return [
    { name: 'other-spec', route: 'validate', body: review({ operation: 'UPDATE', object: otherNew, oldObject: other }), expect: 'allowed', class: 'hot' },
    { name: 'other-operation', route: 'validate', body: review({ operation: 'UPDATE', object: otherOp, oldObject: other }), expect: 'allowed', class: 'hot' },
    { name: 'status-only', route: 'validate', body: review({ operation: 'UPDATE', object: statusNew, oldObject: small }), expect: 'allowed', class: 'hot' },
    // A Cilium app written back unchanged but for metadata: judged "status-only" before any rule.
    { name: 'app-small', route: 'validate', body: review({ operation: 'UPDATE', object: small, oldObject: small }), expect: 'allowed', class: 'hot' },
    { name: 'app-large', route: 'validate', body: review({ operation: 'UPDATE', object: large, oldObject: oldLarge }), expect: 'allowed', class: 'hot' },
    // Full Cilium evaluations: every rule runs on the effective Helm values.
    { name: 'cilium-create', route: 'validate', body: review({ operation: 'CREATE', object: app }), expect: 'allowed', class: 'cilium' },
    { name: 'cilium-spec', route: 'validate', body: review({ operation: 'UPDATE', object: ciliumNew, oldObject: small }), expect: 'allowed', class: 'cilium' },
    { name: 'cilium-sync', route: 'validate', body: review({ operation: 'UPDATE', object: ciliumSync, oldObject: small }), expect: 'allowed', class: 'cilium' },
    { name: 'cilium-create-new', route: 'validate', body: review({ operation: 'CREATE', object: fresh(app) }), expect: 'allowed', class: 'cilium', unique: true },
    { name: 'cilium-spec-new', route: 'validate', body: review({ operation: 'UPDATE', object: fresh(ciliumNew), oldObject: fresh(small) }), expect: 'allowed', class: 'cilium', unique: true },
    { name: 'cilium-sync-new', route: 'validate', body: review({ operation: 'UPDATE', object: fresh(ciliumSync), oldObject: fresh(small) }), expect: 'allowed', class: 'cilium', unique: true },
    { name: 'app-deny', route: 'validate', body: review({ operation: 'CREATE', object: deny }), expect: 'denied', class: 'reported' },
    { name: 'cilium-config', route: 'validate', body: review({ operation: 'UPDATE', object: newConfig, oldObject: config }), expect: 'allowed', class: 'cilium' },
    { name: 'argocd-cm', route: 'mutate', body: review({ operation: 'UPDATE', object: example('04-argocd-cm-needs-mutation.yaml'), oldObject: example('04-argocd-cm-needs-mutation.yaml') }), expect: 'patched', class: 'reported' },
  ];
}
