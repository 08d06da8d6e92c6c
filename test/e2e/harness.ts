// The end-to-end harness: a real control plane on loopback (etcd and kube-apiserver built from
// their Go modules), Argo CD's real CRDs, cilium-guard run as its own process with the arguments
// the chart's Deployment gives it, and the chart's webhook configurations pointing at that process
// through `webhooks.url` (https://127.0.0.1:PORT; the API server checks the certificate against the
// caBundle and the IP SAN, as it would check <service>.<namespace>.svc in a cluster).
//
// cilium-guard runs as the chart's ServiceAccount, with a token from the TokenRequest API, so the
// chart's RBAC is what lets it fill its Secret and inject the caBundle. Everything is stopped by
// `stop()`, which tests register with t.teardown so it runs even when an assertion fails.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { NAMESPACE, RELEASE, applyDocs, createNamespaces, find, installArgoCRDs, releaseDocs, render } from '../helpers/chart.js';
import { REPO, example } from '../helpers/corpus.js';
import { type KeyPair } from '../../src/certs/pki.js';
import { clientCA as makeClientCA, issueClient } from '../helpers/client-certs.js';
import { type ControlPlane, freePort, startControlPlane } from '../helpers/kube.js';
import { helm } from '../helpers/tools.js';

export const BREAK_GLASS_USER = 'oncall-bob';
export const FULLNAME = `${RELEASE}-cilium-guard`;
export const VALIDATING = 'applications.cilium-guard.io';
export const CILIUM_CONFIG_WEBHOOK = 'cilium-config.cilium-guard.io';
// The bundle the image ships (scripts/bundle.mjs), not tsc's main.js: the suites run what users run.
export const MAIN = path.join(REPO, 'dist', 'bundle', 'cilium-guard.mjs');

export type Obj = Record<string, any>;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined, or throws after `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000, every = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(every);
  }
}

export interface GuardProcess {
  port: number;
  pid: number;
  url: string;
  metricsUrl: string;
  logs: Obj[];
  /** The first log line that matches, waiting for it: cilium-guard batches its stdout (up to 500 ms). */
  log(match: (line: Obj) => boolean, what: string): Promise<Obj>;
  /** Admission reviews answered so far (cilium_guard_admission_requests_total, all labels). */
  calls(): Promise<number>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/** Sums a Prometheus counter/gauge over the series whose labels include `labels`. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[4]);
  }
  return total;
}

export interface SpawnedGuard {
  child: ChildProcess;
  /** stdout, one parsed JSON line each (cilium-guard logs JSON). */
  logs: Obj[];
  /** The "cilium-guard ready" line: its validate, mutate and metrics URLs. */
  ready: Obj;
  exited: Promise<number | null>;
}

/**
 * Runs `node ARGS` (cilium-guard's main.js and its arguments), collects its log lines, and waits up
 * to 60 s for it to log that it is ready. It is killed if this process exits first.
 */
export async function spawnGuard(args: string[], options: { cwd?: string } = {}): Promise<SpawnedGuard> {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
  const logs: Obj[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l) as Obj);
      } catch {
        stderr.push(l);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const ready = await eventually(
    'cilium-guard to listen',
    async () => {
      if (child.exitCode !== null) throw new Error(`cilium-guard exited ${child.exitCode}: ${stderr.join('')}`);
      return logs.find((l) => l.msg === 'cilium-guard ready');
    },
    60_000,
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${stderr.join('')}`);
  });
  return { child, logs, ready, exited };
}

/**
 * Starts `cilium-guard serve` as the Deployment in `rendered` would, on 127.0.0.1:`port`, with the
 * chart's policy file, as the chart's ServiceAccount. `override` replaces or adds `--flag=value`s.
 */
