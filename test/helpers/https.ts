// A real HTTPS cilium-guard on 127.0.0.1 with freshly generated certificates, and a client that
// verifies them. Used wherever the wire matters.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { generateCertificates, type GeneratedCertificates } from '../../src/certs/dev.js';
import { defaultConfig, type PolicyConfig } from '../../src/policy/config.js';
import { buildServer, type GuardServer, type ServerOptions } from '../../src/server/app.js';
import { createMetrics, type Metrics } from '../../src/server/metrics.js';

let shared: Promise<GeneratedCertificates> | null = null;
export function testCertificates(): Promise<GeneratedCertificates> {
  shared ??= generateCertificates({ dnsNames: ['localhost', 'cilium-guard.cilium-guard.svc'], ips: ['127.0.0.1'], days: 2 });
  return shared;
}

export interface Running {
  url: string;
  ca: string;
  guard: GuardServer;
  metrics: Metrics;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startGuard(
  options: {
    config?: PolicyConfig;
    bodyLimit?: number;
    events?: ServerOptions['events'];
    /** Added to the serving pair: minVersion, clientCA, clientNames. */
    tls?: Omit<NonNullable<ServerOptions['tls']>, 'key' | 'cert'>;
    eventsForUnauthenticated?: boolean;
    http2?: boolean;
  } = {},
): Promise<Running> {
  const certs = await testCertificates();
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = createMetrics({ processMetrics: false });
  const guard = buildServer({
    config: options.config ?? defaultConfig(),
    logger,
    metrics,
    tls: { key: certs.key, cert: certs.cert, ...options.tls },
    ...(options.eventsForUnauthenticated ? { eventsForUnauthenticated: true } : {}),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.http2 ? { http2: true } : {}),
    ...(options.events ? { events: options.events } : {}),
  });
  await guard.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = guard.app.server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}`, ca: certs.caCert, guard, metrics, logs, close: () => guard.app.close() };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agents = new Map<string, https.Agent>();

export function post(
  url: string,
  body: string | Buffer,
  ca: string,
  headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, */*' },
): Promise<HttpResult> {
  let agent = agents.get(ca);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, ca, maxSockets: 16 });
    agents.set(ca, agent);
  }
  return request(url, { method: 'POST', headers, agent }, body);
}

export function request(url: string, options: https.RequestOptions, body?: string | Buffer): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export function destroyAgents(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}
