#!/usr/bin/env node
// cilium-guard: argument parsing and wiring only.
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ensureDevCertificates } from '../certs/dev.js';
import { buildServer } from '../server/app.js';
import { createMetrics, createMetricsServer } from '../server/metrics.js';
import { watchCertificates } from '../server/tls.js';
import { checkFiles, exitCode } from './check.js';
import { loadConfig } from './config-file.js';
import { renderJson, renderText } from './report.js';

const USAGE = `Usage:
  cilium-guard serve [--port 8443] [--host 0.0.0.0] [--metrics-port 9090] [--config FILE]
                     [--tls-cert FILE --tls-key FILE] [--log-level info]
  cilium-guard check [--config FILE] [--output text|json] [--strict] FILE...
  cilium-guard --version | --help

serve   Serves the admission webhook over HTTPS: POST /validate, POST /mutate, GET /healthz,
        GET /readyz; Prometheus metrics on plain HTTP at /metrics on the metrics port. Without
        --tls-cert/--tls-key it creates development certificates under ./certs.
        Environment: PORT, HOST, METRICS_PORT, CILIUM_GUARD_CONFIG, TLS_CERT_FILE, TLS_KEY_FILE, LOG_LEVEL.
check   Runs the same policy over YAML manifests (multi-document; Applications, ApplicationSets,
        ConfigMaps). Exit 0: clean; 1: violations; 2: bad input or usage.
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

function fail(message: string): never {
  process.stderr.write(`cilium-guard: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number, got "${value}"`);
  return n;
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'metrics-port': { type: 'string' },
      config: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const logger = pino({
    level: values['log-level'] ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'cilium-guard' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  const loaded = await loadConfig(values.config ?? process.env.CILIUM_GUARD_CONFIG);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`cilium-guard: invalid policy: ${e}\n`);
    process.exit(2);
  }
  let certFile = values['tls-cert'] ?? process.env.TLS_CERT_FILE;
  let keyFile = values['tls-key'] ?? process.env.TLS_KEY_FILE;
  if (!certFile !== !keyFile) fail('--tls-cert and --tls-key go together');
  if (!certFile || !keyFile) {
    const dev = await ensureDevCertificates('certs');
    certFile = dev.cert;
    keyFile = dev.key;
    logger.info({ ca: dev.ca, created: dev.created }, 'using development certificates');
  }
  const host = values.host ?? process.env.HOST ?? '0.0.0.0';
  const listenPort = port(values.port ?? process.env.PORT, 8443, '--port');
  const metricsPort = port(values['metrics-port'] ?? process.env.METRICS_PORT, 9090, '--metrics-port');

  const metrics = createMetrics();
  const guard = buildServer({
    config: loaded.config,
    logger,
    metrics,
    tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) },
  });
  const metricsServer = createMetricsServer(metrics);
  await guard.app.listen({ port: listenPort, host });
  await new Promise<void>((resolve, reject) => {
    metricsServer.once('error', reject);
    metricsServer.listen(metricsPort, host, () => resolve());
  });
  const stopWatching = watchCertificates(guard.app.server as unknown as HttpsServer, { cert: certFile, key: keyFile }, logger);
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const boundPort = (guard.app.server.address() as AddressInfo).port;
  const boundMetrics = (metricsServer.address() as AddressInfo).port;
  logger.info(
    {
      validate: `https://${shown}:${boundPort}/validate`,
      mutate: `https://${shown}:${boundPort}/mutate`,
      metrics: `http://${shown}:${boundMetrics}/metrics`,
    },
    'cilium-guard ready',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining: finishing in-flight reviews, refusing new connections');
    guard.setDraining();
    stopWatching();
    metricsServer.close();
    guard.app
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function check(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, output: { type: 'string', short: 'o' }, strict: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') fail(`--output must be text or json, got "${output}"`);
  if (positionals.length === 0) fail('check needs at least one FILE');
  const loaded = await loadConfig(values.config ?? process.env.CILIUM_GUARD_CONFIG);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`cilium-guard: invalid policy: ${e}\n`);
    process.exit(2);
  }
  const report = await checkFiles(positionals, loaded.config);
  process.stdout.write(output === 'json' ? renderJson(report) : renderText(report));
  process.exitCode = exitCode(report, values.strict === true);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
    case '--version':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return;
    case undefined:
      return fail('a command is required');
    default:
      return fail(`unknown command "${command}"`);
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`cilium-guard: ${message}\n`);
  process.exit(2);
});
