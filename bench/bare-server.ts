// The ceiling: a bare fastify HTTPS server with cilium-guard's TLS and keep-alive settings that
// parses the review and answers "allowed". Anything cilium-guard costs above this is its own.
//
// BARE_SETUP (comma-separated; `npm run bench -- --setup LIST` sets it) adds pieces of
// cilium-guard's own setup one at a time, to find where the gap to the bare server goes:
//   parser   cilium-guard's body parser (src/server/json-body.ts: the UTF-8 check, the JSON.parse shortcut)
//   pino     a pino logger instance given to fastify, request logging off, no child loggers
//   options  cilium-guard's server options (requestTimeout, forceCloseConnections, return503OnClosing)
//   default  prom-client's default process metrics (GC observer, event-loop monitor)
//   metrics  a labelled histogram and counter per request, as cilium-guard records them
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import pino from 'pino';
import { DEFAULT_BODY_LIMIT, KEEP_ALIVE_MS } from '../src/server/app.js';
import { reviewBodyParser } from '../src/server/json-body.js';
import { createMetrics } from '../src/server/metrics.js';
import { DEFAULT_TLS_MIN_VERSION, serverOptions } from '../src/server/tls.js';

const [certFile, keyFile, portArg] = process.argv.slice(2);
const setup = new Set((process.env.BARE_SETUP ?? '').split(',').filter(Boolean));
const logger = setup.has('pino') ? pino({ level: 'info', base: { service: 'bare' } }, pino.destination({ dest: 1, sync: false, minLength: 4096 })) : undefined;
const options: FastifyServerOptions = {
  ...(logger
    ? { loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), childLoggerFactory: (l: FastifyBaseLogger) => l }
    : { logger: false }),
  bodyLimit: DEFAULT_BODY_LIMIT,
  keepAliveTimeout: KEEP_ALIVE_MS,
  ...(setup.has('options') ? { requestTimeout: 60_000, return503OnClosing: false, forceCloseConnections: 'idle' as const } : {}),
};
const app = Fastify({ ...options, https: serverOptions({ cert: readFileSync(certFile!), key: readFileSync(keyFile!) }, { minVersion: DEFAULT_TLS_MIN_VERSION }) } as FastifyServerOptions);
if (setup.has('parser')) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, reviewBodyParser(app.getDefaultJsonParser('error', 'error')));
}
const metrics = setup.has('metrics') || setup.has('default') ? createMetrics({ processMetrics: setup.has('default') }) : undefined;
const perRequest = setup.has('metrics') ? metrics : undefined;
const answer = async (request: { body: unknown }) => {
  const review = request.body as { request?: { uid?: string; operation?: string; kind?: { kind?: string } } };
  if (perRequest) {
    const start = performance.now();
    perRequest.requests.inc(['validate', review.request?.operation ?? '', review.request?.kind?.kind ?? '', 'allowed', 'unauthenticated']);
    perRequest.duration.observe(['validate', review.request?.operation ?? '', 'allowed', 'none'], (performance.now() - start) / 1000);
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request?.uid ?? '', allowed: true } };
};
app.post('/validate', answer);
app.post('/mutate', answer);
app.get('/readyz', async () => ({ ready: true }));
await app.listen({ host: '127.0.0.1', port: Number(portArg) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
