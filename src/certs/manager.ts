// Keeps the shared certificate Secret and the webhook configurations' caBundle in step, on every
// replica, without a leader: each write is conditional (resourceVersion, or a JSON patch with
// tests), and the loser of a race re-reads and finds nothing left to do.
import type { Logger } from 'pino';
import { type CertStore, ConflictError, describeApiError, type WebhookBundles } from './kube.js';
import { type KeyPair, generateCA, issueServing, joinBundle, parseBundle } from './pki.js';
import { ROTATED_AT, type RotationOptions, type SecretState, type Step, nextStep, parseState } from './rotation.js';

export interface ManagerEvents {
  /** A serving pair to load (first one, or a renewed one). Throwing keeps the previous one. */
  onServing(pair: KeyPair, info: { notAfter: number }): void;
  /** The signing CA's expiry, for the metric. */
  onCA?(info: { notAfter: number }): void;
  onStep?(step: Step['kind'], reason: string): void;
  onError?(err: unknown): void;
}

export interface ReconcileResult {
  steps: Array<{ kind: Step['kind']; reason: string }>;
  patched: string[];
  serving: KeyPair;
}

function stateOf(data: Record<string, string>, annotations: Record<string, string>): SecretState {
  const at = annotations[ROTATED_AT] ? Date.parse(annotations[ROTATED_AT]) : NaN;
  return { data, rotatedAt: Number.isFinite(at) ? at : undefined };
}

/** Fingerprints of the CAs that every webhook of every configuration trusts; null: none to wait for. */
export function trustedByAll(configs: WebhookBundles[]): Set<string> | null {
  const all = configs.flatMap((c) => c.webhooks);
  if (all.length === 0) return null;
  const [first, ...rest] = all.map((w) => new Set(parseBundle(w.caBundle).map((c) => c.fingerprint)));
  return new Set([...first!].filter((f) => rest.every((here) => here.has(f))));
}

function sameBundle(a: string, b: string): boolean {
  const fa = parseBundle(a).map((c) => c.fingerprint);
  const fb = parseBundle(b).map((c) => c.fingerprint);
  return fa.length === fb.length && fa.every((f, i) => f === fb[i]);
}

export class CertificateManager {
  private servingFingerprint = '';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly store: CertStore,
    private readonly options: RotationOptions,
    private readonly logger: Logger,
    private readonly events: ManagerEvents,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Runs the step a Secret needs and returns the new data and annotations. */
  private async apply(
    step: Step,
    data: Record<string, string>,
    now: number,
    configs: WebhookBundles[],
  ): Promise<{ data: Record<string, string>; annotations: Record<string, string> }> {
    const p = parseState(data);
    const o = this.options;
    const serving = async (ca: KeyPair): Promise<KeyPair> =>
      issueServing({ ca, dnsNames: o.dnsNames, ips: o.ips, validityMs: o.certValidityMs, now });
    switch (step.kind) {
      case 'bootstrap': {
        const ca = await generateCA({ validityMs: o.caValidityMs, now });
        const leaf = await serving(ca);
        // Keep the CAs the Secret and the webhooks still trust, so a replica serving an older
        // certificate keeps working until it loads the new one; prune retires them later.
        const seen = new Set<string>();
        const previous = [...p.bundle, ...configs.flatMap((c) => c.webhooks.flatMap((w) => parseBundle(w.caBundle)))].filter(
          (c) => c.notAfter > now && c.isCA && !seen.has(c.fingerprint) && seen.add(c.fingerprint),
        );
        const bundle = joinBundle([...parseBundle(ca.cert), ...previous]);
        return {
          data: { 'ca.crt': bundle, 'signing-ca.crt': ca.cert, 'signing-ca.key': ca.key, 'tls.crt': leaf.cert, 'tls.key': leaf.key },
          annotations: { [ROTATED_AT]: new Date(now).toISOString() },
        };
      }
      case 'rotate-ca': {
        const ca = await generateCA({ validityMs: o.caValidityMs, now });
        const bundle = joinBundle([...parseBundle(ca.cert), ...p.bundle.filter((c) => c.notAfter > now)]);
        return {
          data: { ...data, 'ca.crt': bundle, 'signing-ca.crt': ca.cert, 'signing-ca.key': ca.key },
          annotations: { [ROTATED_AT]: new Date(now).toISOString() },
        };
      }
      case 'issue-serving': {
        const leaf = await serving({ cert: data['signing-ca.crt']!, key: data['signing-ca.key']! });
        return { data: { ...data, 'tls.crt': leaf.cert, 'tls.key': leaf.key }, annotations: {} };
      }
      case 'prune':
        return { data: { ...data, 'ca.crt': joinBundle(step.keep) }, annotations: {} };
      default:
        return { data, annotations: {} };
    }
  }

