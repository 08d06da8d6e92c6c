// The real Argo CD as an end-to-end client (npm run test:argocd). On top of the e2e harness (a real
// kube-apiserver and etcd on loopback, cilium-guard from our chart in url mode, run as a process):
//   - a Helm repository on 127.0.0.1 serving the Cilium charts of ../shared/upstream (and, for the
//     self-management phase, our own chart, packaged);
//   - redis-server (Debian's) on a port of its own;
//   - argocd-repo-server, argocd-application-controller and argocd-applicationset-controller, one
//     multi-call binary built from Argo CD's Go module by scripts/tools.sh, as local processes the
//     way Argo CD's own Procfile runs them (ARGOCD-E2E-NOTES.md), each on ports of its own and with
//     its own ServiceAccount token, so cilium-guard sees the identities a cluster would show it.
// Nothing listens beyond 127.0.0.1 except the application controller's metrics port (it has no
// address flag), and nothing dials beyond it: the only repository is the local one.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, type WriteStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type Cluster, type GuardProcess, type Obj, application, eventually, sleep, startCluster, startGuardProcess, sumMetric } from '../e2e/harness.js';
import { applyDocs, releaseDocs, render } from '../helpers/chart.js';
import { SHARED } from '../helpers/corpus.js';
import { freePort } from '../helpers/kube.js';
import { argocdDir, helm, redisServer } from '../helpers/tools.js';

export const ARGOCD_NS = 'argocd';
export const CONTROLLER_SA = 'argocd-application-controller';
export const APPSET_SA = 'argocd-applicationset-controller';
export const CONTROLLER_USER = `system:serviceaccount:${ARGOCD_NS}:${CONTROLLER_SA}`;
export const APPSET_USER = `system:serviceaccount:${ARGOCD_NS}:${APPSET_SA}`;

/** What Talos installs Cilium with (the Talos guide's kube-proxy-free values, as in the user's file). */
export const TALOS_VALUES = {
  ipam: { mode: 'kubernetes' },
  kubeProxyReplacement: true,
  k8sServiceHost: 'localhost',
  k8sServicePort: 7445,
  securityContext: {
    capabilities: {
      ciliumAgent: ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'],
      cleanCiliumState: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE'],
    },
  },
  cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
};

/** A child process whose output goes to a file and, line by line (JSON where it parses), to memory. */
export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Every line; JSON lines parsed, others as { raw }. */
  lines: Obj[];
  /** The last `n` lines as text, for failure messages. */
  tail(n?: number): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function startProc(name: string, bin: string, args: string[], env: Record<string, string>, dir: string): Proc {
  const logFile = path.join(dir, `${name}.log`);
  const out: WriteStream = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(bin, args, { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Obj[] = [];
  const text: string[] = [];
  const feed = (): ((chunk: Buffer) => void) => {
    let buffered = '';
    return (chunk) => {
      out.write(chunk);
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const l of parts) {
        text.push(l);
        if (text.length > 400) text.shift();
        try {
          const v = JSON.parse(l) as unknown;
          lines.push(v && typeof v === 'object' ? (v as Obj) : { raw: l });
        } catch {
          lines.push({ raw: l });
        }
        if (lines.length > 200_000) lines.splice(0, 50_000);
      }
    };
  };
  child.stdout!.on('data', feed());
  child.stderr!.on('data', feed());
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => {
    process.removeListener('exit', killOnExit);
    out.end();
  });
  return {
    name,
    child,
    logFile,
    lines,
    tail: (n = 40) => text.slice(-n).join('\n'),
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (or throws after `ms`). */
export async function waitPort(port: number, what: string, proc?: Proc, ms = 60_000): Promise<void> {
  await eventually(
    what,
    async () => {
      if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited ${proc.child.exitCode}:\n${proc.tail()}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port }, () => {
          s.end();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      return ok ? true : undefined;
    },
    ms,
  );
}

export interface HelmRepo {
  url: string;
  dir: string;
  /** Request paths served, in order (index.yaml and chart downloads). */
  requests: string[];
  /** Copies a chart archive in and rewrites index.yaml. */
  add(tgz: string): Promise<void>;
  stop(): Promise<void>;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Our own helm calls: Helm's state in the test directory, never in $HOME. */
export function helmEnv(dir: string, kubeconfig?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: path.join(dir, 'home'),
    HELM_CACHE_HOME: path.join(dir, 'helm', 'cache'),
    HELM_CONFIG_HOME: path.join(dir, 'helm', 'config'),
    HELM_DATA_HOME: path.join(dir, 'helm', 'data'),
    ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}),
  };
}

