// The fastify app factory. No listen() in here: callers (the CLI, tests, the benchmark) decide.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { decodeReview } from '../admission/decode.js';
import { encodeResponse } from '../admission/respond.js';
import { auditRecords, writeAudit } from '../audit/audit.js';
import type { PolicyConfig } from '../policy/config.js';
import { mutate, validate } from '../policy/engine.js';
import type { ClusterView } from '../policy/cluster-view.js';
import type { Decision, Finding, PolicyRequest } from '../policy/types.js';
import type { Metrics } from './metrics.js';
import { type Caller, DEFAULT_CLIENT_NAMES, DEFAULT_TLS_MIN_VERSION, TLS_CIPHERS, type TlsMinVersion, callerOf, serverOptions, trackServer } from './tls.js';
import { reviewBodyParser } from './json-body.js';

/** Above the API server's 3 MiB request limit: an UPDATE carries object and oldObject. */
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;
/** Longer than the API server's idle keep-alive (Go's 90 s), so the client always closes first. */
export const KEEP_ALIVE_MS = 125_000;

export { TLS_CIPHERS };

export interface ServerOptions {
  config: PolicyConfig;
  logger: Logger;
  metrics: Metrics;
  /**
   * PEM key and certificate; omit for app.inject-only use. `minVersion` defaults to TLS 1.3.
   * `clientCA` turns client authentication on: the review routes answer only a caller whose
   * certificate chains to it and names one of `clientNames` (default kube-apiserver); the probes
   * need no certificate.
   */
  tls?: { key: string | Buffer; cert: string | Buffer; minVersion?: TlsMinVersion; clientCA?: string; clientNames?: string[] };
  /**
   * Events also for reviews from an unauthenticated caller (no client authentication configured).
   * Off by default: anyone who reaches the port could otherwise have Events written about any object.
   */
  eventsForUnauthenticated?: boolean;
  bodyLimit?: number;
  /**
   * Offer HTTP/2 (ALPN h2) beside HTTP/1.1. Off by default: kube-apiserver's webhook client
   * (k8s.io/apiserver pkg/util/webhook/client.go) pins http/1.1 for every `service` webhook and for
   * every `url` webhook except localhost, 127.0.0.1 and [::1], so only a loopback URL webhook can
   * negotiate h2 at all. `npm run bench:e2e` measures both.
   */
  http2?: boolean;
  /** Told about every denial; must return at once (the EventRecorder only enqueues). */
  events?: { denied(req: PolicyRequest, findings: Finding[]): void };
  /**
   * What runs in the cluster, kept by src/cluster. `current()` must answer at once from a cache:
   * a review never waits on the API server. `status()` is shown in /readyz.
   */
  clusterView?: { current(): ClusterView | undefined; status(): object };
}

type Route = 'validate' | 'mutate';

export interface GuardServer {
  app: FastifyInstance;
  /** Marks the server as draining: /readyz answers 503 so no new traffic is routed here. */
  setDraining(): void;
}

