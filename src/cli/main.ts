#!/usr/bin/env node
// cilium-guard: argument parsing and wiring only.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { EventRecorder } from '../audit/events.js';
import type { LiveClusterView } from '../cluster/view.js';
import { KubeEventSink } from '../audit/kube-events.js';
import { KubeStore, describeApiError, loadKubeConfig, type WebhookRef } from '../certs/kube.js';
import type { KeyPair } from '../certs/pki.js';
import type { ClusterView } from '../policy/cluster-view.js';
import type { PolicyConfig } from '../policy/config.js';
import { isObject } from '../policy/json.js';
import { buildServer } from '../server/app.js';
import { type Metrics, addClusterViewMetrics, createMetrics, createMetricsServer } from '../server/metrics.js';
import { DEFAULT_CLIENT_NAMES, expiryOf, pemBlocks, setServingCertificate, watchCertificates, watchClientCA } from '../server/tls.js';
import { align } from './align.js';
import { alignLive } from './align-live.js';
import { auditCluster, readLiveView } from './audit.js';
import { checkFiles, readClusterViewFile } from './check.js';
import { loadConfig } from './config-file.js';
import { parseDuration } from './duration.js';
import { selftest, uninstallWebhooks } from './kube-commands.js';
import { FORMATS, type Format, type Report, exitCode, render, summarize } from './report.js';
import { readYamlFile } from './yaml-input.js';
import { ruleCatalogue } from '../policy/rules.js';

