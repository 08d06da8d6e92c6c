// The ceiling: a bare fastify HTTPS server with cilium-guard's TLS and keep-alive settings that
// parses the review and answers "allowed". Anything cilium-guard costs above this is its own.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { DEFAULT_BODY_LIMIT, KEEP_ALIVE_MS } from '../src/server/app.js';
import { DEFAULT_TLS_MIN_VERSION, serverOptions } from '../src/server/tls.js';

const [certFile, keyFile, portArg] = process.argv.slice(2);
const app = Fastify({
  logger: false,
  bodyLimit: DEFAULT_BODY_LIMIT,
  keepAliveTimeout: KEEP_ALIVE_MS,
  https: serverOptions({ cert: readFileSync(certFile!), key: readFileSync(keyFile!) }, { minVersion: DEFAULT_TLS_MIN_VERSION }),
});
const answer = async (request: { body: unknown }) => {
  const review = request.body as { request?: { uid?: string } };
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request?.uid ?? '', allowed: true } };
};
app.post('/validate', answer);
app.post('/mutate', answer);
app.get('/readyz', async () => ({ ready: true }));
await app.listen({ host: '127.0.0.1', port: Number(portArg) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