export function buildServer(options: ServerOptions): GuardServer {
  const { config, logger, metrics } = options;
  const audit = logger.child({}, { level: 'info' });
  let draining = false;

  const tlsSettings = options.tls
    ? { minVersion: options.tls.minVersion ?? DEFAULT_TLS_MIN_VERSION, ...(options.tls.clientCA ? { clientCA: options.tls.clientCA } : {}) }
    : undefined;
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (fastify's default, a measurable cost on every review): the
    // request id goes into the few lines that are logged per request instead.
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    keepAliveTimeout: KEEP_ALIVE_MS,
    requestTimeout: 60_000,
    // Requests that arrive on an open connection while shutting down are still answered.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ...(tlsSettings
      ? options.http2
        ? { http2: true, https: { ...serverOptions(options.tls!, tlsSettings), allowHTTP1: true } }
        : { https: serverOptions(options.tls!, tlsSettings) }
      : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  if (options.tls && tlsSettings) trackServer(app.server as unknown as HttpsServer, options.tls, tlsSettings);

  // Who is calling, once per connection: the certificate is verified at the handshake.
  const clientNames = options.tls?.clientCA ? (options.tls.clientNames?.length ? options.tls.clientNames : DEFAULT_CLIENT_NAMES) : undefined;
  const callers = new WeakMap<object, Caller>();
  function callerFor(request: FastifyRequest): Caller {
    const socket = request.raw.socket as TLSSocket | undefined;
    if (!socket) return callerOf(undefined, clientNames);
    let caller = callers.get(socket);
    if (!caller) {
      caller = callerOf(socket, clientNames);
      callers.set(socket, caller);
    }
    return caller;
  }

  // The body: UTF-8 checked, prototype poisoning refused (json-body.ts).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, reviewBodyParser(app.getDefaultJsonParser('error', 'error')));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    const route = routeOf(request);
    if (route) metrics.errors.inc({ route, reason: status >= 500 ? 'internal' : 'bad_request' });
    if (status >= 500) request.log.error({ err: error, reqId: request.id, url: request.url }, 'request failed');
    void reply.code(status).send({
      error: status >= 500 ? 'InternalError' : 'BadRequest',
      message: status >= 500 ? 'cilium-guard failed to process the review' : error.message,
      ...(error.code ? { code: error.code } : {}),
    });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: 'NotFound', message: `${request.method} ${request.url} is not served here` });
  });

  function routeOf(request: FastifyRequest): Route | null {
    const url = request.url.split('?')[0];
    return url === '/validate' ? 'validate' : url === '/mutate' ? 'mutate' : null;
  }

  function review(route: Route) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const caller = callerFor(request);
      if (caller.kind === 'refused') return refuse(route, caller, request, reply); // the onRequest hook already did
      const callerLabel = caller.kind;
      const start = performance.now();
      const end = (operation: string, verdict: string, rule: string) => metrics.duration.observe([route, operation, verdict, rule], (performance.now() - start) / 1000);
      const decoded = decodeReview(request.body);
      if (!decoded.ok) {
        metrics.errors.inc({ route, reason: 'bad_request' });
        end('unknown', 'error', 'none');
        return reply.code(400).send({ error: 'BadRequest', message: decoded.error });
      }
      const { request: admission, policy } = decoded;
      const cluster = options.clusterView?.current();
      const decision: Decision =
        route === 'validate' ? validate(policy, config, cluster ? { cluster } : {}) : mutate(policy, config);
      const answer = encodeResponse(admission.uid, decision, route === 'mutate' ? { original: admission.object } : undefined);
      if (decision.findings.length > 0) {
        writeAudit(audit, auditRecords(route, policy, admission.uid, decision.findings, callerLabel));
        for (const f of decision.findings) metrics.ruleResults.inc([f.rule, f.verdict, callerLabel]);
      }
      const verdict = decision.skipped
        ? 'skipped'
        : !decision.allowed
          ? 'denied'
          : answer.response?.patch
            ? 'mutated'
            : 'allowed';
      // An Event is written by cilium-guard's own identity about whatever object the review names:
      // only for the API server, unless the operator accepts unauthenticated callers' Events.
      if (!decision.allowed && (caller.kind === 'authenticated' || options.eventsForUnauthenticated === true)) {
        options.events?.denied(policy, decision.findings);
      }
      metrics.requests.inc([route, admission.operation, admission.kind.kind, verdict, callerLabel]);
      // One line per review at debug level (who wrote what, and how), for tracing a client's writes
      // call by call; the metric above only counts them.
      if (logger.isLevelEnabled('debug')) {
        const fieldManager = admission.options?.['fieldManager'];
        logger.debug(
          {
            reqId: request.id,
            review: {
              uid: admission.uid,
              route,
              kind: admission.kind.kind,
              namespace: admission.namespace ?? '',
              name: admission.name ?? '',
              operation: admission.operation,
              ...(admission.subResource ? { subResource: admission.subResource } : {}),
              user: admission.userInfo.username ?? '',
              caller: callerLabel,
              dryRun: admission.dryRun,
              ...(typeof fieldManager === 'string' ? { fieldManager } : {}),
              verdict,
            },
          },
          'review',
        );
      }
      const deciding = decision.findings.find((f) => f.verdict === 'deny') ?? decision.findings[0];
      end(admission.operation, verdict, deciding?.rule ?? 'none');
      return reply.send(answer);
    };
  }

  function refuse(route: Route, caller: Extract<Caller, { kind: 'refused' }>, request: FastifyRequest, reply: FastifyReply) {
    metrics.errors.inc({ route, reason: 'unauthenticated' });
    request.log.warn({ reqId: request.id, remote: request.ip, reason: caller.reason }, 'review refused: caller not authenticated');
    return reply
      .code(caller.status)
      .send({ error: caller.status === 401 ? 'Unauthorized' : 'Forbidden', message: `cilium-guard answers only the API server: ${caller.reason}` });
  }

  // With client authentication, an unknown caller is refused before its body is even read: nothing
  // of it is parsed, judged, audited, counted as a verdict or turned into an Event.
  if (clientNames) {
    app.addHook('onRequest', async (request, reply) => {
      const route = routeOf(request);
      if (!route) return;
      const caller = callerFor(request);
      if (caller.kind === 'refused') await refuse(route, caller, request, reply);
    });
  }

  // While draining, every answer closes its connection. The API server pools webhook connections by
  // the Service's name, not by endpoint, so it keeps sending on a kept-alive connection to a
  // terminating pod until that connection closes. Closed by `Connection: close` after an answer, the
  // client knows before it sends again; an idle connection the server closes can meet a review
  // already on the wire, which the API server sees as "connection reset by peer" (a failed call).
  // HTTP/2 (`--http2`) forbids the header; its connections end with GOAWAY when the server closes.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (draining && request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
    done(null, payload);
  });
  app.post('/validate', review('validate'));
  app.post('/mutate', review('mutate'));
  app.get('/healthz', async () => ({ status: 'ok' }));
  // The cluster view is detail only: readiness never depends on it. Reviews are answered without
  // it (live rules then only warn), and a webhook taken out of its Service because Cilium is not
  // installed yet, or the API server is slow, would fail every write it guards.
  app.get('/readyz', async (_request, reply) => {
    const clusterView = options.clusterView?.status();
    const detail = clusterView ? { clusterView } : {};
    return draining ? reply.code(503).send({ status: 'draining', ...detail }) : reply.send({ status: 'ready', ...detail });
  });

  return {
    app,
    setDraining() {
      draining = true;
    },
  };
}
