// The cluster view as data: the agent's version read from its image, and a view read from what
// `check --cluster FILE` is given (the ClusterView shape, or kubectl's List of the two objects).
import t from 'tap';
import { parse } from 'yaml';
import { agentOf, imageVersion, readClusterView, viewOf } from '../../src/policy/cluster-view.js';
import { defaultConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';

t.test('imageVersion reads the tag between the last ":" of the name and any digest', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['quay.io/cilium/cilium:v1.18.2@sha256:858f807ea4e20e85e3ea3240a762e1f4b29f1cb5bbd0463b8aa77e7b097c0667', '1.18.2'],
    ['quay.io/cilium/cilium:v1.18.1', '1.18.1'],
    ['quay.io/cilium/cilium:1.17.6', '1.17.6'],
    ['quay.io/cilium/cilium-ci:v1.19.0-pre.1', '1.19.0-pre.1'],
    ['localhost:5000/cilium/cilium:v1.16.0', '1.16.0'],
    // override images without a tag, or with a tag that is not a version: unknown
    ['localhost:5000/cilium/cilium', undefined],
    ['registry.example/cilium@sha256:858f807ea4e20e85e3ea3240a762e1f4b29f1cb5bbd0463b8aa77e7b097c0667', undefined],
    ['quay.io/cilium/cilium:latest', undefined],
    ['quay.io/cilium/cilium:v1.18', undefined],
    ['', undefined],
  ];
  for (const [image, want] of cases) t.equal(imageVersion(image), want, image);
});

const daemonSet = (image: string, name = 'cilium-agent') => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'cilium', namespace: 'kube-system' },
  spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.36' }, { name, image }] } } },
});
const configMap = (data: Record<string, string>, namespace = 'kube-system') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cilium-config', namespace, resourceVersion: '42' },
  data,
});

t.test('the agent is the cilium-agent container, not the first one', async (t) => {
  t.same(agentOf(daemonSet('quay.io/cilium/cilium:v1.18.1')), { image: 'quay.io/cilium/cilium:v1.18.1', version: '1.18.1' });
  t.same(agentOf(daemonSet('example/cilium')), { image: 'example/cilium' }, 'an override image without a tag: version unknown');
  t.equal(agentOf({ spec: {} }), undefined);
});

t.test('viewOf names what is missing', async (t) => {
  t.same(viewOf({}), { missing: ['ConfigMap kube-system/cilium-config', 'DaemonSet kube-system/cilium'] });
  t.same(viewOf({ configMap: configMap({ ipam: 'kubernetes' }) }, undefined, { observedAt: '2026-11-27T03:00:00.000Z', stale: true }), {
    ciliumConfig: { data: { ipam: 'kubernetes' }, resourceVersion: '42' },
    observedAt: '2026-11-27T03:00:00.000Z',
    stale: true,
    missing: ['DaemonSet kube-system/cilium'],
  });
});

t.test('readClusterView takes the ClusterView shape', async (t) => {
  const doc = parse(`
ciliumConfig:
  data: { ipam: kubernetes, cluster-name: default }
agent:
  image: quay.io/cilium/cilium:v1.18.2@sha256:858f807ea4e20e85e3ea3240a762e1f4b29f1cb5bbd0463b8aa77e7b097c0667
observedAt: 2026-11-27T03:00:00Z
`, { version: '1.1' }) as unknown;
  t.same(readClusterView([doc]), {
    ciliumConfig: { data: { ipam: 'kubernetes', 'cluster-name': 'default' } },
    agent: { image: 'quay.io/cilium/cilium:v1.18.2@sha256:858f807ea4e20e85e3ea3240a762e1f4b29f1cb5bbd0463b8aa77e7b097c0667', version: '1.18.2' },
    observedAt: '2026-11-27T03:00:00Z',
  });
  t.same(readClusterView([{ agent: { image: 'x/cilium', version: 'v1.17.3' } }]), { agent: { image: 'x/cilium', version: '1.17.3' } });
  t.equal(readClusterView([{ agent: { image: 'x/cilium', version: 'soon' } }]), 'agent.version must be a version such as 1.18.1');
  t.equal(readClusterView([{ ciliumConfig: { data: { 'cluster-id': 1 } } }]), 'ciliumConfig.data must be a map of strings');
  t.match(readClusterView([{ ciliumconfig: {} }]), /^unknown field\(s\) ciliumconfig/);
  t.match(readClusterView(['text']), /^expected one ClusterView document/);
});

t.test('readClusterView takes a kubectl List holding the ConfigMap and the DaemonSet, ignoring the rest', async (t) => {
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [configMap({ 'kube-proxy-replacement': 'true' }, 'elsewhere'), configMap({ ipam: 'kubernetes' }), daemonSet('quay.io/cilium/cilium:v1.18.1'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cilium' } }],
  };
  t.same(readClusterView([list]), {
    ciliumConfig: { data: { ipam: 'kubernetes' }, resourceVersion: '42' },
    agent: { image: 'quay.io/cilium/cilium:v1.18.1', version: '1.18.1' },
  });
  t.same(readClusterView([configMap({ ipam: 'kubernetes' })]), {
    ciliumConfig: { data: { ipam: 'kubernetes' }, resourceVersion: '42' },
    missing: ['DaemonSet kube-system/cilium'],
  }, 'separate documents; the DaemonSet is missing');
});

t.test('validate takes the view as a third argument and stays the same without it', async (t) => {
  const req = {
    operation: 'CREATE' as const,
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    namespace: 'kube-system',
    name: 'cilium-config',
    object: configMap({ 'kube-proxy-replacement': 'false' }),
    oldObject: null,
    userInfo: {},
    dryRun: false,
  };
  const config = defaultConfig();
  const without = validate(req, config);
  const withView = validate(req, config, { cluster: viewOf({ configMap: configMap({ 'kube-proxy-replacement': 'true' }) }) });
  t.equal(without.allowed, false);
  t.same(withView, without);
});