/** Each command's synopsis and description: `cilium-guard COMMAND --help` prints one, `--help` all. */
const COMMANDS: Record<string, { synopsis: string; description: string }> = {
  serve: {
    synopsis: `  cilium-guard serve [--port 8443] [--host 0.0.0.0] [--metrics-port 9090] [--config FILE] [--log-level info]
                     [--tls-cert FILE --tls-key FILE] [--tls-min-version 1.3|1.2]
                     [--client-ca FILE [--client-names kube-apiserver,...]] [--http2]
                     [--cert-secret NAMESPACE/NAME --cert-dns-names NAME,... [--cert-ips IP,...]
                      [--validating-webhook NAME]... [--mutating-webhook NAME]... [--kubeconfig FILE]
                      [--ca-validity 17520h] [--cert-validity 2160h] [--renew-fraction 0.33]
                      [--ca-overlap 5m] [--cert-check-interval 1m]]
                     [--events [--events-burst 25] [--events-per-second 5] [--events-series-interval 30s]
                      [--events-unauthenticated]]
                     [--cluster-view [--cluster-view-namespace kube-system]]`,
    description: `serve       Serves the admission webhook over HTTPS: POST /validate, POST /mutate, GET /healthz,
            GET /readyz; Prometheus metrics on plain HTTP at /metrics on the metrics port.
            Certificates: --tls-cert/--tls-key files (reloaded when they change); or --cert-secret,
            a Secret shared by every replica that cilium-guard fills, renews, and whose CA it
            injects into the named webhook configurations; or else development certificates
            under ./certs. --events writes a Kubernetes Event (events.k8s.io/v1, reason
            PolicyViolation) on each denied object: never for dry runs, deduplicated, rate-limited,
            and never delaying an answer. --cluster-view watches what runs (ConfigMap cilium-config
            and the cilium-agent image of DaemonSet cilium, in --cluster-view-namespace) for the
            rules that compare a change with it; /readyz and the metrics show its age; reviews never
            wait for it. TLS 1.3 minimum unless --tls-min-version 1.2. --client-ca requires the
            API server's client certificate on /validate and /mutate (chained to the CA file,
            reloaded when it changes; subject CN or DNS SAN one of --client-names, default
            kube-apiserver): other callers get 401/403; the probes need none. Without it every
            review is answered and recorded as caller "unauthenticated", and Events are written
            only with --events-unauthenticated. --http2 offers HTTP/2 beside HTTP/1.1 (the API
            server negotiates it only for url webhooks on localhost/127.0.0.1/[::1]). Environment:
            PORT, HOST, METRICS_PORT, CILIUM_GUARD_CONFIG, TLS_CERT_FILE, TLS_KEY_FILE, TLS_MIN_VERSION, CLIENT_CA_FILE,
            CLIENT_NAMES, LOG_LEVEL, KUBECONFIG, CILIUM_GUARD_CLUSTER_VIEW=true, CILIUM_GUARD_HTTP2=true.`,
  },
  check: {
    synopsis: `  cilium-guard check [--config FILE] [--output text|json|policyreport|github] [--strict] [--cluster FILE]
                     [--skip-non-manifests] FILE|DIR|-...`,
    description: `check       Runs the same policy over YAML manifests (multi-document; Applications, ApplicationSets,
            ConfigMaps): files, directories (walked recursively for .yaml, .yml and .json; documents
            without apiVersion and kind, such as values files, are skipped there) and - for standard
            input (kustomize build overlays/prod | cilium-guard check -). --cluster FILE gives what
            runs: a ClusterView document, or the output of kubectl get -n kube-system -o yaml
            configmap/cilium-config daemonset/cilium. --skip-non-manifests skips such documents in
            named files too (the pre-commit hook). --output github prints GitHub Actions
            annotations (file and line of each finding), then the text.
            Exit 0: clean; 1: violations; 2: bad input or usage.`,
  },
  audit: {
    synopsis: `  cilium-guard audit [--kubeconfig FILE] [--context NAME] [--namespace NS] [--config FILE]
                     [--output text|json|policyreport] [--strict] [--verbose] [--page-size 250]
                     [--progress | --quiet]`,
    description: `audit       Runs the same policy over what a cluster holds: Applications, ApplicationSets, and the
            ConfigMaps named cilium-config and argocd-cm (list permission only). Text lists what
            breaks a rule (--verbose: every object); json is the full report; policyreport prints
            wgpolicyk8s.io/v1alpha2 PolicyReports for kubectl apply. Progress goes to stderr when it
            is a terminal (--progress: always, --quiet: never). Exit codes as for check.`,
  },
  align: {
    synopsis: `  cilium-guard align --talos PATCH.yaml --app APP.yaml [--app-values FILE]... [--chart-values FILE]
                     [--config FILE] [--output text|json]
  cilium-guard align --live [--kubeconfig FILE] [--context NAME] --app APP.yaml [--app-values FILE]...
                     [--config FILE] [--output text|json]
  cilium-guard align --cluster FILE --app APP.yaml [--app-values FILE]... [--config FILE] [--output text|json]`,
    description: `align       Compares the Helm values Talos installs Cilium with (a machine-config patch whose
            cluster.inlineManifests run \`cilium install\` or \`helm install|upgrade|template\`, or a
            values file) with the effective values of the Argo CD Application (or ApplicationSet
            template) that adopts it: the handoff table's settings, then every key set on either
            side. --app-values supplies the Application's valueFiles in order; --chart-values (the
            chart's values.yaml) lets a key set on one side match the default on the other.
            --live (or --cluster FILE, the same view from a file as for check) compares what runs
            instead: the running cilium-agent version and the cilium-config settings Cilium cannot
            change on a running cluster (L1) beside what the Application would write, then the
            webhook's answer to the Application against what runs (L1, U1, T1, T2 and the rest).
            Exit 0: aligned; 1: a difference; 2: unreadable input.`,
  },
  rules: {
    synopsis: `  cilium-guard rules [--config FILE] [--output text|json]`,
    description: `rules       Lists every rule: its id, what it protects, its mode under the policy (--config FILE,
            or CILIUM_GUARD_CONFIG, or the defaults) and its documentation page (policy
            docs.ruleURL; denials, warnings, Events and PolicyReports name the same page).`,
  },
  uninstall: {
    synopsis: `  cilium-guard uninstall [--validating-webhook NAME]... [--mutating-webhook NAME]... [--kubeconfig FILE]`,
    description: `uninstall   Deletes the named webhook configurations (the chart's pre-delete hook).`,
  },
  selftest: {
    synopsis: `  cilium-guard selftest --namespace NS [--webhook applications.cilium-guard.io] [--kubeconfig FILE]`,
    description: `selftest    Sends a known-bad and a known-good Cilium Application with dryRun=All and checks that
            only the bad one is denied by the webhook (the chart's helm test).`,
  },
  healthcheck: {
    synopsis: `  cilium-guard healthcheck [--port 8443]`,
    description: `healthcheck Exit 0 when the local server answers /healthz (for container runtimes; Kubernetes uses probes).`,
  },
};

