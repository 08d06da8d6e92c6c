// serve --http2: h2 offered by ALPN beside HTTP/1.1 (kube-apiserver negotiates it only for url
// webhooks on loopback; bench:e2e measures both). Both protocols get the same answer.
import http2 from 'node:http2';
import t from 'tap';
import { judge, makeReview } from '../helpers/apiserver.js';
import { example } from '../helpers/corpus.js';
import { destroyAgents, post, startGuard } from '../helpers/https.js';

const running = await startGuard({ http2: true });
t.teardown(async () => {
  destroyAgents();
  await running.close();
});

const bad = structuredClone(example('01-app-cilium-good.yaml')) as { spec: { destination: { namespace: string } } };
bad.spec.destination.namespace = 'cilium';
const review = makeReview({ operation: 'CREATE', object: bad as unknown as Record<string, unknown> });

t.test('an h2 client gets the same denial over HTTP/2', async (t) => {
  const session = http2.connect(running.url, { ca: running.ca, ALPNProtocols: ['h2'] });
  t.teardown(() => session.close());
  const { status, body, alpn } = await new Promise<{ status: number; body: string; alpn: string | false | undefined }>((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/validate', 'content-type': 'application/json' });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve({ status, body, alpn: session.alpnProtocol }));
    req.on('error', reject);
    req.end(JSON.stringify(review));
  });
  t.equal(alpn, 'h2');
  t.equal(judge(review, status, body, 'validating').outcome, 'denied');
});

t.test('an HTTP/1.1 client is still answered', async (t) => {
  const res = await post(`${running.url}/validate`, JSON.stringify(review), running.ca);
  t.equal(judge(review, res.status, res.body, 'validating').outcome, 'denied');
});

t.test('while draining, both protocols are still answered: HTTP/1.1 with Connection: close, h2 without the header it forbids', async (t) => {
  running.guard.setDraining();
  const h1 = await post(`${running.url}/validate`, JSON.stringify(review), running.ca);
  t.equal(judge(review, h1.status, h1.body, 'validating').outcome, 'denied');
  t.equal(h1.headers.connection, 'close', 'HTTP/1.1: the connection is closed after the answer');
  const session = http2.connect(running.url, { ca: running.ca, ALPNProtocols: ['h2'] });
  t.teardown(() => session.close());
  const { status, body, headers } = await new Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/validate', 'content-type': 'application/json' });
    let headers: http2.IncomingHttpHeaders = {};
    let body = '';
    req.on('response', (h) => (headers = h));
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve({ status: Number(headers[':status']), body, headers }));
    req.on('error', reject);
    req.end(JSON.stringify(review));
  });
  t.equal(judge(review, status, body, 'validating').outcome, 'denied', 'h2 answered, not a 500');
  t.notOk('connection' in headers, 'no connection header on h2');
});