/** A static Helm repository (index.yaml + archives) on 127.0.0.1, as helm.cilium.io would serve it. */
export async function startHelmRepo(dir: string): Promise<HelmRepo> {
  const root = path.join(dir, 'helm-repo');
  mkdirSync(root, { recursive: true });
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '');
    requests.push(`/${name}`);
    const file = path.join(root, name);
    if (name.includes('..') || name.includes('/') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${port}`;
  const index = async (): Promise<void> => {
    const r = await run(helm(), ['repo', 'index', root, '--url', url], helmEnv(dir));
    if (r.code !== 0) throw new Error(`helm repo index: ${r.stderr}`);
  };
  const repo: HelmRepo = {
    url,
    dir: root,
    requests,
    async add(tgz) {
      copyFileSync(tgz, path.join(root, path.basename(tgz)));
      await index();
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  for (const f of readdirSync(path.join(SHARED, 'upstream', 'cilium')).filter((f) => f.endsWith('.tgz'))) {
    copyFileSync(path.join(SHARED, 'upstream', 'cilium', f), path.join(root, f));
  }
  await index();
  return repo;
}

export async function startRedis(dir: string): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const data = path.join(dir, 'redis');
  mkdirSync(data, { recursive: true });
  const proc = startProc(
    'redis',
    redisServer(),
    ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(port), '--dir', data, '--protected-mode', 'yes', '--daemonize', 'no'],
    { PATH: '/usr/bin:/bin' },
    dir,
  );
  await waitPort(port, 'redis-server to listen', proc, 30_000);
  return { port, proc };
}

/** The documents of a YAML file (Argo CD's manifests), nulls dropped. */
export function yamlDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

export interface ArgoProcesses {
  repoServer: Proc;
  controller: Proc;
  appset: Proc;
  controllerMetricsUrl: string;
  repoMetricsUrl: string;
  /** The application controller's Prometheus text. */
  controllerMetrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface ArgoEnv {
  cluster: Cluster;
  dir: string;
  repo: HelmRepo;
  redis: { port: number; proc: Proc };
  /** The Argo CD build: argocd, crds/, config/. */
  argocd: string;
  argo?: ArgoProcesses;
  controllerKubeconfig: string;
  appsetKubeconfig: string;
  /** Runs our helm (isolated state) with the admin kubeconfig. */
  helm(args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Admin kubectl (JSON input when an object is given). */
  kubectl(args: string[], input?: unknown): Promise<{ stdout: string; stderr: string; code: number }>;
  getJson(args: string[]): Promise<Obj>;
  /** Starts the three Argo CD processes (argocd-cm must exist first). */
  startArgo(options?: { appResyncSeconds?: number }): Promise<ArgoProcesses>;
  /** Every log line of every cilium-guard process this run started, in order (it is restarted). */
  guardLogs(): Obj[];
  /** Admission reviews answered by all of them (cilium_guard_admission_requests_total summed). */
  guardCalls(): Promise<number>;
  /** Stops cilium-guard (the process) and starts it again on the same port, same Secret. */
  stopGuard(): Promise<void>;
  startGuard(): Promise<GuardProcess>;
  /**
   * Whether the API server sends Applications to cilium-guard's webhook right now, by a server-side
   * dry run only the webhook refuses (kube-proxy replacement off: R4 needs the Helm values, which the
   * ValidatingAdmissionPolicy does not read). `webhooksReady`/`webhooksGone` wait for either answer.
   */
  webhookAnswers(): Promise<boolean>;
  webhooksReady(): Promise<void>;
  webhooksGone(): Promise<void>;
  /** Starts cilium-guard again if a test stopped it (for finally blocks). */
  ensureGuard(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A control plane (with --allow-privileged=true: Cilium's pod templates are privileged), cilium-guard
 * from our chart in url mode with its default ValidatingAdmissionPolicy (debug log level: one line per
 * review), Argo CD's CRDs from the build,
 * its default config minus argocd-cm (the test writes that one, through the mutating webhook), the
 * AppProjects `default` and `platform`, redis, and the local Helm repository. Argo CD itself starts
 * with `startArgo()`.
 */
export async function startArgoEnv(): Promise<ArgoEnv> {
  const argocd = argocdDir();
  redisServer();
  const guardFlags = { '--log-level': 'debug' };
  const cluster = await startCluster({ allowPrivileged: true, guardFlags });
  const dir = cluster.dir;
  const stops: Array<() => Promise<void>> = [];
  try {
    const kubectl = (args: string[], input?: unknown) =>
      cluster.cp.kubectl(args, input === undefined ? {} : { input: typeof input === 'string' ? input : JSON.stringify(input) });
    const must = async (args: string[], input?: unknown): Promise<string> => {
      const r = await kubectl(args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const getJson = async (args: string[]): Promise<Obj> => JSON.parse(await must(['get', ...args, '-o', 'json'])) as Obj;

    // The chart's defaults include its ValidatingAdmissionPolicy, which the e2e harness leaves out to
    // see the webhook alone: here it is applied too, as the same release renders it, since that is
    // what Argo CD meets in a cluster.
    const withPolicy = releaseDocs(await render({ set: { 'webhooks.url': cluster.guard.url, 'validatingAdmissionPolicy.enabled': true } }));
    await applyDocs(cluster.cp, withPolicy.filter((d) => d.kind === 'ValidatingAdmissionPolicy' || d.kind === 'ValidatingAdmissionPolicyBinding'));

    // Argo CD's own CRDs, of the version built (the e2e harness installed the shared copies first).
    for (const f of readdirSync(path.join(argocd, 'crds'))) {
      await must(['apply', '--server-side', '--force-conflicts', '-f', path.join(argocd, 'crds', f)]);
    }
    // Its default config, except argocd-cm (the test applies that one, as a user would).
    for (const f of readdirSync(path.join(argocd, 'config'))) {
      if (f === 'argocd-cm.yaml') continue;
      for (const d of yamlDocs(path.join(argocd, 'config', f))) await must(['apply', '-n', ARGOCD_NS, '-f', '-'], d);
    }
    // argocd-server generates server.secretkey on its first start; it does not run here, and without
    // the key the controllers ignore every later change of their settings ("Unable to parse updated
    // settings: server.secretkey is missing"), argocd-cm included.
    await must(['patch', 'secret', 'argocd-secret', '-n', ARGOCD_NS, '--type=merge', '-p', JSON.stringify({ stringData: { 'server.secretkey': randomBytes(32).toString('base64') } })]);
    // argocd-server creates the default AppProject; it does not run here. The user's file uses `platform`.
    for (const name of ['default', 'platform']) {
      await must(['apply', '-f', '-'], {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name, namespace: ARGOCD_NS },
        spec: {
          sourceRepos: ['*'],
          destinations: [{ server: '*', namespace: '*' }],
          clusterResourceWhitelist: [{ group: '*', kind: '*' }],
        },
      });
    }
    // The controllers' identities: ServiceAccounts with tokens, so the API server (and cilium-guard)
    // sees system:serviceaccount:argocd:<name>, as in a cluster. Upstream grants the application
    // controller everything; the applicationset controller gets the same here for brevity.
    const kubeconfigs: string[] = [];
    for (const sa of [CONTROLLER_SA, APPSET_SA]) {
      await must(['create', 'serviceaccount', sa, '-n', ARGOCD_NS]);
      await must(['create', 'clusterrolebinding', sa, '--clusterrole=cluster-admin', `--serviceaccount=${ARGOCD_NS}:${sa}`]);
      const token = (await must(['create', 'token', sa, '-n', ARGOCD_NS, '--duration=2h'])).trim();
      kubeconfigs.push(cluster.cp.kubeconfigFor(token));
    }
    const [controllerKubeconfig, appsetKubeconfig] = kubeconfigs as [string, string];

    const redis = await startRedis(dir);
    stops.push(() => redis.proc.stop());
    const repo = await startHelmRepo(dir);
    stops.push(() => repo.stop());
    const bin = path.join(argocd, 'argocd');

    // What the cilium-guard processes stopped so far logged and answered.
    const earlierLogs: Obj[] = [];
    let earlierCalls = 0;
    let stoppedGuard: GuardProcess | undefined;
    const env: ArgoEnv = {
      cluster,
      dir,
      repo,
      redis,
      argocd,
      controllerKubeconfig,
      appsetKubeconfig,
      helm: (args) => run(helm(), args, helmEnv(dir, cluster.cp.kubeconfig)),
      kubectl,
      getJson,
      async startArgo(options = {}) {
        const home = path.join(dir, 'home');
        const base = (name: string): Record<string, string> => {
          const tmp = path.join(dir, `${name}-tmp`);
          for (const d of [home, tmp, path.join(dir, 'tls'), path.join(dir, 'ssh'), path.join(dir, 'gpg')]) mkdirSync(d, { recursive: true });
          return {
            PATH: `${path.dirname(helm())}:/usr/bin:/bin`,
            HOME: home,
            TMPDIR: tmp,
            NO_PROXY: '*',
            ARGOCD_BINARY_NAME: name,
            ARGOCD_TLS_DATA_PATH: path.join(dir, 'tls'),
            ARGOCD_SSH_DATA_PATH: path.join(dir, 'ssh'),
            ARGOCD_GNUPGHOME: path.join(dir, 'gpg'),
            ARGOCD_GPG_ENABLED: 'false',
          };
        };
        const [repoPort, repoMetrics, ctlMetrics, commitPort, appsetMetrics, appsetProbe, appsetWebhook] = [
          await freePort(),
          await freePort(),
          await freePort(),
          await freePort(),
          await freePort(),
          await freePort(),
          await freePort(),
        ];
        const started: Proc[] = [];
        try {
          // The repo-server runs helm from PATH; it sets Helm's directories per call itself.
          const repoServer = startProc(
            'argocd-repo-server',
            bin,
            ['--address', '127.0.0.1', '--port', String(repoPort), '--metrics-address', '127.0.0.1', '--metrics-port', String(repoMetrics), '--redis', `127.0.0.1:${redis.port}`, '--logformat', 'json'],
            { ...base('argocd-repo-server'), ARGOCD_ASK_PASS_SOCK: path.join(dir, 'askpass.sock') },
            dir,
          );
          started.push(repoServer);
          await waitPort(repoPort, 'argocd-repo-server to listen', repoServer, 120_000);
          const resync = String(options.appResyncSeconds ?? 10);
          const controller = startProc(
            'argocd-application-controller',
            bin,
            [
              '--kubeconfig', controllerKubeconfig,
              '--namespace', ARGOCD_NS,
              '--redis', `127.0.0.1:${redis.port}`,
              '--repo-server', `127.0.0.1:${repoPort}`,
              '--commit-server', `127.0.0.1:${commitPort}`,
              '--metrics-port', String(ctlMetrics),
              '--app-resync', resync,
              '--app-resync-jitter', '0',
              '--status-processors', '2',
              '--operation-processors', '2',
              '--hydrator-enabled=false',
              '--logformat', 'json',
            ],
            // The in-cluster destination (https://kubernetes.default.svc) reads $KUBECONFIG with this set.
            { ...base('argocd-application-controller'), ARGOCD_FAKE_IN_CLUSTER: 'true', KUBECONFIG: controllerKubeconfig },
            dir,
          );
          started.push(controller);
          await waitPort(ctlMetrics, 'argocd-application-controller metrics', controller, 120_000);
          const appset = startProc(
            'argocd-applicationset-controller',
            bin,
            [
              '--kubeconfig', appsetKubeconfig,
              '--namespace', ARGOCD_NS,
              '--argocd-repo-server', `127.0.0.1:${repoPort}`,
              '--metrics-addr', `127.0.0.1:${appsetMetrics}`,
              '--probe-addr', `127.0.0.1:${appsetProbe}`,
              '--webhook-addr', `127.0.0.1:${appsetWebhook}`,
              '--enable-leader-election=false',
              '--enable-scm-providers=false',
              '--logformat', 'json',
            ],
            { ...base('argocd-applicationset-controller'), ARGOCD_FAKE_IN_CLUSTER: 'true', KUBECONFIG: appsetKubeconfig },
            dir,
          );
          started.push(appset);
          await waitPort(appsetProbe, 'argocd-applicationset-controller probe', appset, 120_000);
          const controllerMetricsUrl = `http://127.0.0.1:${ctlMetrics}/metrics`;
          const procs: ArgoProcesses = {
            repoServer,
            controller,
            appset,
            controllerMetricsUrl,
            repoMetricsUrl: `http://127.0.0.1:${repoMetrics}/metrics`,
            controllerMetrics: async () => (await fetch(controllerMetricsUrl)).text(),
            async stop() {
              for (const p of [appset, controller, repoServer]) await p.stop();
            },
          };
          env.argo = procs;
          return procs;
        } catch (err) {
          for (const p of started.reverse()) await p.stop();
          throw err;
        }
      },
      guardLogs: () => [...earlierLogs, ...cluster.guard.logs],
      guardCalls: async () => earlierCalls + (stoppedGuard === cluster.guard ? 0 : await cluster.guard.calls()),
      async stopGuard() {
        const calls = await cluster.guard.calls();
        await cluster.guard.stop();
        await sleep(600); // its last batched log lines
        earlierCalls += calls;
        earlierLogs.push(...cluster.guard.logs);
        stoppedGuard = cluster.guard;
      },
      async startGuard() {
        stoppedGuard = undefined;
        cluster.guard = await startGuardProcess(
          { cp: cluster.cp, dir, rendered: cluster.rendered, guardKubeconfig: cluster.guardKubeconfig, ...(cluster.clientAuth ? { clientAuth: cluster.clientAuth } : {}) },
          cluster.guard.port,
          guardFlags,
        );
        return cluster.guard;
      },
      async webhookAnswers() {
        const probe = application('webhook-probe', (a) => (a.spec.source.helm.valuesObject.kubeProxyReplacement = false));
        const out = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], probe);
        return /admission webhook "applications\.cilium-guard\.io" denied the request/.test(out.stderr);
      },
      webhooksReady: () => eventually('the API server to call cilium-guard', async () => ((await env.webhookAnswers()) ? true : undefined)).then(() => undefined),
      webhooksGone: () => eventually('the API server to stop calling cilium-guard', async () => ((await env.webhookAnswers()) ? undefined : true)).then(() => undefined),
      async ensureGuard() {
        if (stoppedGuard === cluster.guard) {
          await env.startGuard();
          await env.webhooksReady();
        }
      },
      async stop() {
        await env.argo?.stop();
        for (const s of stops.reverse()) await s();
        await cluster.stop();
      },
    };
    return env;
  } catch (err) {
    for (const s of stops.reverse()) await s();
    await cluster.stop();
    throw err;
  }
}