const USAGE = `Usage:
${Object.values(COMMANDS).map((c) => c.synopsis).join('\n')}
  cilium-guard --version | --help | help COMMAND | COMMAND --help

${Object.values(COMMANDS).map((c) => c.description).join('\n')}
`;

/** The command being run, so a usage error can say how to get help for it. */
let command = '';

function commandUsage(name: string): string {
  const c = COMMANDS[name]!;
  return `Usage:\n${c.synopsis}\n\n${c.description}\n`;
}

// Set by the bundle (scripts/bundle.mjs), which has no package.json beside it.
declare const CILIUM_GUARD_VERSION: string | undefined;

function version(): string {
  if (typeof CILIUM_GUARD_VERSION === 'string') return CILIUM_GUARD_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/** A usage error: one line saying what is wrong and how to get help, exit 2. */
function fail(message: string): never {
  const help = command ? `cilium-guard ${command} --help` : 'cilium-guard --help';
  process.stderr.write(`cilium-guard: ${message} (see '${help}')\n`);
  process.exit(2);
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number, got "${value}"`);
  return n;
}

function durationOption(value: string | undefined, fallback: string, name: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === null || ms <= 0) fail(`${name} must be a duration such as 90s, 5m or 2160h, got "${value}"`);
  return ms;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** Where the server's certificate comes from: a first pair, then renewals once attached to the server. */
interface CertificateSource {
  initial: KeyPair;
  /** Starts delivering renewals to the server; returns the function that stops it. */
  attach(server: HttpsServer): () => Promise<void>;
}

type Options = Record<string, string | string[] | boolean | undefined>;

/** --tls-cert/--tls-key, or development certificates: files, re-read when they change. */
async function fileCertificates(values: Options, logger: Logger, metrics: Metrics): Promise<CertificateSource> {
  let certFile = (values['tls-cert'] as string | undefined) ?? process.env.TLS_CERT_FILE;
  let keyFile = (values['tls-key'] as string | undefined) ?? process.env.TLS_KEY_FILE;
  if (!certFile !== !keyFile) fail('--tls-cert and --tls-key go together');
  if (!certFile || !keyFile) {
    // Loaded only when used: the X.509 libraries behind it are a fifth of start-up time and heap.
    const { ensureDevCertificates } = await import('../certs/dev.js');
    const dev = await ensureDevCertificates('certs');
    certFile = dev.cert;
    keyFile = dev.key;
    logger.info({ ca: dev.ca, created: dev.created }, 'using development certificates');
  }
  const files = { cert: certFile, key: keyFile };
  return {
    initial: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') },
    attach(server) {
      const stop = watchCertificates(server, files, logger, 5000, (pair) =>
        metrics.certificateExpiry.set({ certificate: 'serving' }, expiryOf(pair.cert) / 1000),
      );
      return async () => stop();
    },
  };
}

/** The selfSigned mode: the first pass must succeed before the server can listen. */
async function startSecretCertificates(values: Options, logger: Logger, metrics: Metrics): Promise<CertificateSource> {
  const ref = String(values['cert-secret']);
  const [namespace, name, ...extra] = ref.split('/');
  if (!namespace || !name || extra.length > 0) fail(`--cert-secret must be NAMESPACE/NAME, got "${ref}"`);
  const dnsNames = list(values['cert-dns-names'] as string | undefined);
  const ips = list(values['cert-ips'] as string | undefined);
  if (dnsNames.length === 0 && ips.length === 0) fail('--cert-secret needs --cert-dns-names (and/or --cert-ips)');
  const fraction = Number(values['renew-fraction'] ?? '0.33');
  if (!(fraction > 0 && fraction < 1)) fail(`--renew-fraction must be between 0 and 1, got "${String(values['renew-fraction'])}"`);
  const checkMs = durationOption(values['cert-check-interval'] as string | undefined, '1m', '--cert-check-interval');
  const refs: WebhookRef[] = [
    ...((values['validating-webhook'] as string[] | undefined) ?? []).map((n) => ({ kind: 'validating' as const, name: n })),
    ...((values['mutating-webhook'] as string[] | undefined) ?? []).map((n) => ({ kind: 'mutating' as const, name: n })),
  ];
  const kc = await loadKubeConfig(values.kubeconfig as string | undefined);
  const store = await KubeStore.create(kc, { namespace, name }, refs);
  const certLog = logger.child({ component: 'certificates', secret: ref });
  let server: HttpsServer | undefined;
  let current: KeyPair | undefined;
  const { CertificateManager } = await import('../certs/manager.js');
  const manager = new CertificateManager(
    store,
    {
      caValidityMs: durationOption(values['ca-validity'] as string | undefined, '17520h', '--ca-validity'),
      certValidityMs: durationOption(values['cert-validity'] as string | undefined, '2160h', '--cert-validity'),
      renewFraction: fraction,
      overlapMs: durationOption(values['ca-overlap'] as string | undefined, '5m', '--ca-overlap'),
      retireAfterMs: 60_000 + 3 * checkMs,
      dnsNames,
      ips,
    },
    certLog,
    {
      onServing(pair, info) {
        current = pair;
        if (server) {
          setServingCertificate(server, pair);
          certLog.info({ notAfter: new Date(info.notAfter).toISOString() }, 'serving certificate reloaded');
        }
        metrics.certificateExpiry.set({ certificate: 'serving' }, info.notAfter / 1000);
      },
      onCA(info) {
        metrics.certificateExpiry.set({ certificate: 'ca' }, info.notAfter / 1000);
      },
      onStep(step) {
        metrics.certificateSteps.inc({ step });
      },
      onError() {
        metrics.certificateErrors.inc();
      },
    },
  );
  try {
    await manager.initial(10 * 60_000);
  } catch (err) {
    throw new Error(`no serving certificate from Secret ${ref}: ${describeApiError(err)}`);
  }
  return {
    initial: current!,
    attach(s) {
      server = s;
      manager.start(checkMs);
      return () => manager.stop();
    },
  };
}

function positiveNumber(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) fail(`${name} must be a positive number, got "${value}"`);
  return n;
}

/** --events: the recorder and its client-node sink, with the same kubeconfig as the certificates. */
async function startEvents(values: Options, logger: Logger, metrics: Metrics): Promise<EventRecorder> {
  const burst = positiveNumber(values['events-burst'] as string | undefined, 25, '--events-burst');
  const perSecond = positiveNumber(values['events-per-second'] as string | undefined, 5, '--events-per-second');
  let sink: KubeEventSink;
  try {
    sink = await KubeEventSink.create(await loadKubeConfig(values.kubeconfig as string | undefined), 5000);
  } catch (err) {
    throw new Error(`--events needs a kubeconfig or an in-cluster ServiceAccount: ${describeApiError(err)}`);
  }
  return new EventRecorder(sink, logger.child({ component: 'events' }), {
    burst,
    perSecond,
    flushIntervalMs: durationOption(values['events-series-interval'] as string | undefined, '30s', '--events-series-interval'),
    instance: process.env.POD_NAME || hostname(),
    onResult: (result) => metrics.events.inc({ result }),
  });
}

/** --cluster-view: watches cilium-config and the agent DaemonSet, with the same kubeconfig as the certificates. */
async function startClusterView(values: Options, policy: PolicyConfig, logger: Logger, metrics: Metrics): Promise<LiveClusterView> {
  const { watchClusterView, describeConfigMap, describeDaemonSet } = await import('../cluster/view.js');
  const { DEFAULT_VIEW_SOURCE } = await import('../policy/cluster-view.js');
  const namespace = (values['cluster-view-namespace'] as string | undefined) ?? policy.cilium.namespace;
  const source = { ...DEFAULT_VIEW_SOURCE, namespace, configMapName: policy.cilium.configMapName };
  let kc;
  try {
    kc = await loadKubeConfig(values.kubeconfig as string | undefined);
  } catch (err) {
    throw new Error(`--cluster-view needs a kubeconfig or an in-cluster ServiceAccount: ${describeApiError(err)}`);
  }
  const viewLog = logger.child({ component: 'cluster-view', namespace });
  const errors = new Map<string, string>();
  const live = await watchClusterView(kc, source, {
    // One line per new error, not one per retry.
    onError(which, message) {
      if (errors.get(which) === message) return;
      errors.set(which, message);
      viewLog.warn({ object: which, error: message }, 'cluster view: cannot read; reviews go on with the last view');
    },
  });
  addClusterViewMetrics(metrics, () => live.cache.status(), { 'cilium-config': describeConfigMap(source), 'cilium-agent': describeDaemonSet(source) });
  return live;
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseOrFail({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'metrics-port': { type: 'string' },
      config: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-min-version': { type: 'string' },
      'client-ca': { type: 'string' },
      'client-names': { type: 'string' },
      'events-unauthenticated': { type: 'boolean' },
      http2: { type: 'boolean' },
      'log-level': { type: 'string' },
      'cert-secret': { type: 'string' },
      'cert-dns-names': { type: 'string' },
      'cert-ips': { type: 'string' },
      'validating-webhook': { type: 'string', multiple: true },
      'mutating-webhook': { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      'ca-validity': { type: 'string' },
      'cert-validity': { type: 'string' },
      'renew-fraction': { type: 'string' },
      'ca-overlap': { type: 'string' },
      'cert-check-interval': { type: 'string' },
      events: { type: 'boolean' },
      'events-burst': { type: 'string' },
      'events-per-second': { type: 'string' },
      'events-series-interval': { type: 'string' },
      'cluster-view': { type: 'boolean' },
      'cluster-view-namespace': { type: 'string' },
    },
    strict: true,
  });
  // Asynchronous, batched stdout: a review never waits on a write(2) for its audit record, and
  // under load one write carries many records (a write per record cost more than the rule
  // evaluation). Lines wait for 4 KiB or at most LOG_FLUSH_MS; a graceful stop waits for them, and
  // an exit for any other reason writes what is left synchronously.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), LOG_FLUSH_MS).unref();
  process.on('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // stdout is gone or still busy: nothing more can be written
    }
  });
  const logger = pino(
    {
      level: values['log-level'] ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'cilium-guard' },
      timestamp: isoTimeOncePerMillisecond(),
    },
    destination,
  );
  const policy = await policyOrExit(values.config);
  const host = values.host ?? process.env.HOST ?? '0.0.0.0';
  const listenPort = port(values.port ?? process.env.PORT, 8443, '--port');
  const metricsPort = port(values['metrics-port'] ?? process.env.METRICS_PORT, 9090, '--metrics-port');
  const metrics = createMetrics();

  // The serving certificate: from the shared Secret, from files, or development certificates.
  const certificates = values['cert-secret']
    ? await startSecretCertificates(values, logger, metrics)
    : await fileCertificates(values, logger, metrics);
  const events = values.events ? await startEvents(values, logger, metrics) : undefined;
  const wantView = values['cluster-view'] === true || /^(1|true|yes)$/i.test(process.env.CILIUM_GUARD_CLUSTER_VIEW ?? '');
  const clusterView = wantView ? await startClusterView(values, policy, logger, metrics) : undefined;
  const tlsMin = values['tls-min-version'] ?? process.env.TLS_MIN_VERSION ?? '1.3';
  if (tlsMin !== '1.2' && tlsMin !== '1.3') fail(`--tls-min-version must be 1.2 or 1.3, got "${tlsMin}"`);
  const clientCAFile = values['client-ca'] ?? process.env.CLIENT_CA_FILE;
  const clientNames = list(values['client-names'] ?? process.env.CLIENT_NAMES);
  if (clientNames.length > 0 && !clientCAFile) fail('--client-names needs --client-ca');
  let clientCA: string | undefined;
  if (clientCAFile) {
    try {
      clientCA = readFileSync(clientCAFile, 'utf8');
      if (pemBlocks(clientCA).length === 0) throw new Error('no PEM certificate in it');
      for (const block of pemBlocks(clientCA)) new X509Certificate(block);
    } catch (err) {
      fail(`--client-ca ${clientCAFile}: ${(err as Error).message}`);
    }
  }
  const guard = buildServer({
    config: policy,
    logger,
    metrics,
    tls: {
      ...certificates.initial,
      minVersion: tlsMin === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
      ...(clientCA ? { clientCA, clientNames: clientNames.length > 0 ? clientNames : DEFAULT_CLIENT_NAMES } : {}),
    },
    eventsForUnauthenticated: values['events-unauthenticated'] === true,
    http2: values.http2 === true || /^(1|true|yes)$/i.test(process.env.CILIUM_GUARD_HTTP2 ?? ''),
    ...(events ? { events } : {}),
    ...(clusterView ? { clusterView: clusterView.cache } : {}),
  });
  const stopCertificates = certificates.attach(guard.app.server as unknown as HttpsServer);
  const stopClientCA = clientCAFile
    ? watchClientCA(guard.app.server as unknown as HttpsServer, clientCAFile, logger, 5000, (ca) =>
        metrics.certificateExpiry.set({ certificate: 'client-ca' }, expiryOf(ca) / 1000),
      )
    : undefined;
  if (!clientCA) logger.warn('no --client-ca: reviews are answered from any caller and recorded as unauthenticated; Events only with --events-unauthenticated');
  const metricsServer = createMetricsServer(metrics);
  await guard.app.listen({ port: listenPort, host });
  await new Promise<void>((resolve, reject) => {
    metricsServer.once('error', reject);
    metricsServer.listen(metricsPort, host, () => resolve());
  });
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
  logger.flush();

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining: finishing in-flight reviews, refusing new connections');
    guard.setDraining();
    void stopCertificates();
    stopClientCA?.();
    events?.stop();
    clusterView?.stop();
    metricsServer.close();
    // Connections stay open for DRAIN_CONNECTIONS_MS first: each review they carry meanwhile is
    // answered with `Connection: close` (see createServer), so the API server drops them cleanly
    // instead of racing the idle close below.
    void sleepMs(DRAIN_CONNECTIONS_MS)
      .then(() => guard.app.close())
      .then(() => {
        logger.info('stopped');
        // A stdout that no longer drains must not keep the pod in Terminating: the exit handler
        // writes what is left synchronously anyway.
        setTimeout(() => process.exit(0), 2000).unref();
        logger.flush(() => process.exit(0));
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * How long a stopping process keeps its connections (answering with `Connection: close`) before it
 * closes the idle ones: inside the preStop-then-grace budget, and long enough for a busy API server
 * to send once more on each pooled connection.
 */
const DRAIN_CONNECTIONS_MS = 1500;
const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The longest a log line waits in the buffer before it is written. */
const LOG_FLUSH_MS = 500;

/** pino's isoTime, formatted once per millisecond instead of once per line (it showed in profiles). */
function isoTimeOncePerMillisecond(): () => string {
  let last = -1;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== last) {
      last = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

function format(value: string | undefined): Format {
  const output = value ?? 'text';
  if (!(FORMATS as readonly string[]).includes(output)) fail(`--output must be one of ${FORMATS.join(', ')}, got "${output}"`);
  return output as Format;
}

async function policyOrExit(file: string | undefined): Promise<PolicyConfig> {
  const loaded = await loadConfig(file ?? process.env.CILIUM_GUARD_CONFIG);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`cilium-guard: invalid policy: ${e}\n`);
    process.exit(2);
  }
  return loaded.config;
}

async function rules(argv: string[]): Promise<void> {
  const { values } = parseOrFail({
    args: argv,
    options: { config: { type: 'string' }, output: { type: 'string', short: 'o' } },
    strict: true,
  });
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') fail(`--output must be text or json, got "${output}"`);
  const catalogue = ruleCatalogue(await policyOrExit(values.config));
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify({ rules: catalogue }, null, 2)}\n`);
    return;
  }
  const idWidth = Math.max(4, ...catalogue.map((r) => r.id.length));
  const lines = [`${'RULE'.padEnd(idWidth)}  MODE   PROTECTS`];
  for (const r of catalogue) {
    lines.push(`${r.id.padEnd(idWidth)}  ${r.mode.padEnd(5)}  ${r.protects}`);
    if (r.docs) lines.push(`${''.padEnd(idWidth)}         ${r.docs}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function check(argv: string[]): Promise<void> {
  const { values, positionals } = parseOrFail({
    args: argv,
    options: {
      config: { type: 'string' },
      output: { type: 'string', short: 'o' },
      strict: { type: 'boolean' },
      cluster: { type: 'string' },
      'skip-non-manifests': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const output = format(values.output);
  if (positionals.length === 0) fail('check needs at least one FILE, DIR or - (standard input)');
  const report = await checkFiles(positionals, await policyOrExit(values.config), {
    ...(values.cluster ? { clusterFile: values.cluster } : {}),
    ...(values['skip-non-manifests'] ? { skipNonManifests: true } : {}),
  });
  process.stdout.write(render(report, output));
  process.exitCode = exitCode(report, values.strict === true);
}

async function audit(argv: string[]): Promise<void> {
  const { values } = parseOrFail({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      config: { type: 'string' },
      output: { type: 'string', short: 'o' },
      strict: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      'page-size': { type: 'string' },
      progress: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    },
    strict: true,
  });
  const output = format(values.output);
  if (output === 'github') fail('audit reads a cluster, not files to annotate: --output text, json or policyreport');
  const pageSize = Number(values['page-size'] ?? '250');
  if (!Number.isInteger(pageSize) || pageSize < 1) fail(`--page-size must be a positive integer, got "${values['page-size']}"`);
  const config = await policyOrExit(values.config);
  const kc = await loadKubeConfig(values.kubeconfig);
  if (values.context) {
    if (!kc.getContextObject(values.context)) fail(`no context "${values.context}" in the kubeconfig`);
    kc.setCurrentContext(values.context);
  }
  const showProgress = values.quiet ? false : (values.progress ?? process.stderr.isTTY === true);
  const report = await auditCluster(kc, config, {
    ...(values.namespace ? { namespace: values.namespace } : {}),
    pageSize,
    ...(showProgress ? { progress: (m: string) => process.stderr.write(`audit: ${m}\n`) } : {}),
  });
  process.stdout.write(render(report, output, { showClean: values.verbose === true }));
  process.exitCode = exitCode(report, values.strict === true);
}

const stdio = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
};

async function alignCommand(argv: string[]): Promise<void> {
  const { values } = parseOrFail({
    args: argv,
    options: {
      talos: { type: 'string' },
      app: { type: 'string' },
      'app-values': { type: 'string', multiple: true },
      'chart-values': { type: 'string' },
      live: { type: 'boolean' },
      cluster: { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      config: { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
    strict: true,
  });
  const output = format(values.output);
  if (output === 'policyreport' || output === 'github') fail('align reports settings, not objects: --output text or json');
  const live = values.live === true || values.cluster !== undefined;
  if (live && values.talos) fail('align compares the Application with either --talos PATCH.yaml or what runs (--live, --cluster FILE), not both');
  if (values.live && values.cluster) fail('--live reads what runs from the cluster, --cluster FILE from a file: give one');
  if (!values.app || (!live && !values.talos)) fail('align needs --app APP.yaml and --talos PATCH.yaml, --live or --cluster FILE');
  if (!live && (values.kubeconfig || values.context)) fail('--kubeconfig and --context go with --live');
  const config = await policyOrExit(values.config);
  const aliases = config.limits.yamlAliases;
  const read = async (file: string) => {
    const input = await readYamlFile(file, aliases);
    if (input.errors.length > 0) {
      const report = summarize('align', { inputs: [file], errors: input.errors });
      process.stdout.write(render(report, output));
      process.exit(exitCode(report));
    }
    return input.documents;
  };
  const mapping = async (file: string) => {
    const doc = (await read(file))[0]?.value ?? {};
    if (!isObject(doc)) fail(`${file} is not a mapping of Helm values`);
    return doc;
  };
  const app = { file: values.app, documents: await read(values.app) };
  const appValues = await Promise.all((values['app-values'] ?? []).map(mapping));
  let report: Report;
  if (live) {
    const seen = values.cluster ? await viewFromFile(values.cluster, config) : await viewFromCluster(values.kubeconfig, values.context, config);
    report = 'errors' in seen ? summarize('align', { inputs: [seen.from], errors: seen.errors }) : alignLive({ app, appValues, view: seen.view, viewFrom: seen.from }, config);
  } else {
    const talos = { file: values.talos!, documents: await read(values.talos!) };
    const chartDefaults = values['chart-values'] ? await mapping(values['chart-values']) : undefined;
    report = align({ talos, app, appValues, ...(chartDefaults ? { chartDefaults } : {}) }, config);
  }
  process.stdout.write(render(report, output));
  process.exitCode = exitCode(report);
}

type SeenView = { view: ClusterView; from: string } | { errors: Report['errors']; from: string };

async function viewFromFile(file: string, config: PolicyConfig): Promise<SeenView> {
  const view = await readClusterViewFile(file, config);
  return Array.isArray(view) ? { errors: view, from: file } : { view, from: file };
}

/** What runs, read once through the kubeconfig as `audit` reads it (get/list on the two objects). */
async function viewFromCluster(kubeconfig: string | undefined, context: string | undefined, config: PolicyConfig): Promise<SeenView> {
  const kc = await loadKubeConfig(kubeconfig);
  if (context) {
    if (!kc.getContextObject(context)) fail(`no context "${context}" in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  const from = `cluster/${kc.getCurrentContext() || 'default'}`;
  const client = await import('../kube/client.js');
  const view = await readLiveView(client, kc, config);
  return typeof view === 'string' ? { errors: [{ source: from, message: view }], from } : { view, from };
}

function parseOrFail<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    fail((err as Error).message);
  }
}

