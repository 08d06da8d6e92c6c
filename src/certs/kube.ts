// The Kubernetes side of certificate management, through @kubernetes/client-node: one Secret and
// the caBundle of named webhook configurations. It uses exactly these verbs, which the chart's RBAC
// grants by resource name: secrets get/update, {validating,mutating}webhookconfigurations get/patch.
// client-node is imported lazily: it costs about half a second of start-up, and only the
// selfSigned mode and the uninstall/selftest commands need it.
import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';

export type WebhookKind = 'validating' | 'mutating';

export interface WebhookRef {
  kind: WebhookKind;
  name: string;
}

export interface StoredSecret {
  data: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion: string;
}

export interface WebhookBundles {
  ref: WebhookRef;
  /** One entry per webhook in the configuration, in order. */
  webhooks: Array<{ name: string; caBundle: string }>;
}

/** What the certificate manager needs from the API; the real one is KubeStore. */
export interface CertStore {
  getSecret(): Promise<StoredSecret | null>;
  /** Replaces data and annotations; throws a ConflictError when resourceVersion is stale. */
  updateSecret(data: Record<string, string>, annotations: Record<string, string>, resourceVersion: string): Promise<void>;
  /** Creates the Secret when the chart did not; throws a ConflictError when another replica did. */
  createSecret(data: Record<string, string>, annotations: Record<string, string>): Promise<void>;
  /** The named configurations that exist; missing ones are left out. */
  readWebhooks(): Promise<WebhookBundles[]>;
  /** Sets caBundle on every webhook of one configuration, guarded by each webhook's name. */
  setCaBundle(current: WebhookBundles, pem: string): Promise<void>;
}

export class ConflictError extends Error {}

export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A short, single-line description of an API error (client-node's messages carry whole bodies). */
export function describeApiError(err: unknown): string {
  const status = statusOf(err);
  const body = (err as { body?: unknown } | null)?.body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      message = body.slice(0, 300);
    }
  } else if (body && typeof body === 'object') {
    message = (body as { message?: string }).message;
  }
  if (status !== undefined) return `HTTP ${status}${message ? `: ${message}` : ''}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/**
 * Options that give each call its own abort signal (client-node's middleware, as setHeaderOptions
 * builds it): a hung API server, or a connection left half-open by a node that died, fails the call
 * after `ms` instead of pinning it, and whatever waits on it, forever.
 */
export function timeoutOptions(client: KubeClient, ms: number): k8s.ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: k8s.RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(ms));
          return new client.Observable(Promise.resolve(ctx));
        },
        post: (res: k8s.ResponseContext) => new client.Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** Per-call bound of the certificate work's API calls (a check runs every minute by default). */
export const KUBE_CALL_TIMEOUT_MS = 10_000;

export async function loadKubeConfig(kubeconfig?: string): Promise<k8s.KubeConfig> {
  const { KubeConfig } = await import('../kube/client.js');
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

function encode(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(v, 'utf8').toString('base64');
  return out;
}

export class KubeStore implements CertStore {
  /** The Secret as last read, so an update keeps what others put on it without reading it again. */
  private lastRead: k8s.V1Secret | undefined;

  private constructor(
    private readonly core: k8s.CoreV1Api,
    private readonly admission: k8s.AdmissionregistrationV1Api,
    private readonly secret: { namespace: string; name: string },
    private readonly refs: WebhookRef[],
    private readonly options: k8s.ConfigurationOptions,
  ) {}

  static async create(
    kc: k8s.KubeConfig,
    secret: { namespace: string; name: string },
    refs: WebhookRef[],
    timeoutMs = KUBE_CALL_TIMEOUT_MS,
  ): Promise<KubeStore> {
    const client = await import('../kube/client.js');
    return new KubeStore(kc.makeApiClient(client.CoreV1Api), kc.makeApiClient(client.AdmissionregistrationV1Api), secret, refs, timeoutOptions(client, timeoutMs));
  }

  async getSecret(): Promise<StoredSecret | null> {
    try {
      const s = await this.core.readNamespacedSecret(this.secret, this.options);
      this.lastRead = s;
      return {
        data: decode(s.data),
        annotations: { ...(s.metadata?.annotations ?? {}) },
        resourceVersion: s.metadata?.resourceVersion ?? '',
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async updateSecret(data: Record<string, string>, annotations: Record<string, string>, resourceVersion: string): Promise<void> {
    const current = this.lastRead;
    if (current?.metadata?.resourceVersion !== resourceVersion) throw new ConflictError('the Secret changed since it was read');
    try {
      // Keep what Helm and others put on it (labels, other annotations, type); replace only our data.
      // The resourceVersion in the body makes the API server refuse the write if it changed since.
      await this.core.replaceNamespacedSecret({
        ...this.secret,
        body: {
          ...current,
          metadata: { ...current.metadata, annotations: { ...(current.metadata?.annotations ?? {}), ...annotations } },
          data: encode(data),
        },
      }, this.options);
    } catch (err) {
      if (statusOf(err) === 409) throw new ConflictError('the Secret changed meanwhile');
      throw err;
    }
  }

  async createSecret(data: Record<string, string>, annotations: Record<string, string>): Promise<void> {
    try {
      await this.core.createNamespacedSecret({
        namespace: this.secret.namespace,
        body: { metadata: { name: this.secret.name, namespace: this.secret.namespace, annotations }, type: 'Opaque', data: encode(data) },
      }, this.options);
    } catch (err) {
      if (statusOf(err) === 409) throw new ConflictError('another replica created the Secret');
      throw err;
    }
  }

  async readWebhooks(): Promise<WebhookBundles[]> {
    const out: WebhookBundles[] = [];
    for (const ref of this.refs) {
      try {
        const config =
          ref.kind === 'validating'
            ? await this.admission.readValidatingWebhookConfiguration({ name: ref.name }, this.options)
            : await this.admission.readMutatingWebhookConfiguration({ name: ref.name }, this.options);
        out.push({
          ref,
          webhooks: (config.webhooks ?? []).map((w) => ({
            name: w.name,
            caBundle: w.clientConfig.caBundle ? Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8') : '',
          })),
        });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
    return out;
  }

  async setCaBundle(current: WebhookBundles, pem: string): Promise<void> {
    const value = Buffer.from(pem, 'utf8').toString('base64');
    // A JSON patch with a test per webhook: if someone reordered or replaced the webhooks since we
    // read them, the patch fails as a whole instead of writing into the wrong entry.
    const body = current.webhooks.flatMap((w, i) => [
      { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
      { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value },
    ]);
    if (body.length === 0) return;
    try {
      if (current.ref.kind === 'validating') await this.admission.patchValidatingWebhookConfiguration({ name: current.ref.name, body }, this.options);
      else await this.admission.patchMutatingWebhookConfiguration({ name: current.ref.name, body }, this.options);
    } catch (err) {
      const status = statusOf(err);
      if (status === 409 || status === 422) throw new ConflictError(`${current.ref.kind} webhook configuration ${current.ref.name} changed meanwhile`);
      throw err;
    }
  }
}