export async function startGuardProcess(
  e: { cp: ControlPlane; dir: string; rendered: Obj[]; guardKubeconfig: string; clientAuth?: { caFile: string } },
  port: number,
  override: Record<string, string> = {},
  /** V8 flags before main.js (the benchmark passes the image's, bench/flags.ts). */
  nodeFlags: string[] = [],
): Promise<GuardProcess> {
  const deployment = e.rendered.find((d) => d.kind === 'Deployment');
  const configMap = e.rendered.find((d) => d.kind === 'ConfigMap' && d.data?.['policy.yaml'] !== undefined);
  if (!deployment || !configMap) throw new Error('the rendered chart has no Deployment or policy ConfigMap');
  const policyFile = path.join(e.dir, 'policy.yaml');
  writeFileSync(policyFile, configMap.data['policy.yaml']);
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (const a of deployment.spec.template.spec.containers[0].args as string[]) {
    const m = /^(--[\w-]+)=(.*)$/.exec(a);
    if (m) flags.set(m[1]!, m[2]!);
    else positional.push(a);
  }
  flags.set('--port', String(port));
  flags.set('--metrics-port', '0');
  flags.set('--host', '127.0.0.1');
  flags.set('--config', policyFile);
  flags.set('--kubeconfig', e.guardKubeconfig);
  // The chart mounts the client CA at /client-ca; here it is a file in the control plane's directory.
  if (e.clientAuth) flags.set('--client-ca', e.clientAuth.caFile);
  for (const [k, v] of Object.entries(override)) flags.set(k, v);
  const { logs, ready, exited, child } = await spawnGuard([...nodeFlags, MAIN, ...positional, ...[...flags].map(([k, v]) => `${k}=${v}`)]);
  const metricsUrl = String(ready.metrics);
  const scrape = async (): Promise<string> => (await fetch(metricsUrl)).text();
  return {
    port,
    pid: child.pid!,
    url: `https://127.0.0.1:${port}`,
    metricsUrl,
    logs,
    log: (match, what) => eventually(`cilium-guard to log ${what}`, async () => logs.find(match), 5_000),
    calls: async () => sumMetric(await scrape(), 'cilium_guard_admission_requests_total'),
    metric: async (name, labels) => sumMetric(await scrape(), name, labels),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** An API server's answer to one REST call: status, the decoded body, and each `Warning` header's text. */
export interface ApiAnswer {
  status: number;
  body: Obj;
  warnings: string[];
}

/**
 * The texts of the `Warning: 299 - "text"` headers, one per header: RFC 7234 quoting undone, and
 * the UTF-8 the API server sends restored (Node reads header bytes as Latin-1).
 */
export function warningTexts(rawHeaders: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'warning') continue;
    const value = Buffer.from(rawHeaders[i + 1]!, 'latin1').toString('utf8');
    const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(value);
    out.push(m ? m[1]!.replace(/\\(.)/g, '$1') : value);
  }
  return out;
}

/**
 * One REST call to the API server with the identity of `kubeconfig` (one the harness wrote: a
 * token and the API server's CA), as client-go makes it. Unlike client-node it keeps every Warning
 * header apart, so a test can read each admission warning whole.
 */
