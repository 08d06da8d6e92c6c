// Kubernetes Events (events.k8s.io/v1) on the object a write was denied for, so `kubectl describe`
// and event exporters show who was stopped and why. The admission answer never waits for them:
// record() only enqueues, and everything after it is bounded.
//   - never for dryRun requests, and only for deny verdicts;
//   - deduplicated: the same object, rule and message within `dedupWindowMs` is one Event whose
//     series.count is patched (at most once per `flushIntervalMs`), as client-go's correlator does;
//   - rate-limited: a token bucket (`burst`, `perSecond`) across all Events;
//   - bounded: at most `queueSize` waiting and `maxInFlight` calls in flight; a call that takes longer
//     than `timeoutMs` is given up on (its slot is freed when it settles); overflow is dropped.
// Every outcome is counted (cilium_guard_events_total{result}).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { seeDocs } from '../policy/engine.js';
import type { Finding, PolicyRequest } from '../policy/types.js';

/** What the recorder needs from the API; the real one is KubeEventSink. */
export interface EventSink {
  create(namespace: string, event: KubeEvent): Promise<void>;
  /** Sets series (count, lastObservedTime) on an Event created earlier. */
  updateSeries(namespace: string, name: string, series: { count: number; lastObservedTime: string }): Promise<void>;
}

export interface KubeEvent {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  type: 'Warning';
  regarding: { apiVersion: string; kind: string; namespace?: string; name: string; uid?: string };
  note: string;
}

export type EventResult = 'sent' | 'deduplicated' | 'series_updated' | 'rate_limited' | 'dropped' | 'failed' | 'timed_out';

export interface EventRecorderOptions {
  /** Defaults: burst 25, 5 per second, 10 minutes, 30 s, 1000 queued, 4 in flight, 5 s. */
  burst?: number;
  perSecond?: number;
  dedupWindowMs?: number;
  flushIntervalMs?: number;
  queueSize?: number;
  maxInFlight?: number;
  timeoutMs?: number;
  /** reportingInstance: the pod name. */
  instance?: string;
  now?: () => number;
  onResult?: (result: EventResult) => void;
}

export const EVENT_REASON = 'PolicyViolation';
export const EVENT_ACTION = 'Denied';
export const REPORTING_CONTROLLER = 'cilium-guard.io/admission-webhook';
export const RULE_LABEL = 'cilium-guard.io/rule';
const NOTE_MAX_BYTES = 1024;
const NAME_MAX = 253;

interface Correlated {
  /** Set once the Event exists; series updates need it. */
  name?: string;
  namespace: string;
  count: number;
  /** count already written to the API. */
  written: number;
  firstMs: number;
  lastMs: number;
}

type Task = () => Promise<void>;

