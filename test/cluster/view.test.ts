// The cache behind the live cluster view: what reviews read, and how its state and age follow the
// list+watch of each object (a fake clock; the real watches are tested in test/e2e/cluster-view).
import t from 'tap';
import { ClusterViewCache } from '../../src/cluster/view.js';

const cm = (data: Record<string, string>, rv = '1') => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system', resourceVersion: rv }, data });
const ds = (image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'cilium', namespace: 'kube-system' },
  spec: { template: { spec: { containers: [{ name: 'cilium-agent', image }] } } },
});

function clock(start = Date.parse('2026-11-27T03:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (s: number) => (now += s * 1000) };
}

t.test('pending until both objects are listed: no view, age counted from start-up', async (t) => {
  const c = clock();
  const cache = new ClusterViewCache(undefined, c.now);
  c.advance(5);
  t.same(cache.current(), { unavailable: 'the cluster view has not been read from the API server yet' }, 'pending: what runs is unknown');
  t.match(cache.status(), { state: 'pending', ageSeconds: 5, missing: [] });
  cache.listed('configMap', cm({ ipam: 'kubernetes' }));
  t.same(cache.current(), { unavailable: 'the cluster view has not been read from the API server yet' }, 'half a view is no view');
});

t.test('current once listed and watched; missing objects are named; changes replace the view', async (t) => {
  const c = clock();
  const cache = new ClusterViewCache(undefined, c.now);
  cache.listed('configMap', null);
  cache.listed('daemonSet', null);
  cache.watching('configMap');
  cache.watching('daemonSet');
  t.same(cache.current(), { observedAt: '2026-11-27T03:00:00.000Z', missing: ['ConfigMap kube-system/cilium-config', 'DaemonSet kube-system/cilium'] });
  t.match(cache.status(), { state: 'current', ageSeconds: 0, missing: ['ConfigMap kube-system/cilium-config', 'DaemonSet kube-system/cilium'] });

  c.advance(60);
  cache.changed('configMap', cm({ ipam: 'kubernetes' }, '7'));
  cache.changed('daemonSet', ds('quay.io/cilium/cilium:v1.18.1@sha256:abc'));
  t.same(cache.current(), {
    ciliumConfig: { data: { ipam: 'kubernetes' }, resourceVersion: '7' },
    agent: { image: 'quay.io/cilium/cilium:v1.18.1@sha256:abc', version: '1.18.1' },
    observedAt: '2026-11-27T03:01:00.000Z',
  });
  t.match(cache.status(), { state: 'current', ageSeconds: 0, missing: [], agentVersion: '1.18.1' });
  cache.changed('configMap', null);
  t.same(cache.current()?.missing, ['ConfigMap kube-system/cilium-config'], 'a deleted ConfigMap is missing again');
});

t.test('a broken watch keeps the last view, marked stale, and its age grows until it is back', async (t) => {
  const c = clock();
  const cache = new ClusterViewCache(undefined, c.now);
  cache.listed('configMap', cm({ ipam: 'kubernetes' }));
  cache.listed('daemonSet', ds('quay.io/cilium/cilium:v1.18.1'));
  cache.watching('configMap');
  cache.watching('daemonSet');
  c.advance(10);
  cache.lost('daemonSet', 'HTTP 403: forbidden');
  c.advance(30);
  t.match(cache.current(), { stale: true, agent: { version: '1.18.1' } });
  t.match(cache.status(), { state: 'stale', ageSeconds: 30, error: 'HTTP 403: forbidden' });
  c.advance(30);
  cache.lost('daemonSet', 'HTTP 403: forbidden');
  t.match(cache.status(), { ageSeconds: 60 }, 'repeated failures do not reset the age');
  cache.listed('daemonSet', ds('quay.io/cilium/cilium:v1.18.2'));
  t.match(cache.status(), { state: 'stale' }, 'listed but not yet watching');
  cache.watching('daemonSet');
  t.match(cache.status(), { state: 'current', ageSeconds: 0, agentVersion: '1.18.2' });
  t.equal(cache.status().error, undefined);
  t.equal(cache.current()?.stale, undefined);
});
