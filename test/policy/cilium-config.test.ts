// C2: a ConfigMap named cilium-config outside kube-system is refused only when it is Cilium's:
// tracked by the Cilium Application exactly as Argo CD writes the tracking (util/argo
// resource_tracking.go), owned by the configured Helm release, or holding the agent's own keys.
// A name or a value that merely contains "cilium" proves nothing.
import t from 'tap';
import { ciliumConfigMarker } from '../../src/policy/cilium-config.js';
import { defaultConfig, resolveConfig, type PolicyConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import type { JsonObject } from '../../src/policy/types.js';
import { BASES } from '../helpers/corpus.js';

const config = defaultConfig();

function cm(namespace: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> }, data: Record<string, string> = { 'dashboard.json': '{}' }): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace, ...meta }, data };
}

const tracking = (id: string): { annotations: Record<string, string> } => ({ annotations: { 'argocd.argoproj.io/tracking-id': id } });

function configWith(input: unknown): PolicyConfig {
  const r = resolveConfig(input);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

function verdict(object: JsonObject, c: PolicyConfig = config): boolean {
  const meta = object.metadata as JsonObject;
  return validate(
    {
      operation: 'CREATE',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      namespace: meta.namespace as string,
      name: 'cilium-config',
      object,
      oldObject: null,
      userInfo: { username: 'me' },
      dryRun: false,
    },
    c,
  ).allowed;
}

t.test('names and values that merely contain "cilium" are not Cilium', async (t) => {
  const unrelated: Array<[string, JsonObject]> = [
    ['tracked by the app cilium-docs', cm('docs', tracking('cilium-docs:/ConfigMap:docs/cilium-config'))],
    ['tracked by the app cilium-docs in another namespace', cm('docs', tracking('team_cilium-docs:/ConfigMap:docs/cilium-config'))],
    ['tracked by an app whose name starts with cilium', cm('docs', tracking('ciliumdocs:/ConfigMap:docs/cilium-config'))],
    ['instance label cilium-docs', cm('docs', { labels: { 'app.kubernetes.io/instance': 'cilium-docs' } })],
    ['instance label containing cilium', cm('docs', { labels: { 'app.kubernetes.io/instance': 'my-cilium-notes' } })],
    ['part-of label cilium', cm('docs', { labels: { 'app.kubernetes.io/part-of': 'cilium' } })],
    ['a label value containing cilium', cm('docs', { labels: { team: 'cilium-fans', 'helm.sh/chart': 'cilium-docs-1.0.0' } })],
    ['Helm release cilium-docs', cm('docs', { annotations: { 'meta.helm.sh/release-name': 'cilium-docs', 'meta.helm.sh/release-namespace': 'docs' } })],
    ['Helm release named Cilium (other case)', cm('docs', { annotations: { 'meta.helm.sh/release-name': 'Cilium', 'meta.helm.sh/release-namespace': 'docs' } })],
    ['a tracking id that does not parse', cm('docs', tracking('cilium'))],
    ['a tracking id with a wrong shape', cm('docs', tracking('cilium:ConfigMap:docs/cilium-config'))],
    ['a tracking id copied from another object', cm('docs', tracking('cilium:/ConfigMap:kube-system/cilium-config'))],
    ['a tracking id for another kind', cm('docs', tracking('cilium:/Secret:docs/cilium-config'))],
    ['one Cilium key is not enough', cm('docs', {}, { 'kube-proxy-replacement': 'true', 'README.md': 'cilium ipam routing-mode' })],
    ['keys that only look like Cilium\'s', cm('docs', {}, { 'Kube-Proxy-Replacement': 'true', 'ipam ': 'x', 'cilium-routing-mode': 'tunnel' })],
  ];
  for (const [why, object] of unrelated) {
    t.equal(ciliumConfigMarker(object, config), null, why);
    t.ok(verdict(object), `${why}: allowed`);
  }
});

t.test('tracking by the Cilium Application, as Argo CD writes it', async (t) => {
  t.match(ciliumConfigMarker(cm('cilium', tracking('cilium:/ConfigMap:cilium/cilium-config')), config), /tracking-id/);
  t.match(ciliumConfigMarker(cm('cilium', tracking('team-a_cilium:/ConfigMap:cilium/cilium-config')), config), /tracking-id/, 'an app named cilium outside the control-plane namespace');
  t.match(ciliumConfigMarker(cm('cilium', { labels: { 'app.kubernetes.io/instance': 'cilium' } }), config), /app\.kubernetes\.io\/instance/, 'label tracking (Argo CD 2.x)');
  t.match(ciliumConfigMarker(cm('cilium', { labels: { 'app.kubernetes.io/instance': 'team-a_cilium' } }), config), /app\.kubernetes\.io\/instance/);
  t.notOk(verdict(cm('cilium', tracking('cilium:/ConfigMap:cilium/cilium-config'))), 'denied');

  const named = configWith({ identify: { applications: ['platform/cni'] }, argocd: { namespaces: ['argocd'] } });
  t.match(ciliumConfigMarker(cm('cilium', tracking('platform_cni:/ConfigMap:cilium/cilium-config')), named), /tracking-id/, 'a configured Application outside the control plane');
  t.equal(ciliumConfigMarker(cm('cilium', tracking('cni:/ConfigMap:cilium/cilium-config')), named), null, 'bare "cni" is argocd/cni, not platform/cni');
  t.equal(ciliumConfigMarker(cm('cilium', tracking('other_cni:/ConfigMap:cilium/cilium-config')), named), null, 'other/cni is another Application');
  const inControlPlane = configWith({ identify: { applications: ['argocd/cni'] }, argocd: { namespaces: ['argocd'] } });
  t.match(ciliumConfigMarker(cm('cilium', tracking('cni:/ConfigMap:cilium/cilium-config')), inControlPlane), /tracking-id/, 'an Application in the control-plane namespace has a bare instance name');
  const release = configWith({ cilium: { releaseName: 'cni' } });
  t.match(ciliumConfigMarker(cm('cilium', tracking('cni:/ConfigMap:cilium/cilium-config')), release), /tracking-id/, 'an app named as the configured release');
  t.equal(ciliumConfigMarker(cm('cilium', tracking('cilium:/ConfigMap:cilium/cilium-config')), release), null, 'the release is configured as cni, so "cilium" is not it');
});

t.test('Helm ownership by the configured release', async (t) => {
  const helm = { 'meta.helm.sh/release-name': 'cilium', 'meta.helm.sh/release-namespace': 'cilium' };
  t.match(ciliumConfigMarker(cm('cilium', { annotations: helm }), config), /meta\.helm\.sh\/release-name/);
  t.equal(ciliumConfigMarker(cm('cilium', { annotations: { 'meta.helm.sh/release-name': 'cilium' } }), config), null, 'Helm always writes both annotations');
  t.equal(ciliumConfigMarker(cm('cilium', { annotations: helm }), configWith({ cilium: { releaseName: 'cni' } })), null);
});

t.test("the agent's own keys", async (t) => {
  const keys = { 'kube-proxy-replacement': 'true', ipam: 'kubernetes' };
  t.match(ciliumConfigMarker(cm('cilium', {}, keys), config), /kube-proxy-replacement, ipam/, 'two of them, no labels at all');
  const base = BASES['cilium-config']!() as JsonObject;
  const copied = { ...base, metadata: { name: 'cilium-config', namespace: 'backup' } };
  t.match(ciliumConfigMarker(copied, config), /keys/, 'a full copy of the rendered config');
  t.notOk(verdict(copied), 'denied');
  t.match(ciliumConfigMarker({ ...cm('cilium', {}, {}), binaryData: { 'routing-mode': 'dHVubmVs', 'cluster-name': 'ZGVmYXVsdA==' } }, config), /keys/, 'binaryData keys are mounted as files too');
});