/** The Go time.RFC3339Micro form that events.k8s.io/v1 MicroTime fields require. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function clipBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = text;
  while (Buffer.byteLength(`${out}…`) > max) out = out.slice(0, Math.max(0, out.length - Math.ceil((Buffer.byteLength(out) - max) / 4) - 1));
  return `${out}…`;
}

/** The denied object, as an Event's `regarding` reference. */
export function regardingOf(req: PolicyRequest): KubeEvent['regarding'] | null {
  const meta = ((req.object ?? req.oldObject)?.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  const oldMeta = (req.oldObject?.metadata ?? {}) as { uid?: unknown };
  const name = req.name || (typeof meta.name === 'string' ? meta.name : '');
  if (!name) return null; // generateName on CREATE: there is no name to attach the Event to
  const namespace = req.namespace || (typeof meta.namespace === 'string' ? meta.namespace : '');
  const { group, version, kind } = req.kind;
  return {
    apiVersion: group ? `${group}/${version}` : version,
    kind,
    ...(namespace ? { namespace } : {}),
    name,
    // Only an object that already exists has a uid to point at.
    ...(req.operation !== 'CREATE' && typeof oldMeta.uid === 'string' ? { uid: oldMeta.uid } : {}),
  };
}

export class EventRecorder {
  private readonly o: Required<Omit<EventRecorderOptions, 'onResult'>> & Pick<EventRecorderOptions, 'onResult'>;
  private tokens: number;
  private refilledAt: number;
  private readonly seen = new Map<string, Correlated>();
  private readonly queue: Task[] = [];
  private inFlight = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly sink: EventSink,
    private readonly logger: Logger,
    options: EventRecorderOptions = {},
  ) {
    this.o = {
      burst: options.burst ?? 25,
      perSecond: options.perSecond ?? 5,
      dedupWindowMs: options.dedupWindowMs ?? 10 * 60_000,
      flushIntervalMs: options.flushIntervalMs ?? 30_000,
      queueSize: options.queueSize ?? 1000,
      maxInFlight: options.maxInFlight ?? 4,
      timeoutMs: options.timeoutMs ?? 5000,
      instance: (options.instance ?? 'cilium-guard').slice(0, 128),
      now: options.now ?? Date.now,
      onResult: options.onResult,
    };
    this.tokens = this.o.burst;
    this.refilledAt = this.o.now();
    this.flushTimer = setInterval(() => this.flush(), this.o.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Queues one Event per denying finding. Synchronous, cheap, never throws. */
  denied(req: PolicyRequest, findings: Finding[]): void {
    if (this.stopped || req.dryRun) return;
    try {
      const regarding = regardingOf(req);
      if (!regarding || !regarding.namespace) return;
      for (const f of findings) if (f.verdict === 'deny') this.record(regarding, f, req.operation);
    } catch (err) {
      this.logger.warn({ err }, 'could not queue an Event');
    }
  }

  /** Waits for queued work to finish (for tests and shutdown), at most `ms`. */
  async drain(ms = 5000): Promise<void> {
    const until = Date.now() + ms;
    while ((this.queue.length > 0 || this.inFlight > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /** Writes pending series counts now (the periodic flush does this on its own). */
  flush(): void {
    const now = this.o.now();
    for (const [key, c] of this.seen) {
      if (c.name && c.count > c.written) {
        const { name, namespace, count } = c;
        c.written = count;
        this.enqueue(() => this.sink.updateSeries(namespace, name, { count, lastObservedTime: microTime(c.lastMs) }), 'series_updated');
      }
      if (now - c.lastMs > this.o.dedupWindowMs) this.seen.delete(key);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  private record(regarding: KubeEvent['regarding'], f: Finding, operation: string): void {
    // The documentation link survives clipping: the message is shortened, never the URL.
    const see = seeDocs(f);
    const note = clipBytes(`cilium-guard denied ${operation}: [${f.rule}] ${f.message}`, NOTE_MAX_BYTES - Buffer.byteLength(see)) + see;
    const key = JSON.stringify([regarding.namespace, regarding.apiVersion, regarding.kind, regarding.name, f.rule, note]);
    const now = this.o.now();
    const prior = this.seen.get(key);
    if (prior && now - prior.firstMs <= this.o.dedupWindowMs) {
      prior.count++;
      prior.lastMs = now;
      this.o.onResult?.('deduplicated');
      return;
    }
    if (!this.take(now)) {
      this.o.onResult?.('rate_limited');
      return;
    }
    const namespace = regarding.namespace!;
    const name = `${regarding.name}.${randomBytes(8).toString('hex')}`.slice(-NAME_MAX).replace(/^[^a-z0-9]+/, '');
    const correlated: Correlated = { namespace, count: 1, written: 1, firstMs: now, lastMs: now };
    this.seen.set(key, correlated);
    const event: KubeEvent = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace, labels: { [RULE_LABEL]: f.rule.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63) } },
      eventTime: microTime(now),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.o.instance,
      action: EVENT_ACTION,
      reason: EVENT_REASON,
      type: 'Warning',
      regarding,
      note,
    };
    this.enqueue(async () => {
      await this.sink.create(namespace, event);
      correlated.name = name;
    }, 'sent');
  }

  private take(now: number): boolean {
    this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.o.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private enqueue(call: () => Promise<void>, success: EventResult): void {
    if (this.queue.length >= this.o.queueSize) {
      this.o.onResult?.('dropped');
      return;
    }
    this.queue.push(() => this.run(call, success));
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.inFlight++;
      void task().finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Resolves when the call settles; reports a timeout as soon as it happens. */
  private async run(call: () => Promise<void>, success: EventResult): Promise<void> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.o.onResult?.('timed_out');
      this.logger.warn({ timeoutMs: this.o.timeoutMs }, 'the API server did not answer an Event write in time');
    }, this.o.timeoutMs);
    timer.unref();
    try {
      await call();
      if (!timedOut) this.o.onResult?.(success);
    } catch (err) {
      if (!timedOut) {
        this.o.onResult?.('failed');
        this.logger.warn({ err: (err as Error).message?.split('\n')[0] ?? String(err) }, 'could not write an Event');
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
