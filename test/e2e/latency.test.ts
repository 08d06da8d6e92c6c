// What cilium-guard adds to a write, measured through the real API server: the same Application
// created in a namespace the webhook guards and in one it does not (the chart's namespaceSelector),
// alternating so that drift in the machine's load hits both sides alike. The numbers are written to
// a report that scripts/e2e.sh prints after the suite; the assertions only check that the
// measurement is what it claims to be (the guarded writes reached cilium-guard, the others did not).
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { LATENCY_REPORT } from './report.js';
import { application, startCluster } from './harness.js';

const c = await startCluster({ set: { 'webhooks.applications.namespaces': ['argocd'] } });
t.teardown(() => c.stop());
await c.kubectl(['create', 'namespace', 'unguarded'], undefined, c.cp.kubeconfig);
const WARMUP = 20;
const N = 200;

async function timedCreate(namespace: string, name: string): Promise<number> {
  const body = application(name, (a) => delete a.metadata.finalizers, namespace);
  const start = performance.now();
  await c.custom.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications', body });
  return performance.now() - start;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

t.test('the latency cilium-guard adds to a write through kube-apiserver', async (t) => {
  const guarded: number[] = [];
  const plain: number[] = [];
  const callsBefore = await c.guard.calls();
  for (let i = 0; i < WARMUP + N; i++) {
    const a = await timedCreate('argocd', `lat-${i}`);
    const b = await timedCreate('unguarded', `lat-${i}`);
    if (i >= WARMUP) {
      guarded.push(a);
      plain.push(b);
    }
  }
  t.equal((await c.guard.calls()) - callsBefore, WARMUP + N, 'every guarded create, and no other, reached cilium-guard');

  const row = (label: string, xs: number[]) =>
    `  ${label.padEnd(28)} p50 ${quantile(xs, 0.5).toFixed(2).padStart(7)} ms   p90 ${quantile(xs, 0.9).toFixed(2).padStart(7)} ms   p99 ${quantile(xs, 0.99).toFixed(2).padStart(7)} ms`;
  const added = guarded.map((g, i) => g - plain[i]!);
  const report = [
    `webhook latency through kube-apiserver (${N} Application creates each, client-node, after ${WARMUP} warm-up pairs):`,
    row('with cilium-guard', guarded),
    row('without a webhook', plain),
    row('added per write (paired)', added),
  ].join('\n');
  writeFileSync(LATENCY_REPORT, report + '\n');
  process.stderr.write(`\n${report}\n`);
  for (const namespace of ['argocd', 'unguarded']) {
    const list = (await c.custom.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'applications' })) as { items: unknown[] };
    t.equal(list.items.length, WARMUP + N, `every timed create in ${namespace} was stored`);
  }
});
