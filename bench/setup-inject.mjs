// Per-request CPU of the bare server plus named pieces of cilium-guard's setup, in-process
// (fastify.inject, no TLS or sockets), so a shared machine's load does not decide it: run it a few
// times per variant and compare the minimums. After `npm run build`:
//   N=8000 node --max-semi-space-size=2 bench/setup-inject.mjs [parser,pino,options,default,metrics] [payload]
import { isUtf8 } from 'node:buffer';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { createMetrics } from '../dist/src/server/metrics.js';
import { payloads } from '../dist/bench/payloads.js';
const setup = new Set((process.argv[2] ?? '').split(',').filter(Boolean));
const logger = setup.has('pino') ? pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 })) : undefined;
const app = Fastify({ ...(logger ? { loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }), childLoggerFactory: (l) => l } : { logger: false }), bodyLimit: 8 << 20, ...(setup.has('options') ? { requestTimeout: 60000, return503OnClosing: false, forceCloseConnections: 'idle' } : {}) });
if (setup.has('parser')) { const parseJson = app.getDefaultJsonParser('error', 'error'); app.removeContentTypeParser('application/json'); app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => { if (!isUtf8(body)) return done(new Error('x')); parseJson(req, body.toString('utf8'), done); }); }
const metrics = setup.has('metrics') || setup.has('default') ? createMetrics({ processMetrics: setup.has('default') }) : undefined;
app.post('/validate', async (request) => { const r = request.body.request; if (setup.has('metrics')) { const st = performance.now(); metrics.requests.inc(['validate', r.operation, r.kind.kind, 'allowed', 'x']); metrics.duration.observe(['validate', r.operation, 'allowed', 'none'], (performance.now() - st) / 1000); } return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.uid, allowed: true } }; });
await app.ready();
const body = payloads().find((p) => p.name === (process.argv[3] ?? 'other-spec')).body;
const N = Number(process.env.N ?? 20000);
const one = () => app.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, payload: body });
for (let i = 0; i < 3000; i++) await one();
const t = process.cpuUsage();
for (let i = 0; i < N; i++) await one();
const u = process.cpuUsage(t);
console.log((process.argv[2] || 'bare').padEnd(36), ((u.user + u.system) / N).toFixed(1), 'µs/request');