/** The application controller's gauge `name` for the in-cluster destination. */
export function clusterGauge(metricsText: string, name: string): number {
  return sumMetric(metricsText, name);
}

export { eventually, sleep, sumMetric, type Obj };

/** Hex address of /proc/net/{tcp,udp}[6] ("0100007F:1F90") -> "127.0.0.1:8080" / "[::1]:8080". */
function procAddress(hex: string): { ip: string; port: number; loopback: boolean } {
  const [a, p] = hex.split(':') as [string, string];
  const port = parseInt(p, 16);
  if (a.length === 8) {
    const ip = [3, 2, 1, 0].map((i) => parseInt(a.slice(i * 2, i * 2 + 2), 16)).join('.');
    return { ip, port, loopback: ip.startsWith('127.') || ip === '0.0.0.0' };
  }
  // IPv6: four little-endian 32-bit words.
  const words = [0, 1, 2, 3].map((w) => a.slice(w * 8, w * 8 + 8).match(/../g)!.reverse().join(''));
  const full = words.join('').toLowerCase();
  const ip = full.match(/..../g)!.join(':');
  const v4mapped = full.startsWith('00000000000000000000ffff');
  const v4 = v4mapped ? [24, 26, 28, 30].map((i) => parseInt(full.slice(i, i + 2), 16)).join('.') : '';
  const loopback = full === '00000000000000000000000000000001' || full === '0'.repeat(32) || (v4mapped && v4.startsWith('127.'));
  return { ip: v4mapped ? v4 : ip, port, loopback };
}

/**
 * The sockets of these processes whose peer is not a loopback address (TCP and UDP, v4 and v6), as
 * the kernel shows them right now: what the network rule forbids. Unconnected sockets have a zero peer.
 */
export function nonLoopbackPeers(pids: number[]): string[] {
  const inodes = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.set(m[1]!, pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  const out: string[] = [];
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const pid = inodes.get(f[9]!);
      if (pid === undefined) continue;
      const peer = procAddress(f[2]!);
      if (!peer.loopback) out.push(`${table} pid ${pid} -> ${peer.ip}:${peer.port}`);
    }
  }
  return out;
}
