// At debug level, every review is one log line saying who wrote what and how (the Argo CD suite
// counts Argo CD's writes by it); at info level there is none.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { defaultConfig } from '../../src/policy/config.js';
import { buildServer } from '../../src/server/app.js';
import { createMetrics } from '../../src/server/metrics.js';

function serverAt(level: string): { lines: Array<Record<string, any>>; inject: (body: unknown) => Promise<void> } {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, any>);
      done();
    },
  });
  const { app } = buildServer({ config: defaultConfig(), logger: pino({ level }, sink), metrics: createMetrics({ processMetrics: false }) });
  return {
    lines,
    inject: async (body) => {
      await app.inject({ method: 'POST', url: '/validate', payload: body as object, headers: { 'content-type': 'application/json' } });
    },
  };
}

const review = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    operation: 'UPDATE',
    namespace: 'kube-system',
    name: 'cilium-config',
    userInfo: { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: [] },
    dryRun: true,
    options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'argocd-controller' },
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'kube-proxy-replacement': 'true' } },
    oldObject: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'kube-proxy-replacement': 'true' } },
  },
};

t.test('debug: one line per review', async (t) => {
  const s = serverAt('debug');
  await s.inject(review);
  const lines = s.lines.filter((l) => l.msg === 'review');
  t.equal(lines.length, 1);
  t.same(lines[0]!.review, {
    uid: 'u-1',
    route: 'validate',
    kind: 'ConfigMap',
    namespace: 'kube-system',
    name: 'cilium-config',
    operation: 'UPDATE',
    user: 'system:serviceaccount:argocd:argocd-application-controller',
    // No client certificate is configured here: the caller is recorded as unauthenticated.
    caller: 'unauthenticated',
    dryRun: true,
    fieldManager: 'argocd-controller',
    verdict: 'allowed',
  });
});

t.test('info: none', async (t) => {
  const s = serverAt('info');
  await s.inject(review);
  t.same(s.lines.filter((l) => l.msg === 'review'), []);
});
