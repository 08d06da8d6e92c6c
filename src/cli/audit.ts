// `cilium-guard audit`: the webhook's policy over what a live cluster already holds. It lists, in
// pages, Argo CD Applications and ApplicationSets, and the ConfigMaps named cilium-config and
// argocd-cm, and judges each as `check` judges a file (so a Cilium config outside kube-system, or an
// argocd-cm without the CiliumIdentity exclusion, counts too). Read-only: list verbs only.
import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { describeApiError, statusOf } from '../certs/kube.js';
import type { PolicyConfig } from '../policy/config.js';
import { isObject } from '../policy/json.js';
import type { JsonObject } from '../policy/types.js';
import { type ClusterView, viewOf } from '../policy/cluster-view.js';
import { checkObject, describeView, viewSource } from './check.js';
import { summarize, type ObjectReport, type Report } from './report.js';

export interface AuditOptions {
  /** Only this namespace; every namespace when absent. */
  namespace?: string;
  /** Objects per list call (the API server's `limit`). */
  pageSize?: number;
  /** Told after every page and at the end; for a progress line on stderr. */
  progress?: (message: string) => void;
}

interface Target {
  what: string;
  list(cont: string | undefined, limit: number): Promise<{ items: unknown[]; cont: string | undefined }>;
  /** Fills in what list items leave out (core list items carry no apiVersion/kind). */
  complete(item: JsonObject): JsonObject;
}

function continueOf(list: unknown): string | undefined {
  const meta = isObject(list) && isObject(list.metadata) ? list.metadata : {};
  const cont = meta.continue ?? meta._continue;
  return typeof cont === 'string' && cont !== '' ? cont : undefined;
}

function targets(client: KubeClient, kc: k8s.KubeConfig, namespace: string | undefined): Target[] {
  const custom = kc.makeApiClient(client.CustomObjectsApi);
  const core = kc.makeApiClient(client.CoreV1Api);
  const argo = (plural: string, what: string): Target => ({
    what,
    async list(cont, limit) {
      const base = { group: 'argoproj.io', version: 'v1alpha1', plural, limit, ...(cont ? { _continue: cont } : {}) };
      const page: unknown = namespace
        ? await custom.listNamespacedCustomObject({ ...base, namespace })
        : await custom.listClusterCustomObject(base);
      return { items: isObject(page) && Array.isArray(page.items) ? page.items : [], cont: continueOf(page) };
    },
    complete: (item) => item,
  });
  const configMaps = (name: string): Target => ({
    what: `ConfigMaps named ${name}`,
    async list(cont, limit) {
      const base = { fieldSelector: `metadata.name=${name}`, limit, ...(cont ? { _continue: cont } : {}) };
      const page = namespace ? await core.listNamespacedConfigMap({ ...base, namespace }) : await core.listConfigMapForAllNamespaces(base);
      // Plain JSON, as the webhook sees it (client-node's models hold Dates).
      return { items: JSON.parse(JSON.stringify(page.items)) as unknown[], cont: continueOf(page) };
    },
    complete: (item) => ({ ...item, apiVersion: 'v1', kind: 'ConfigMap' }),
  });
  return [argo('applications', 'Applications'), argo('applicationsets', 'ApplicationSets'), configMaps('cilium-config'), configMaps('argocd-cm')];
}

/**
 * What runs, read as `serve` reads it: cilium-config and the cilium DaemonSet, each listed by name
 * in the policy's Cilium namespace. An error text when they cannot be read (then the live rules
 * judge without it, as the webhook does before its view is filled).
 */
export async function readLiveView(client: KubeClient, kc: k8s.KubeConfig, config: PolicyConfig): Promise<ClusterView | string> {
  const source = viewSource(config);
  const core = kc.makeApiClient(client.CoreV1Api);
  const apps = kc.makeApiClient(client.AppsV1Api);
  const plain = (items: unknown[]): JsonObject | null => {
    const first = (JSON.parse(JSON.stringify(items)) as unknown[]).find(isObject);
    return first ?? null;
  };
  try {
    const [configMaps, daemonSets] = await Promise.all([
      core.listNamespacedConfigMap({ namespace: source.namespace, fieldSelector: `metadata.name=${source.configMapName}` }),
      apps.listNamespacedDaemonSet({ namespace: source.namespace, fieldSelector: `metadata.name=${source.daemonSetName}` }),
    ]);
    return viewOf({ configMap: plain(configMaps.items), daemonSet: plain(daemonSets.items) }, source, { observedAt: new Date().toISOString() });
  } catch (err) {
    return `cannot read what runs (ConfigMap and DaemonSet in ${source.namespace}): ${describeApiError(err)}`;
  }
}

export async function auditCluster(kc: k8s.KubeConfig, config: PolicyConfig, options: AuditOptions = {}): Promise<Report> {
  const client = await import('../kube/client.js');
  const limit = options.pageSize ?? 250;
  const cluster = kc.getCurrentCluster();
  const source = `cluster/${kc.getCurrentContext() || 'default'}`;
  const objects: ObjectReport[] = [];
  const notes: string[] = [];
  const errors: Report['errors'] = [];
  const scope = options.namespace ? `in namespace ${options.namespace}` : 'in all namespaces';
  const live = await readLiveView(client, kc, config);
  const view: ClusterView = typeof live === 'string' ? { unavailable: live } : live;
  notes.push(typeof live === 'string' ? live : describeView(live, source));
  for (const target of targets(client, kc, options.namespace)) {
    let cont: string | undefined;
    let listed = 0;
    try {
      do {
        const page = await target.list(cont, limit);
        for (const raw of page.items) {
          if (!isObject(raw)) continue;
          const item = target.complete(raw);
          const result = checkObject(item, source, config, view);
          if (typeof result === 'string') errors.push({ source: `${source} ${target.what}`, message: result });
          else objects.push(result);
        }
        listed += page.items.length;
        cont = page.cont;
        options.progress?.(`${target.what}: ${listed} listed${cont ? ', more to come' : ''}`);
      } while (cont);
    } catch (err) {
      if (statusOf(err) === 404 && target.what.startsWith('Application')) {
        notes.push(`${target.what}: argoproj.io/v1alpha1 is not served by this cluster (Argo CD's CRDs are not installed)`);
      } else {
        errors.push({ source: `${source} ${target.what}`, message: `cannot list ${target.what} ${scope}: ${describeApiError(err)}` });
      }
    }
  }
  options.progress?.(`checked ${objects.length} object(s)`);
  return summarize('audit', {
    inputs: [`${source}${cluster ? ` (${cluster.server})` : ''}${options.namespace ? ` namespace ${options.namespace}` : ''}`],
    objects,
    notes,
    errors,
  });
}