export function apiRequest(kubeconfig: string, method: string, apiPath: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer> {
  const config = JSON.parse(readFileSync(kubeconfig, 'utf8')) as Obj;
  const server = new URL(String(config.clusters[0].cluster.server));
  const ca = readFileSync(String(config.clusters[0].cluster['certificate-authority']), 'utf8');
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: server.hostname,
        port: server.port,
        method,
        path: apiPath,
        ca,
        headers: {
          authorization: `Bearer ${String(config.users[0].user.token)}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Obj) : {}, warnings: warningTexts(res.rawHeaders) });
          } catch (err) {
            reject(new Error(`${method} ${apiPath}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)} (${String(err)})`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface Cluster {
  cp: ControlPlane;
  dir: string;
  rendered: Obj[];
  guard: GuardProcess;
  guardKubeconfig: string;
  /** kubeconfig files: an ordinary user with cluster-admin, and the break-glass user. */
  asAlice: string;
  asBreakGlass: string;
  /**
   * With client authentication (the default): the CA cilium-guard trusts for callers, and the
   * client certificate (CN kube-apiserver) the API server presents to webhooks.
   */
  clientAuth?: { ca: KeyPair; apiserver: KeyPair; caFile: string };
  /** client-node, as alice. */
  custom: k8s.CustomObjectsApi;
  core: k8s.CoreV1Api;
  kubectl(args: string[], input?: unknown, kubeconfig?: string): Promise<{ stdout: string; stderr: string; code: number }>;
  /** A REST call as alice (or as `kubeconfig`), every Warning header kept: see apiRequest. */
  request(method: string, apiPath: string, body?: unknown, kubeconfig?: string): Promise<ApiAnswer>;
  /**
   * The real helm (scripts/tools.sh) as the admin, against this API server only: `--kubeconfig`
   * is the harness's, helm's own homes are in the control plane's directory, and no HELM_* or
   * KUBECONFIG variable of the caller's environment reaches it. Killed after `timeoutMs`.
   */
  helm(args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string; code: number }>;
  /** cilium-guard's /readyz over HTTPS, verified against the CA it keeps in its Secret. */
  readyz(): Promise<{ status: number; body: Obj }>;
  /** Waits until the API server calls the webhook for Applications and its TLS check passes. */
  webhooksReady(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A control plane with the chart's RBAC, Secret and webhook configurations (url mode, selfSigned
 * certificates: cilium-guard fills the Secret and injects the caBundle itself), and a running
 * cilium-guard. `set` goes to the chart; `guardFlags` overrides the Deployment's arguments.
 * `clientAuth` (default true) is the recommended set-up: the API server presents a client
 * certificate to webhooks (admission configuration kubeConfigFile) and cilium-guard requires it
 * (chart clientAuth.enabled, --client-ca); false runs both without it.
 */
export async function startCluster(
  options: { set?: Record<string, unknown>; guardFlags?: Record<string, string>; allowPrivileged?: boolean; clientAuth?: boolean } = {},
): Promise<Cluster> {
  const withClientAuth = options.clientAuth !== false;
  const clientCA = withClientAuth ? await makeClientCA() : undefined;
  const apiserverClient = clientCA ? await issueClient(clientCA, 'kube-apiserver') : undefined;
  const cp = await startControlPlane({
    users: { [BREAK_GLASS_USER]: ['cilium-guard:break-glass'], alice: ['dev'] },
    ...(options.allowPrivileged ? { allowPrivileged: true } : {}),
    ...(apiserverClient ? { webhookClient: apiserverClient } : {}),
  });
  const clientAuth = clientCA && apiserverClient ? { ca: clientCA, apiserver: apiserverClient, caFile: path.join(cp.dir, 'webhook-client-ca.crt') } : undefined;
  if (clientAuth) writeFileSync(clientAuth.caFile, clientAuth.ca.cert);
  let guard: GuardProcess | undefined;
  try {
    await installArgoCRDs(cp);
    await createNamespaces(cp, [NAMESPACE, 'argocd', 'kube-system']);
    await cp.kubectl(['create', 'clusterrolebinding', 'test-users-admin', '--clusterrole=cluster-admin', `--user=${BREAK_GLASS_USER}`, '--user=alice']);
    const port = await freePort();
    const r = await render({
      set: {
        'webhooks.url': `https://127.0.0.1:${port}`,
        'validatingAdmissionPolicy.enabled': false,
        ...(clientAuth ? { 'clientAuth.enabled': true, 'clientAuth.caConfigMap': 'apiserver-client-ca' } : {}),
        ...options.set,
      },
    });
    const rendered = releaseDocs(r);
    // What a cluster would hold, minus the workload (it runs here as a process).
    const objects = rendered.filter((d) => !['Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy'].includes(d.kind));
    await applyDocs(cp, objects);
    const sa = find(r, 'ServiceAccount').metadata.name as string;
    const token = await cp.kubectl(['create', 'token', sa, '-n', NAMESPACE, '--duration=2h']);
    if (token.code !== 0) throw new Error(`token: ${token.stderr}`);
    const guardKubeconfig = cp.kubeconfigFor(token.stdout.trim());
    const base = { cp, dir: cp.dir, rendered, guardKubeconfig, ...(clientAuth ? { clientAuth } : {}) };
    guard = await startGuardProcess(base, port, options.guardFlags);
    const asAlice = cp.kubeconfigFor('alice');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(asAlice);
    const kubectl = (args: string[], input?: unknown, kubeconfig = asAlice) =>
      cp.kubectl(args, { kubeconfig, ...(input === undefined ? {} : { input: typeof input === 'string' ? input : JSON.stringify(input) }) });
    const cluster: Cluster = {
      ...base,
      guard,
      asAlice,
      asBreakGlass: cp.kubeconfigFor(BREAK_GLASS_USER),
      ...(clientAuth ? { clientAuth } : {}),
      custom: kc.makeApiClient(k8s.CustomObjectsApi),
      core: kc.makeApiClient(k8s.CoreV1Api),
      kubectl,
      request: (method, apiPath, body, kubeconfig = asAlice) => apiRequest(kubeconfig, method, apiPath, body),
      helm(args, timeoutMs = 120_000) {
        const home = path.join(cp.dir, 'helm');
        const env: NodeJS.ProcessEnv = {};
        for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HELM_') && k !== 'KUBECONFIG') env[k] = v;
        for (const d of ['cache', 'config', 'data']) {
          env[`HELM_${d.toUpperCase()}_HOME`] = path.join(home, d);
          mkdirSync(path.join(home, d), { recursive: true });
        }
        env.KUBECONFIG = cp.kubeconfig;
        return new Promise((resolve) => {
          execFile(helm(), [...args, `--kubeconfig=${cp.kubeconfig}`], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
            resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }),
          );
        });
      },
      async readyz() {
        const secret = await cluster.core.readNamespacedSecret({ namespace: NAMESPACE, name: `${FULLNAME}-tls` });
        const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
        return new Promise((resolve, reject) => {
          const req = https.get({ host: '127.0.0.1', port: cluster.guard.port, path: '/readyz', ca, timeout: 10_000 }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Obj }));
          });
          req.on('timeout', () => req.destroy(new Error('/readyz: no answer in 10 s')));
          req.on('error', reject);
        });
      },
      async webhooksReady() {
        // The API server picks up webhook configurations (and their caBundle) asynchronously.
        const probe = application('readiness-probe', (a) => (a.spec.destination.namespace = 'elsewhere'));
        await eventually('the API server to call cilium-guard', async () => {
          const out = await kubectl(['create', '--dry-run=server', '-f', '-'], probe);
          return /denied the request/.test(out.stderr) ? true : undefined;
        });
      },
      async stop() {
        await cluster.guard.stop();
        await cp.stop();
      },
    };
    await cluster.webhooksReady();
    return cluster;
  } catch (err) {
    await guard?.stop();
    await cp.stop();
    throw err;
  }
}

const goodApp = example('01-app-cilium-good.yaml') as Obj;
/** The golden Cilium Application from ../shared/examples, renamed, then edited. */
export function application(name: string, edit: (a: Obj) => void = () => {}, namespace = 'argocd'): Obj {
  const a = structuredClone(goodApp);
  a.metadata = { ...a.metadata, name, namespace };
  edit(a);
  return a;
}

const goodAppSet = example('03-appset-cilium-good.yaml') as Obj;
export function applicationSet(name: string, edit: (a: Obj) => void = () => {}): Obj {
  const a = structuredClone(goodAppSet);
  a.metadata = { ...a.metadata, name, namespace: 'argocd' };
  edit(a);
  return a;
}

/**
 * A cilium-config with the given kube-proxy-replacement. It also holds `ipam: kubernetes`, as the
 * chart writes it for the golden Application's (Talos') values: without the key the agent runs
 * cluster-pool IPAM, and L1 would refuse every golden Application as a live IPAM change. The keys
 * left out are the ones whose absence means what the golden Application renders.
 */
export function ciliumConfig(kpr: string, namespace = 'kube-system'): Obj {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace }, data: { 'kube-proxy-replacement': kpr, ipam: 'kubernetes' } };
}