async function uninstall(argv: string[]): Promise<void> {
  const { values } = parseOrFail({
    args: argv,
    options: {
      'validating-webhook': { type: 'string', multiple: true },
      'mutating-webhook': { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
    },
    strict: true,
  });
  process.exitCode = await uninstallWebhooks(
    { validating: values['validating-webhook'] ?? [], mutating: values['mutating-webhook'] ?? [] },
    stdio,
    values.kubeconfig,
  );
}

async function runSelftest(argv: string[]): Promise<void> {
  const { values } = parseOrFail({
    args: argv,
    options: { namespace: { type: 'string' }, webhook: { type: 'string' }, kubeconfig: { type: 'string' } },
    strict: true,
  });
  if (!values.namespace) fail('selftest needs --namespace');
  process.exitCode = await selftest(
    { namespace: values.namespace, webhook: values.webhook ?? 'applications.cilium-guard.io' },
    stdio,
    values.kubeconfig,
  );
}

async function healthcheck(argv: string[]): Promise<void> {
  const { values } = parseOrFail({ args: argv, options: { port: { type: 'string' } }, strict: true });
  const target = port(values.port ?? process.env.PORT, 8443, '--port');
  const https = await import('node:https');
  // Only a liveness check of this container's own server, so the certificate is not verified here.
  const ok = await new Promise<boolean>((resolve) => {
    const req = https.get({ host: '127.0.0.1', port: target, path: '/healthz', rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
  process.exitCode = ok ? 0 : 1;
}

async function main(): Promise<void> {
  const [first, ...rest] = process.argv.slice(2);
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) {
    command = first;
    const end = rest.indexOf('--');
    if ((end < 0 ? rest : rest.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
      process.stdout.write(commandUsage(first));
      return;
    }
  }
  switch (first) {
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
    case 'audit':
      return audit(rest);
    case 'align':
      return alignCommand(rest);
    case 'rules':
      return rules(rest);
    case 'uninstall':
      return uninstall(rest);
    case 'selftest':
      return runSelftest(rest);
    case 'healthcheck':
      return healthcheck(rest);
    case '--version':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return;
    case 'help': {
      const [topic] = rest;
      if (topic === undefined) process.stdout.write(USAGE);
      else if (Object.hasOwn(COMMANDS, topic)) process.stdout.write(commandUsage(topic));
      else fail(`no help for "${topic}": commands are ${Object.keys(COMMANDS).join(', ')}`);
      return;
    }
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    case undefined:
      return fail('a command is required');
    default:
      return fail(`unknown command "${first}"`);
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`cilium-guard: ${message}\n`);
  process.exit(2);
});
