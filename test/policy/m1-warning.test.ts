// M1's warning says what the running Argo CD does with the added exclusion. The Argo CD suite
// (test/argocd) showed that v3.6.1's application controller picks up a changed argocd-cm at once
// ("invalidating live state cache", then a cluster cache without CiliumIdentity): no restart is
// needed, and the warning must not send anyone to restart it.
import t from 'tap';
import { defaultConfig } from '../../src/policy/config.js';
import { mutate } from '../../src/policy/engine.js';

const cm = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/part-of': 'argocd' } },
  data: { 'resource.exclusions': '- apiGroups: [kyverno.io]\n  kinds: [PolicyReport]\n' },
};

t.test('the M1 warning: applied without a restart', async (t) => {
  const d = mutate(
    { operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, namespace: 'argocd', name: 'argocd-cm', object: cm, oldObject: null, userInfo: { groups: [] }, dryRun: false },
    defaultConfig(),
  );
  t.ok(d.patched, 'patched');
  t.equal(d.warnings.length, 1);
  t.match(d.warnings[0], /^\[cilium-guard M1\] added .*CiliumIdentity.* to resource\.exclusions; Argo CD's application controller applies it without a restart/);
  t.notMatch(d.warnings[0], /restart Argo CD/);
});
