// The live cluster view for `serve`: what runs (ConfigMap cilium-config and the cilium-agent image of
// DaemonSet cilium), kept current by a list+watch of each object, and read by reviews
// synchronously. A review never waits on the API server: it takes the latest snapshot, or none
// when nothing was ever read, and the live rules then only warn.
//
// The watches ask for one name each (fieldSelector=metadata.name=NAME): the chart's Role grants
// get/list/watch with resourceNames, which the API server allows for list and watch only with that
// field selector.
import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { describeApiError, timeoutOptions } from '../certs/kube.js';
import {
  type ClusterView,
  type ClusterViewSource,
  DEFAULT_VIEW_SOURCE,
  describeConfigMap,
  describeDaemonSet,
  viewOf,
} from '../policy/cluster-view.js';
import { isObject } from '../policy/json.js';
import type { JsonObject } from '../policy/types.js';

export type ViewObject = 'configMap' | 'daemonSet';
const OBJECTS: ViewObject[] = ['configMap', 'daemonSet'];

/**
 * - `pending`: not listed yet (start-up, or the API server has not answered yet);
 * - `current`: both objects listed and their watches open, so every change arrives as it happens;
 * - `stale`: a watch broke after the view was read: the last view is used until it is back.
 */
export type ViewState = 'pending' | 'current' | 'stale';

const PENDING: ClusterView = Object.freeze({ unavailable: 'the cluster view has not been read from the API server yet' });

export interface ClusterViewStatus {
  state: ViewState;
  /** Seconds since the view was last known to be current: 0 while it is; from start-up while pending. */
  ageSeconds: number;
  /** When the view was last confirmed by a list or an event (ISO 8601); absent while pending. */
  observedAt?: string;
  /** The objects that do not exist (Cilium not installed yet), as `Kind namespace/name`. */
  missing: string[];
  /** The running agent's version, when its image tag says it. */
  agentVersion?: string;
  /** The resourceVersion of the cilium-config in the view: which edit of it the rules see. */
  ciliumConfigResourceVersion?: string;
  /** The last error of a watch that is not current. */
  error?: string;
}

interface Track {
  object: JsonObject | null;
  /** Listed at least once. */
  listed: boolean;
  /** Its list succeeded and its watch is open. */
  current: boolean;
  /** When it stopped being current (or the start, before it ever was). */
  since: number;
  confirmedAt: number;
  error?: string;
}

/**
 * The cache the watches feed and reviews read. Pure state with an injected clock, so its rules for
 * staleness and age are tested without an API server.
 */
export class ClusterViewCache {
  private readonly tracks: Record<ViewObject, Track>;
  private snapshot: ClusterView | undefined;

  constructor(
    readonly source: ClusterViewSource = DEFAULT_VIEW_SOURCE,
    private readonly now: () => number = Date.now,
  ) {
    const start = now();
    const track = (): Track => ({ object: null, listed: false, current: false, since: start, confirmedAt: 0 });
    this.tracks = { configMap: track(), daemonSet: track() };
  }

  /** A list answered: the object, or null when it does not exist. */
  listed(which: ViewObject, object: JsonObject | null): void {
    const t = this.tracks[which];
    t.object = object;
    t.listed = true;
    t.confirmedAt = this.now();
    this.rebuild();
  }

  /** The watch after the list is open: changes now arrive as they happen. */
  watching(which: ViewObject): void {
    const t = this.tracks[which];
    if (!t.listed) return;
    t.current = true;
    delete t.error;
    this.rebuild();
  }

  /** An event from the watch: the object as it is now, or null when it was deleted. */
  changed(which: ViewObject, object: JsonObject | null): void {
    const t = this.tracks[which];
    t.object = object;
    t.confirmedAt = this.now();
    this.rebuild();
  }

  /** The list or the watch failed, or the watch ended: the view may miss changes until relisted. */
  lost(which: ViewObject, error?: string): void {
    const t = this.tracks[which];
    if (t.current) t.since = this.now();
    t.current = false;
    if (error) t.error = error;
    this.rebuild();
  }

  /**
   * The latest view, without waiting. Until both objects were listed once, a view that says only
   * that what runs is unknown: the rules comparing with it then warn that they could not.
   */
  current(): ClusterView {
    return this.snapshot ?? PENDING;
  }

  status(): ClusterViewStatus {
    const now = this.now();
    const tracks = OBJECTS.map((o) => this.tracks[o]);
    const state: ViewState = !tracks.every((t) => t.listed) ? 'pending' : tracks.every((t) => t.current) ? 'current' : 'stale';
    const behind = tracks.filter((t) => !t.current).map((t) => t.since);
    const status: ClusterViewStatus = {
      state,
      ageSeconds: behind.length === 0 ? 0 : Math.max(0, (now - Math.min(...behind)) / 1000),
      missing: this.snapshot?.missing ?? [],
    };
    if (this.snapshot?.observedAt) status.observedAt = this.snapshot.observedAt;
    if (this.snapshot?.agent?.version) status.agentVersion = this.snapshot.agent.version;
    const rv = this.snapshot?.ciliumConfig?.resourceVersion;
    if (rv) status.ciliumConfigResourceVersion = rv;
    const error = tracks.find((t) => !t.current && t.error)?.error;
    if (error) status.error = error;
    return status;
  }

  private rebuild(): void {
    const { configMap, daemonSet } = this.tracks;
    if (!configMap.listed || !daemonSet.listed) {
      this.snapshot = undefined;
      return;
    }
    this.snapshot = viewOf({ configMap: configMap.object, daemonSet: daemonSet.object }, this.source, {
      observedAt: new Date(Math.min(configMap.confirmedAt, daemonSet.confirmedAt)).toISOString(),
      stale: !(configMap.current && daemonSet.current),
    });
  }
}

