// The EventRecorder's sink through @kubernetes/client-node: events.k8s.io/v1 create and patch,
// each call aborted after `timeoutMs` so that a hung API server cannot pin a slot forever.
// RBAC: events.k8s.io events create, patch (the chart grants exactly these).
import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { timeoutOptions } from '../certs/kube.js';
import type { EventSink, KubeEvent } from './events.js';

export class KubeEventSink implements EventSink {
  private readonly options: k8s.ConfigurationOptions;

  private constructor(
    private readonly api: k8s.EventsV1Api,
    client: KubeClient,
    timeoutMs: number,
  ) {
    this.options = timeoutOptions(client, timeoutMs);
  }

  static async create(kc: k8s.KubeConfig, timeoutMs: number): Promise<KubeEventSink> {
    const client = await import('../kube/client.js');
    return new KubeEventSink(kc.makeApiClient(client.EventsV1Api), client, timeoutMs);
  }

  async create(namespace: string, event: KubeEvent): Promise<void> {
    await this.api.createNamespacedEvent({ namespace, body: event as unknown as k8s.EventsV1Event }, this.options);
  }

  async updateSeries(namespace: string, name: string, series: { count: number; lastObservedTime: string }): Promise<void> {
    await this.api.patchNamespacedEvent(
      { namespace, name, body: [{ op: 'add', path: '/series', value: series }] },
      this.options,
    );
  }
}
