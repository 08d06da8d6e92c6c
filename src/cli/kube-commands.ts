// Commands that talk to the cluster: `uninstall` (the chart's pre-delete hook) and `selftest`
// (the chart's `helm test`). Wiring only; the API calls go through @kubernetes/client-node.
import { describeApiError, loadKubeConfig, statusOf } from '../certs/kube.js';

export interface CommandOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Deletes the named webhook configurations; a missing one is fine. Returns the exit code. */
export async function uninstallWebhooks(
  names: { validating: string[]; mutating: string[] },
  io: CommandOutput,
  kubeconfig?: string,
): Promise<number> {
  const k8s = await import('../kube/client.js');
  const api = (await loadKubeConfig(kubeconfig)).makeApiClient(k8s.AdmissionregistrationV1Api);
  let failed = 0;
  const remove = async (kind: string, name: string, del: () => Promise<unknown>): Promise<void> => {
    try {
      await del();
      io.out(`deleted ${kind}webhookconfiguration ${name}`);
    } catch (err) {
      if (statusOf(err) === 404) io.out(`${kind}webhookconfiguration ${name} was already gone`);
      else {
        failed++;
        io.err(`could not delete ${kind}webhookconfiguration ${name}: ${describeApiError(err)}`);
      }
    }
  };
  for (const name of names.validating) await remove('validating', name, () => api.deleteValidatingWebhookConfiguration({ name }));
  for (const name of names.mutating) await remove('mutating', name, () => api.deleteMutatingWebhookConfiguration({ name }));
  return failed === 0 ? 0 : 1;
}

/** A Cilium Application that passes every rule; `kubeProxyReplacement` switches R4 on or off. */
export function selftestApplication(namespace: string, name: string, kubeProxyReplacement: boolean): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'cilium-guard-selftest' } },
    spec: {
      project: 'default',
      // Not this cluster's address: the running Cilium's version (U1) must not decide whether the
      // chart's `helm test` passes; every other rule still applies, since any destination is guarded.
      destination: { server: 'https://cilium-guard-selftest.invalid', namespace: 'kube-system' },
      source: {
        repoURL: 'https://helm.cilium.io/',
        chart: 'cilium',
        targetRevision: '1.18.2',
        helm: {
          releaseName: 'cilium',
          // The Talos values (T1, T2 and R4.endpoint would refuse the chart defaults).
          values: [
            `kubeProxyReplacement: ${kubeProxyReplacement}`,
            'k8sServiceHost: localhost',
            'k8sServicePort: 7445',
            'ipam: {mode: kubernetes}',
            'securityContext:',
            '  capabilities:',
            '    ciliumAgent: [CHOWN, KILL, NET_ADMIN, NET_RAW, IPC_LOCK, SYS_ADMIN, SYS_RESOURCE, DAC_OVERRIDE, FOWNER, SETGID, SETUID]',
            '    cleanCiliumState: [NET_ADMIN, SYS_ADMIN, SYS_RESOURCE]',
            'cgroup:',
            '  autoMount: {enabled: false}',
            '  hostRoot: /sys/fs/cgroup',
            '',
          ].join('\n'),
        },
      },
      syncPolicy: { syncOptions: ['ServerSideApply=true'] },
    },
  };
}

/**
 * Sends, with dryRun=All, an Application that only the webhook can see is wrong (kube-proxy
 * replacement off inside the Helm values: the ValidatingAdmissionPolicy cannot read those) and
 * expects the webhook's denial; then a good one, expected to be admitted. Nothing is stored.
 */
export async function selftest(options: { namespace: string; webhook: string }, io: CommandOutput, kubeconfig?: string): Promise<number> {
  const k8s = await import('../kube/client.js');
  const api = (await loadKubeConfig(kubeconfig)).makeApiClient(k8s.CustomObjectsApi);
  const create = (body: Record<string, unknown>): Promise<unknown> =>
    api.createNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: options.namespace, plural: 'applications', body, dryRun: 'All' });
  let failures = 0;
  const expected = `admission webhook "${options.webhook}" denied the request`;
  try {
    await create(selftestApplication(options.namespace, 'cilium-guard-selftest-bad', false));
    failures++;
    io.err(`FAIL: an Application with kubeProxyReplacement: false was admitted; is the ${options.webhook} webhook registered?`);
  } catch (err) {
    const text = describeApiError(err);
    if (text.includes(expected) && text.includes('[R4]')) io.out(`ok: the bad Application was denied: ${text}`);
    else {
      failures++;
      io.err(`FAIL: expected a denial from ${options.webhook} naming R4, got: ${text}`);
    }
  }
  try {
    await create(selftestApplication(options.namespace, 'cilium-guard-selftest-good', true));
    io.out('ok: the good Application was admitted (dry run)');
  } catch (err) {
    failures++;
    io.err(`FAIL: the good Application was refused: ${describeApiError(err)}`);
  }
  return failures === 0 ? 0 : 1;
}