  /** One pass: bring the Secret up to date, inject its CA bundle, load its serving pair. */
  async reconcile(): Promise<ReconcileResult> {
    const steps: ReconcileResult['steps'] = [];
    const patched: string[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        const now = this.clock();
        const secret = await this.store.getSecret();
        let data = secret?.data ?? {};
        let annotations = secret?.annotations ?? {};
        const configs = await this.store.readWebhooks();
        let step = nextStep(stateOf(data, annotations), trustedByAll(configs), now, this.options);
        if (step.kind !== 'none' && step.kind !== 'wait') {
          const next = await this.apply(step, data, now, configs);
          if (secret) await this.store.updateSecret(next.data, next.annotations, secret.resourceVersion);
          else await this.store.createSecret(next.data, next.annotations);
          steps.push({ kind: step.kind, reason: step.reason });
          this.events.onStep?.(step.kind, step.reason);
          this.logger.info({ step: step.kind, reason: step.reason }, 'certificate Secret updated');
          data = next.data;
          annotations = { ...annotations, ...next.annotations };
          // A CA rotation is followed by nothing else in this pass: the webhooks must trust it first.
          if (step.kind !== 'rotate-ca') {
            step = nextStep(stateOf(data, annotations), trustedByAll(configs), now, this.options);
            if (step.kind !== 'none' && step.kind !== 'wait') continue; // another step: start over from a fresh read
          }
        }
        for (const config of configs) {
          if (config.webhooks.every((w) => sameBundle(w.caBundle, data['ca.crt']!))) continue;
          await this.store.setCaBundle(config, data['ca.crt']!);
          patched.push(`${config.ref.kind}/${config.ref.name}`);
          this.logger.info({ configuration: config.ref.name, kind: config.ref.kind }, 'caBundle injected');
        }
        const pair = { cert: data['tls.crt']!, key: data['tls.key']! };
        this.load(pair, data);
        return { steps, patched, serving: pair };
      } catch (err) {
        if (err instanceof ConflictError) {
          this.logger.debug({ reason: err.message }, 'lost a race with another replica; reading again');
          continue;
        }
        throw err;
      }
    }
    throw new Error('the certificate Secret kept changing under us; giving up this pass');
  }

  private load(pair: KeyPair, data: Record<string, string>): void {
    const p = parseState(data);
    if (p.signing) this.events.onCA?.({ notAfter: p.signing.notAfter });
    if (!p.serving || p.serving.fingerprint === this.servingFingerprint) return;
    this.events.onServing(pair, { notAfter: p.serving.notAfter });
    this.servingFingerprint = p.serving.fingerprint;
  }

  /** The first pass, retried with backoff until it works or `deadlineMs` passes. */
  async initial(deadlineMs: number): Promise<ReconcileResult> {
    const until = Date.now() + deadlineMs;
    let delay = 500;
    for (;;) {
      try {
        return await this.reconcile();
      } catch (err) {
        this.events.onError?.(err);
        if (Date.now() + delay > until) throw err;
        this.logger.warn({ err: describeApiError(err), retryInMs: delay }, 'certificates not ready yet');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15_000);
      }
    }
  }

  /** Re-checks every `intervalMs`; errors are logged and counted, the current certificate stays. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.reconcile()
        .catch((err: unknown) => {
          this.events.onError?.(err);
          this.logger.warn({ err: describeApiError(err) }, 'certificate check failed; keeping the current certificate');
        })
        .finally(() => {
          this.running = undefined;
        });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