export interface WatchOptions {
  /** How long the API server keeps one watch open before it is relisted (a half-open connection is found then). */
  watchSeconds?: number;
  /** Bound of each list call. */
  callTimeoutMs?: number;
  /** First retry delay after a failure; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  onError?: (which: ViewObject, message: string) => void;
}

interface Loop {
  stop(): void;
}

/**
 * list, then watch from the list's resourceVersion until the watch ends, then again; after a
 * failure, again after a growing delay. Each round relists (one object: cheap), so a watch that
 * the API server ends or a 410 Gone needs no special path.
 */
function runLoop(
  client: KubeClient,
  kc: k8s.KubeConfig,
  which: ViewObject,
  cache: ClusterViewCache,
  options: Required<Omit<WatchOptions, 'onError'>> & Pick<WatchOptions, 'onError'>,
): Loop {
  const { namespace } = cache.source;
  const name = which === 'configMap' ? cache.source.configMapName : cache.source.daemonSetName;
  const fieldSelector = `metadata.name=${name}`;
  const core = kc.makeApiClient(client.CoreV1Api);
  const apps = kc.makeApiClient(client.AppsV1Api);
  const callOptions = timeoutOptions(client, options.callTimeoutMs);
  const path = which === 'configMap' ? `/api/v1/namespaces/${namespace}/configmaps` : `/apis/apps/v1/namespaces/${namespace}/daemonsets`;
  const kind = which === 'configMap' ? 'ConfigMap' : 'DaemonSet';
  const watch = new client.Watch(kc);
  let stopped = false;
  let delay = options.backoffMs;
  let timer: NodeJS.Timeout | undefined;
  let abort: AbortController | undefined;
  let round = 0;

  const fail = (err: unknown): void => {
    const message = describeApiError(err);
    cache.lost(which, message);
    options.onError?.(which, message);
    schedule(delay);
    delay = Math.min(delay * 2, options.maxBackoffMs);
  };

  const schedule = (ms: number): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void once(), ms);
    timer.unref();
  };

  const once = async (): Promise<void> => {
    if (stopped) return;
    const mine = ++round;
    let list: { items?: unknown[]; metadata?: { resourceVersion?: string } };
    try {
      list =
        which === 'configMap'
          ? await core.listNamespacedConfigMap({ namespace, fieldSelector }, callOptions)
          : await apps.listNamespacedDaemonSet({ namespace, fieldSelector }, callOptions);
    } catch (err) {
      if (mine === round) fail(err);
      return;
    }
    if (stopped || mine !== round) return;
    // Plain JSON, as the webhook sees objects (client-node's models hold Dates).
    const items = JSON.parse(JSON.stringify(list.items ?? [])) as unknown[];
    const found = items.find(isObject);
    cache.listed(which, found ? { apiVersion: which === 'configMap' ? 'v1' : 'apps/v1', kind, ...found } : null);
    const resourceVersion = list.metadata?.resourceVersion ?? '';
    // A connection that never answers is given up after the watch's own time plus a margin.
    const watchdog = setTimeout(() => {
      if (mine !== round) return;
      abort?.abort();
      fail(new Error('the watch did not end in time'));
    }, (options.watchSeconds + 30) * 1000);
    watchdog.unref();
    let ended = false;
    let expired = false;
    try {
      abort = await watch.watch(
        path,
        { fieldSelector, resourceVersion, timeoutSeconds: options.watchSeconds, allowWatchBookmarks: true },
        (type: string, object: unknown) => {
          if (mine !== round) return;
          if (type === 'ADDED' || type === 'MODIFIED') cache.changed(which, isObject(object) ? object : null);
          else if (type === 'DELETED') cache.changed(which, null);
          else if (type === 'ERROR') {
            // Most often 410 Gone: the resourceVersion is too old. A relist starts afresh.
            expired = true;
            abort?.abort();
          }
        },
        (err: unknown) => {
          ended = true;
          clearTimeout(watchdog);
          if (mine !== round || stopped) return;
          // The API server ended the watch (its timeout) or expired it: relist at once. The view
          // stays current meanwhile; if the relist fails, that failure makes it stale.
          if (!err || expired) return schedule(0);
          fail(err);
        },
      );
      if (mine === round && !stopped && !ended) {
        cache.watching(which);
        delay = options.backoffMs;
      }
    } catch (err) {
      clearTimeout(watchdog);
      if (mine === round) fail(err);
    }
  };

  schedule(0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      abort?.abort();
    },
  };
}

export interface LiveClusterView {
  cache: ClusterViewCache;
  stop(): void;
}

/** Starts watching; returns at once. The cache fills as the API server answers. */
export async function watchClusterView(kc: k8s.KubeConfig, source: ClusterViewSource, options: WatchOptions = {}): Promise<LiveClusterView> {
  const client = await import('../kube/client.js');
  const cache = new ClusterViewCache(source);
  const full = {
    watchSeconds: options.watchSeconds ?? 240,
    callTimeoutMs: options.callTimeoutMs ?? 10_000,
    backoffMs: options.backoffMs ?? 1000,
    maxBackoffMs: options.maxBackoffMs ?? 30_000,
    ...(options.onError ? { onError: options.onError } : {}),
  };
  const loops = OBJECTS.map((which) => runLoop(client, kc, which, cache, full));
  return {
    cache,
    stop() {
      for (const l of loops) l.stop();
    },
  };
}

export { describeConfigMap, describeDaemonSet };
