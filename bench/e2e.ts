// `npm run bench:e2e`: what an admission check adds to each write, as users feel it, through a
// real kube-apiserver (etcd and kube-apiserver from scripts/tools.sh, the e2e harness's pieces).
// One control plane, one namespace per way of checking Applications, all measured in one run:
//
//   floor     no admission at all on that namespace
//   vap       the chart's ValidatingAdmissionPolicy alone (evaluated inside the API server)
//   guard-h1  cilium-guard as the chart deploys it (HTTP/1.1)
//   guard-h2  a second cilium-guard offering HTTP/2 as well (--http2)
//   kyverno   Kyverno's admission controller (scripts/peers.sh), run outside a cluster the way its
//             development guide does, with a ClusterPolicy expressing R1-R3
//
// At each concurrency (1, 8, 32, 128 writers) each namespace gets the same Application writes
// (a CREATE and then an UPDATE that changes spec, one app in four a Cilium app, the rest other
// apps), in rounds whose order rotates so drift in the machine's load hits every side alike.
// Each side is measured alone: every measured block checks, by the API server's call counts per
// webhook, that no other side's webhook was called (Kyverno's was, for every side's writes, until
// 2026-11-28: the floor's p50 was 8.4 ms with it and 2.9 ms without), and while it runs every other
// webhook process is stopped (SIGSTOP), so that none's background work (Kyverno's health-check
// lease, its controllers) shares the two cores. A stopped webhook is resumed for its own writes once
// its CPU use has settled (at most 10 s). The warm-ups run with every webhook live, and what each
// uses there while not called is reported.
// Writers talk to the API server on 127.0.0.1; the API server reaches every webhook by URL on
// 127.0.0.1 (E2E-NOTES' network rule). Every loop is bounded in count and in time.
//
//   npm run bench:e2e [-- --writes 400] [--concurrency 1,8,32,128] [--rounds 2] [--no-peers]
//                     [--only floor,vap,guard-h1,guard-h2,kyverno] [--json]
//
// Never a pass/fail test: the exit code says only whether the benchmark itself worked (every
// side set up and answering as expected), not whether any number was good.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { loadavg } from 'node:os';
import path from 'node:path';
import { NAMESPACE, applyDocs, createNamespaces, installArgoCRDs, releaseDocs, render } from '../test/helpers/chart.js';
import { clientCA as makeClientCA, issueClient } from '../test/helpers/client-certs.js';
import { REPO } from '../test/helpers/corpus.js';
import { type ControlPlane, freePort, startControlPlane } from '../test/helpers/kube.js';
import { type GuardProcess, type Obj, application, startGuardProcess } from '../test/e2e/harness.js';
import { benchArgs, numberArg } from './args.js';
import { NODE_FLAGS } from './flags.js';
import { cpuSecondsOf, machine, peakRssOf } from './proc.js';
import { generateCertificates } from '../src/certs/dev.js';

const args = benchArgs(
  {
    writes: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '1,8,32,128' },
    rounds: { type: 'string', default: '2' },
    'no-peers': { type: 'boolean', default: false },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  'usage: npm run bench:e2e [-- --writes 400] [--concurrency 1,8,32,128] [--rounds 2] [--no-peers]\n' +
    '                          [--only floor,vap,webhook,guard-h1,guard-h2,kyverno] [--json]',
);
const WRITES = numberArg('writes', args.writes, 1);
const LEVELS = args.concurrency.split(',').map((c) => numberArg('concurrency', c, 1));
const ROUNDS = numberArg('rounds', args.rounds, 1);
/** Hard bounds (E2E-NOTES: load tests are bounded in count and time). */
const MAX_WRITES = 5000;
const BLOCK_SECONDS = 120;
const RUN_SECONDS = 40 * 60;
if (!(WRITES >= 2 && WRITES <= MAX_WRITES)) throw new Error(`--writes must be in [2, ${MAX_WRITES}]`);
if (!LEVELS.every((c) => Number.isInteger(c) && c >= 1 && c <= 256)) throw new Error('--concurrency: integers in [1, 256]');
if (!(ROUNDS >= 1 && ROUNDS <= 10)) throw new Error('--rounds must be in [1, 10]');

const log = (s: string) => process.stderr.write(`[bench:e2e] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runDeadline = Date.now() + RUN_SECONDS * 1000;

type Side = 'floor' | 'vap' | 'webhook' | 'guard-h1' | 'guard-h2' | 'kyverno';
const ALL_SIDES: Side[] = ['floor', 'vap', 'webhook', 'guard-h1', 'guard-h2', 'kyverno'];
const nsOf = (s: Side) => `bench-${s}`;

// --- processes -------------------------------------------------------------------------------

// --- the writes ------------------------------------------------------------------------------

interface Client {
  agent: https.Agent;
  host: string;
  port: number;
  ca: string;
  token: string;
}

function call(c: Client, method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: c.host,
        port: c.port,
        method,
        path: apiPath,
        ca: c.ca,
        agent: c.agent,
        headers: {
          authorization: `Bearer ${c.token}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', (err) => resolve({ status: 0, body: String(err) }));
    req.end(payload);
  });
}

const appsPath = (ns: string) => `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications`;

/** Write k of a block: a Cilium Application for one k in four, another app otherwise. */
function appFor(name: string, k: number, ns: string): Obj {
  if (k % 4 === 0) return application(name, (a) => delete a.metadata.finalizers, ns);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: ns, labels: { team: `team-${k % 7}` } },
    spec: {
      project: 'default',
      destination: { server: 'https://kubernetes.default.svc', namespace: `app-${k % 13}` },
      source: { repoURL: 'https://charts.example.com/', chart: ['ingress-nginx', 'cert-manager', 'external-dns'][k % 3], targetRevision: '1.0.0', helm: { releaseName: `rel-${k}`, valuesObject: { replicaCount: 2 } } },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
    },
  };
}

interface Block {
  latencies: number[];
  failed: number;
  failures: string[];
  writes: number;
  seconds: number;
}

/** `n` writes (n/2 create+update pairs) into `ns` by `concurrency` writers, bounded by BLOCK_SECONDS. */
async function block(c: Client, ns: string, tag: string, n: number, concurrency: number): Promise<Block> {
  const pairs = Math.ceil(n / 2);
  const out: Block = { latencies: [], failed: 0, failures: [], writes: 0, seconds: 0 };
  const deadline = Math.min(Date.now() + BLOCK_SECONDS * 1000, runDeadline);
  let next = 0;
  const t0 = performance.now();
  const fail = (what: string) => {
    out.failed++;
    if (out.failures.length < 3) out.failures.push(what.slice(0, 300));
  };
  async function writer(): Promise<void> {
    while (next < pairs && Date.now() < deadline) {
      const k = next++;
      const name = `${tag}-${k}`;
      const obj = appFor(name, k, ns);
      let t = performance.now();
      const created = await call(c, 'POST', appsPath(ns), obj);
      out.writes++;
      if (created.status !== 201) {
        fail(`create ${name}: HTTP ${created.status} ${created.body}`);
        continue;
      }
      out.latencies.push(performance.now() - t);
      const stored = JSON.parse(created.body) as Obj;
      // What every other app's sync sends: a change of spec (here spec.info, which no rule reads).
      stored.spec.info = [{ name: 'synced-by', value: `writer-${k}` }];
      t = performance.now();
      const updated = await call(c, 'PUT', `${appsPath(ns)}/${name}`, stored);
      out.writes++;
      if (updated.status !== 200) fail(`update ${name}: HTTP ${updated.status} ${updated.body}`);
      else out.latencies.push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, writer));
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

// --- the sides -------------------------------------------------------------------------------

interface Webhook {
  pid: number;
  version: string;
  stop(): Promise<void>;
}

/** The webhooks copied from the chart's, renamed so that the API server's metrics tell them apart. */
const OWN_HOOK = { webhook: 'applications.bare-webhook.bench', 'guard-h2': 'applications.http2.bench' } as const;

/** Whether a webhook (by name) is `side`'s own. Kyverno's names all contain "kyverno". */
function ownHook(side: Side, name: string): boolean {
  switch (side) {
    case 'webhook':
    case 'guard-h2':
      return name === OWN_HOOK[side];
    case 'guard-h1':
      return name.endsWith('.cilium-guard.io');
    case 'kyverno':
      return name.includes('kyverno');
    default:
      return false;
  }
}

/** Calls the API server has made to each webhook, by name (its admission metrics). */
async function webhookCalls(cp: ControlPlane): Promise<Map<string, number>> {
  const m = await cp.kubectl(['get', '--raw', '/metrics']);
  const out = new Map<string, number>();
  for (const x of m.stdout.matchAll(/^apiserver_admission_webhook_admission_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
    const name = /name="([^"]*)"/.exec(x[1]!)?.[1] ?? '';
    out.set(name, (out.get(name) ?? 0) + Number(x[2]));
  }
  return out;
}

/** Stops (SIGSTOP) the webhook processes not measured, and resumes the measured one. */
class Quiet {
  private readonly stopped = new Set<number>();
  constructor(private readonly webhooks: Partial<Record<Side, Webhook>>) {}

  /** Only `side`'s webhook runs (the floor and the VAP have none: every webhook is stopped). */
  async only(side: Side): Promise<void> {
    for (const [s, w] of Object.entries(this.webhooks) as Array<[Side, Webhook]>) {
      if (s !== side && !this.stopped.has(w.pid)) {
        process.kill(w.pid, 'SIGSTOP');
        this.stopped.add(w.pid);
      }
    }
    const mine = this.webhooks[side];
    if (mine && this.stopped.delete(mine.pid)) {
      process.kill(mine.pid, 'SIGCONT');
      await settled(mine.pid);
    }
  }

  /** Every webhook runs. */
  async all(): Promise<void> {
    const resumed = [...this.stopped];
    Quiet.resumeAll(this.webhooks);
    this.stopped.clear();
    for (const pid of resumed) await settled(pid);
  }

  static resumeAll(webhooks: Partial<Record<Side, Webhook>>): void {
    for (const w of Object.values(webhooks)) {
      try {
        if (w) process.kill(w.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  }
}

/** Until a resumed process uses under a tenth of a core over half a second (its backlog done), at most 10 s. */
async function settled(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const c0 = cpuSecondsOf(pid);
    await sleep(500);
    if (cpuSecondsOf(pid) - c0 < 0.05) return;
  }
}

/** Waits until a dry-run CREATE of a Cilium app in the wrong namespace is answered `want`. */
async function probe(cp: ControlPlane, side: Side, want: 'denied' | 'allowed', ms = 90_000): Promise<void> {
  const bad = application(`probe-${Date.now()}`, (a) => (a.spec.destination.namespace = 'elsewhere'), nsOf(side));
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    const r = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(bad) });
    const got = /denied the request|is forbidden|violates|blocked due to/.test(r.stderr) ? 'denied' : r.code === 0 ? 'allowed' : 'error';
    last = r.stderr.trim() || r.stdout.trim();
    if (got === want) return;
    if (Date.now() > deadline) throw new Error(`${side}: a bad Cilium Application was ${got}, expected ${want} (${last})`);
    await sleep(500);
  }
}

function kyvernoPolicy(): Obj {
  // R1-R3 of src/policy (what the chart's ValidatingAdmissionPolicy checks literally), in Kyverno's
  // most used form: a ClusterPolicy with patterns and deny conditions (JMESPath), Enforce. Only the
  // single-source form; like the chart's webhook, status-only updates never reach it.
  const isCilium = { all: [{ key: "{{ request.object.spec.source.chart || '' }}", operator: 'Equals', value: 'cilium' }] };
  const rule = (name: string, validate: Obj) => ({
    name,
    match: { any: [{ resources: { kinds: ['argoproj.io/v1alpha1/Application'], operations: ['CREATE', 'UPDATE'], namespaces: [nsOf('kyverno')] } }] },
    preconditions: isCilium,
    validate: { failureAction: 'Enforce', ...validate },
  });
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'cilium-application' },
    spec: {
      background: false,
      webhookConfiguration: {
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        matchConditions: [
          // A policy with a webhookConfiguration gets a webhook of its own ("fine-grained"), which
          // Kyverno 1.19 registers without the namespaceSelector of its ConfigMap and without the
          // rules' `namespaces`: unscoped, it was called for every side's writes, the floor's too
          // (until 2026-11-28). This scopes it as the chart's namespaceSelector scopes cilium-guard.
          { name: 'bench-namespace', expression: `request.namespace == '${nsOf('kyverno')}'` },
          {
            name: 'not-status-only',
            expression:
              "request.operation != 'UPDATE' || has(object.spec) != has(oldObject.spec) || (has(object.spec) && object.spec != oldObject.spec) || has(object.operation) != has(oldObject.operation) || (has(object.operation) && object.operation != oldObject.operation)",
          },
        ],
      },
      rules: [
        rule('r1-destination-namespace', {
          message: 'R1: spec.destination.namespace must be kube-system',
          pattern: { spec: { destination: { namespace: 'kube-system' } } },
        }),
        rule('r2-release-name', {
          message: 'R2: the Helm release name must be cilium',
          deny: { conditions: { any: [{ key: '{{ request.object.spec.source.helm.releaseName || request.object.metadata.name }}', operator: 'NotEquals', value: 'cilium' }] } },
        }),
        rule('r3-sync-options', {
          message: 'R3: spec.syncPolicy.syncOptions must contain ServerSideApply=true and not Replace=true',
          deny: {
            conditions: {
              any: [
                { key: 'ServerSideApply=true', operator: 'AnyNotIn', value: '{{ request.object.spec.syncPolicy.syncOptions || `[]` }}' },
                { key: '{{ request.object.spec.syncPolicy.syncOptions || `[]` }}', operator: 'AnyIn', value: ['Replace=true'] },
              ],
            },
          },
        }),
      ],
    },
  };
}

async function startKyverno(cp: ControlPlane, dir: string): Promise<Webhook | string> {
  const found = spawnSync('bash', [path.join(REPO, 'scripts/peers.sh'), 'kyverno'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 30 * 60_000 });
  if (found.status !== 0) return `not built (scripts/peers.sh kyverno exited ${found.status})`;
  const home = found.stdout.trim();
  const version = execFileSync('bash', [path.join(REPO, 'scripts/peers.sh'), 'kyverno-version'], { encoding: 'utf8' }).trim();
  // Its CRDs, namespace and the two ConfigMaps its development guide's `make debug-deploy` would
  // create; its webhooks only for the namespace it is measured in.
  const crdFiles = ['kyverno', 'policies.kyverno.io', 'reports', 'policyreport'].flatMap((d) => {
    try {
      return readdirSync(path.join(home, 'crds', d)).map((f) => path.join(home, 'crds', d, f));
    } catch {
      return [];
    }
  });
  for (const f of crdFiles) {
    const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', f]);
    if (r.code !== 0) return `CRD ${path.basename(f)}: ${r.stderr.trim()}`;
  }
  await cp.kubectl(['create', 'namespace', 'kyverno']);
  const config = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kyverno', namespace: 'kyverno' },
    data: {
      webhooks: JSON.stringify([{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [nsOf('kyverno')] }] } }]),
      excludeGroups: 'system:nodes',
      generateSuccessEvents: 'false',
    },
  };
  const metricsConfig = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kyverno-metrics', namespace: 'kyverno' }, data: {} };
  const r = await cp.kubectl(['apply', '-f', '-'], { input: [config, metricsConfig].map((d) => JSON.stringify(d)).join('\n') });
  if (r.code !== 0) return `ConfigMaps: ${r.stderr.trim()}`;
  for (let i = 0; ; i++) {
    const p = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(kyvernoPolicy()) });
    if (p.code === 0) break;
    if (i > 60) return `ClusterPolicy: ${p.stderr.trim()}`;
    await sleep(1000);
  }
  const [port, metricsPort] = [await freePort(), await freePort()];
  const out = openSync(path.join(dir, 'kyverno.log'), 'w');
  const child: ChildProcess = spawn(
    path.join(home, 'kyverno'),
    [
      `--kubeconfig=${cp.kubeconfig}`,
      `--serverIP=127.0.0.1:${port}`,
      `--webhookServerPort=${port}`,
      `--metricsPort=${metricsPort}`,
      '--metricsServerIP=127.0.0.1',
      '--backgroundServiceAccountName=system:serviceaccount:kyverno:kyverno-background-controller',
      '--reportsServiceAccountName=system:serviceaccount:kyverno:kyverno-reports-controller',
      '--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca',
      '--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair',
      '-v=1',
      // A lease of 6 retry periods: 6 minutes, so that being stopped while other sides are measured
      // (Quiet) does not cost it the leadership its webhook controllers run under.
      '--leaderElectionRetryPeriod=60s',
    ],
    {
      stdio: ['ignore', out, out],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        KYVERNO_NAMESPACE: 'kyverno',
        KYVERNO_SERVICEACCOUNT_NAME: 'kyverno-admission-controller',
        KYVERNO_DEPLOYMENT: 'dummy',
        KYVERNO_POD_NAME: 'dummy',
        KYVERNO_SVC: 'kyverno-svc',
        INIT_CONFIG: 'kyverno',
        METRICS_CONFIG: 'kyverno-metrics',
      },
    },
  );
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const kill = () => void child.kill('SIGKILL');
  process.once('exit', kill);
  const stop = async () => {
    process.removeListener('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    }
  };
  try {
    await probe(cp, 'kyverno', 'denied', 180_000);
  } catch (err) {
    await stop();
    const tail = readFileSync(path.join(dir, 'kyverno.log'), 'utf8').split('\n').slice(-15).join('\n');
    return `did not start answering: ${(err as Error).message}\n${tail}`;
  }
  return { pid: child.pid!, version: `Kyverno ${version}`, stop };
}

// --- report ----------------------------------------------------------------------------------

interface SideResult {
  side: Side;
  writes: number;
  failed: number;
  failures: string[];
  p50: number;
  p99: number;
  addedP50: number;
  addedP99: number;
  writesPerSecond: number;
  /** CPU seconds per 1,000 writes: of the webhook (when there is one) and of kube-apiserver. */
  webhookCpuPer1k?: number;
  apiserverCpuPer1k: number;
  /** Reviews the webhook counted itself (cilium-guard's metric), to prove the writes reached it. */
  reviews?: number;
}

interface Report {
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; date: string; loadBefore: number[]; loadAfter: number[] };
  versions: Record<string, string>;
  settings: { writesPerSidePerLevel: number; rounds: number; mix: string };
  skipped: Record<string, string>;
  levels: Array<{ concurrency: number; sides: SideResult[] }>;
  peakRss: Record<string, number>;
  startupMs: Record<string, number>;
  /** CPU cores each webhook used while the writes went to the other sides (its background work). */
  idleCores: Record<string, number>;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const f2 = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(2));
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

function table(r: Report): string {
  const out = [
    `cilium-guard end-to-end benchmark, ${r.machine.date}: ${r.machine.cpu} (${r.machine.cores} cores), ${r.machine.memoryGiB} GiB, ${r.machine.os}, Node ${r.machine.node}`,
    `load average before ${r.machine.loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${r.machine.loadAfter.map((x) => x.toFixed(2)).join(' ')}`,
    `versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `${r.settings.writesPerSidePerLevel} writes per side per concurrency (${r.settings.mix}), ${r.settings.rounds} rounds in rotating order`,
  ];
  for (const [side, why] of Object.entries(r.skipped)) out.push(`skipped ${side}: ${why}`);
  const head = ['writers', 'side', 'writes', 'failed', 'p50 ms', 'p99 ms', 'added p50', 'added p99', 'writes/s', 'webhook CPU s/1k', 'apiserver CPU s/1k'];
  const rows: string[][] = [];
  for (const l of r.levels) {
    for (const s of l.sides) {
      rows.push([
        String(l.concurrency),
        s.side,
        String(s.writes),
        String(s.failed),
        f2(s.p50),
        f2(s.p99),
        s.side === 'floor' ? '-' : `${s.addedP50 >= 0 ? '+' : ''}${f2(s.addedP50)}`,
        s.side === 'floor' ? '-' : `${s.addedP99 >= 0 ? '+' : ''}${f2(s.addedP99)}`,
        s.writesPerSecond.toFixed(0),
        s.webhookCpuPer1k === undefined ? '-' : s.webhookCpuPer1k.toFixed(2),
        s.apiserverCpuPer1k.toFixed(2),
      ]);
    }
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  out.push('', line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line), '');
  out.push(`peak RSS (VmHWM over the whole run): ${Object.entries(r.peakRss).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`);
  out.push(`webhook start-up (spawn to answering): ${Object.entries(r.startupMs).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}`);
  if (Object.keys(r.idleCores).length > 0) {
    out.push(`CPU while not called (during the other sides' warm-up writes): ${Object.entries(r.idleCores).map(([k, v]) => `${k} ${v.toFixed(3)} cores`).join(', ')}`);
  }
  for (const l of r.levels) for (const s of l.sides) for (const f of s.failures) out.push(`  failure at ${l.concurrency} writers, ${s.side}: ${f}`);
  return out.join('\n') + '\n';
}

// --- main ------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const loadBefore = loadavg();
  const wanted = new Set<Side>(args.only ? (args.only.split(',') as Side[]) : ALL_SIDES);
  wanted.add('floor');
  const skipped: Record<string, string> = {};
  const versions: Record<string, string> = {};
  const startupMs: Record<string, number> = {};
  const clientCA = await makeClientCA();
  const apiserverClient = await issueClient(clientCA, 'kube-apiserver');
  log('starting etcd and kube-apiserver');
  const cp = await startControlPlane({ webhookClient: apiserverClient });
  const webhooks: Partial<Record<Side, Webhook>> = {};
  const guards: GuardProcess[] = [];
  try {
    const caFile = path.join(cp.dir, 'webhook-client-ca.crt');
    writeFileSync(caFile, clientCA.cert);
    await installArgoCRDs(cp);
    await createNamespaces(cp, [NAMESPACE, 'argocd', 'kube-system', ...ALL_SIDES.map(nsOf)]);
    const v = JSON.parse((await cp.kubectl(['version', '-o', 'json'])).stdout) as Obj;
    versions['kube-apiserver'] = String(v.serverVersion?.gitVersion ?? '?');
    const etcdVersion = spawnSync(path.join(path.dirname(execFileSync('bash', [path.join(REPO, 'scripts/tools.sh'), 'etcd'], { encoding: 'utf8' }).trim()), 'etcd'), ['--version'], { encoding: 'utf8' });
    versions.etcd = /etcd Version: (\S+)/.exec(etcdVersion.stdout)?.[1] ?? '?';

    // cilium-guard: the chart's objects (url mode, client authentication on, its webhook only for
    // bench-guard-h1), its policy and arguments, as the e2e harness runs it.
    const port = await freePort();
    const r = await render({
      set: {
        'webhooks.url': `https://127.0.0.1:${port}`,
        'webhooks.applications.namespaces': [nsOf('guard-h1')],
        'validatingAdmissionPolicy.enabled': false,
        'clientAuth.enabled': true,
        'clientAuth.caConfigMap': 'apiserver-client-ca',
      },
    });
    const rendered = releaseDocs(r);
    await applyDocs(cp, rendered.filter((d) => !['Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy'].includes(d.kind)));
    const sa = rendered.find((d) => d.kind === 'ServiceAccount')!.metadata.name as string;
    const token = await cp.kubectl(['create', 'token', sa, '-n', NAMESPACE, '--duration=2h']);
    if (token.code !== 0) throw new Error(`token: ${token.stderr}`);
    const base = { cp, dir: cp.dir, rendered, guardKubeconfig: cp.kubeconfigFor(token.stdout.trim()), clientAuth: { caFile } };
    const needGuard = wanted.has('guard-h1') || wanted.has('guard-h2');
    if (needGuard) {
      let t0 = performance.now();
      const g1 = await startGuardProcess(base, port, {}, NODE_FLAGS);
      startupMs['cilium-guard'] = performance.now() - t0;
      guards.push(g1);
      const version = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version as string;
      versions['cilium-guard'] = `${version} (${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim()})`;
      webhooks['guard-h1'] = { pid: g1.pid, version: versions['cilium-guard'], stop: () => g1.stop() };
      await probe(cp, 'guard-h1', 'denied');
      if (wanted.has('guard-h2')) {
        // A second replica offering HTTP/2, behind a copy of the chart's webhook (the caBundle the
        // first one injected; both serve the same Secret's certificate) for bench-guard-h2 only.
        const port2 = await freePort();
        process.env.CILIUM_GUARD_HTTP2 = 'true';
        t0 = performance.now();
        const g2 = await startGuardProcess(base, port2, {}, NODE_FLAGS).finally(() => delete process.env.CILIUM_GUARD_HTTP2);
        startupMs['cilium-guard --http2'] = performance.now() - t0;
        guards.push(g2);
        webhooks['guard-h2'] = { pid: g2.pid, version: versions['cilium-guard'], stop: () => g2.stop() };
        const name = rendered.find((d) => d.kind === 'ValidatingWebhookConfiguration')!.metadata.name as string;
        const live = JSON.parse((await cp.kubectl(['get', 'validatingwebhookconfiguration', name, '-o', 'json'])).stdout) as Obj;
        const hook = structuredClone((live.webhooks as Obj[]).find((h) => h.name === 'applications.cilium-guard.io')!);
        hook.clientConfig.url = String(hook.clientConfig.url).replace(`:${port}/`, `:${port2}/`);
        hook.namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [nsOf('guard-h2')] }] };
        hook.name = OWN_HOOK['guard-h2'];
        const copy = { apiVersion: live.apiVersion, kind: live.kind, metadata: { name: `${name}-http2` }, webhooks: [hook] };
        const a = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(copy) });
        if (a.code !== 0) throw new Error(`webhook copy for guard-h2: ${a.stderr}`);
        await probe(cp, 'guard-h2', 'denied');
      }
    }
    if (wanted.has('webhook')) {
      // What being a webhook at all costs, with no policy: bench/bare-server.ts (parses the review,
      // answers allowed; cilium-guard's TLS and keep-alive settings) behind a copy of the chart's
      // webhook (same rules, matchConditions and failurePolicy) for bench-webhook only. Whatever the
      // API server spends encoding the review, the TLS round trip and decoding the answer shows
      // here, so cilium-guard's own share is what it adds over this side.
      const certs = await generateCertificates({ dnsNames: ['localhost'], ips: ['127.0.0.1'], days: 1 });
      const certFile = path.join(cp.dir, 'bare-webhook.crt');
      const keyFile = path.join(cp.dir, 'bare-webhook.key');
      writeFileSync(certFile, certs.cert);
      writeFileSync(keyFile, certs.key, { mode: 0o600 });
      const port3 = await freePort();
      const bare = spawn(process.execPath, [...NODE_FLAGS, path.join(REPO, 'dist/bench/bare-server.js'), certFile, keyFile, String(port3)], { stdio: ['ignore', 'ignore', 'inherit'] });
      const killBare = (): void => void bare.kill('SIGKILL');
      process.once('exit', killBare);
      const bareExited = new Promise<void>((resolve) => bare.once('exit', () => resolve()));
      webhooks.webhook = { pid: bare.pid!, version: 'bench/bare-server.ts', stop: async () => void (bare.kill('SIGTERM'), await bareExited, process.removeListener('exit', killBare)) };
      const config = rendered.find((d) => d.kind === 'ValidatingWebhookConfiguration')!;
      const hook = structuredClone((config.webhooks as Obj[]).find((h) => h.name === 'applications.cilium-guard.io')!);
      hook.clientConfig = { url: `https://127.0.0.1:${port3}/validate`, caBundle: Buffer.from(certs.caCert).toString('base64') };
      hook.namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [nsOf('webhook')] }] };
      hook.name = OWN_HOOK.webhook;
      const copy = { apiVersion: config.apiVersion, kind: config.kind, metadata: { name: `${config.metadata.name}-bare` }, webhooks: [hook] };
      const a = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(copy) });
      if (a.code !== 0) throw new Error(`bare webhook: ${a.stderr}`);
      // It allows everything, so a probe cannot tell it is called: the API server's count says so.
      const calls = async () => (await webhookCalls(cp)).get(OWN_HOOK.webhook) ?? 0;
      const before = await calls();
      await probe(cp, 'webhook', 'allowed');
      if ((await calls()) <= before) throw new Error('bare webhook: the API server never called it');
    }
    if (wanted.has('vap')) {
      const v2 = await render({ set: { 'webhooks.applications.namespaces': [nsOf('vap')], 'validatingAdmissionPolicy.enabled': true } });
      const docs = v2.docs.filter((d) => /^ValidatingAdmissionPolicy(Binding)?$/.test(d.kind) && String(d.metadata.name).endsWith('-applications'));
      await applyDocs(cp, docs);
      await probe(cp, 'vap', 'denied');
    }
    if (wanted.has('kyverno')) {
      if (args['no-peers']) skipped.kyverno = 'peers off (--no-peers)';
      else {
        log('Kyverno: building (first use only) and starting its admission controller');
        const t0 = performance.now();
        const k = await startKyverno(cp, cp.dir);
        if (typeof k === 'string') skipped.kyverno = k;
        else {
          startupMs.kyverno = performance.now() - t0;
          webhooks.kyverno = k;
          versions.kyverno = k.version.replace(/^Kyverno /, '');
        }
      }
    }
    await probe(cp, 'floor', 'allowed');
    const sides = ALL_SIDES.filter((s) => wanted.has(s) && !(s in skipped));
    for (const s of ALL_SIDES) if (!wanted.has(s) && !(s in skipped)) skipped[s] = 'not in --only';

    const client: Client = { agent: new https.Agent({ keepAlive: true, maxSockets: 512 }), host: '127.0.0.1', port: Number(new URL(cp.url).port), ca: cp.ca, token: cp.adminToken };
    const levels: Report['levels'] = [];
    // CPU each webhook used while the warm-up writes went to another side (nobody called it).
    const idle: Partial<Record<Side, { cpu: number; seconds: number }>> = {};
    const quiet = new Quiet(webhooks);
    const leaks = new Set<string>();
    for (const concurrency of LEVELS) {
      if (Date.now() > runDeadline) break;
      log(`${concurrency} writer(s): warm-up, then ${ROUNDS} round(s) over ${sides.join(', ')}`);
      await quiet.all();
      for (const s of sides) {
        const others = (Object.entries(webhooks) as Array<[Side, Webhook]>).filter(([o]) => o !== s);
        const others0 = others.map(([, w]) => cpuSecondsOf(w.pid));
        const b = await block(client, nsOf(s), `w${concurrency}-warm`, Math.max(2 * concurrency, 20), concurrency);
        others.forEach(([o, w], i) => {
          const x = (idle[o] ??= { cpu: 0, seconds: 0 });
          x.cpu += cpuSecondsOf(w.pid) - others0[i]!;
          x.seconds += b.seconds;
        });
      }
      const acc = new Map<Side, { lat: number[]; failed: number; failures: string[]; writes: number; seconds: number; cpu: number; api: number; reviews: number }>();
      for (const s of sides) acc.set(s, { lat: [], failed: 0, failures: [], writes: 0, seconds: 0, cpu: 0, api: 0, reviews: 0 });
      const per = Math.max(2, Math.ceil(WRITES / ROUNDS));
      for (let round = 0; round < ROUNDS; round++) {
        const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
        for (const s of order) {
          await quiet.only(s);
          const a = acc.get(s)!;
          const hook = webhooks[s];
          const guard = s === 'guard-h1' ? guards[0] : s === 'guard-h2' ? guards[1] : undefined;
          const reviews0 = guard ? await guard.calls() : 0;
          const cpu0 = hook ? cpuSecondsOf(hook.pid) : 0;
          const api0 = cpuSecondsOf(cp.pids.apiserver);
          const calls0 = await webhookCalls(cp);
          const b = await block(client, nsOf(s), `c${concurrency}-r${round}`, per, concurrency);
          a.api += cpuSecondsOf(cp.pids.apiserver) - api0;
          // Only this side's webhook may have been called: another's would be measured with it.
          for (const [name, n] of await webhookCalls(cp)) {
            const called = n - (calls0.get(name) ?? 0);
            if (called > 0 && !ownHook(s, name)) leaks.add(`${s} at ${concurrency} writers: the API server called ${name} ${called} times`);
          }
          if (hook) a.cpu += cpuSecondsOf(hook.pid) - cpu0;
          if (guard) a.reviews += (await guard.calls()) - reviews0;
          a.lat.push(...b.latencies);
          a.failed += b.failed;
          a.failures.push(...b.failures.slice(0, Math.max(0, 3 - a.failures.length)));
          a.writes += b.writes;
          a.seconds += b.seconds;
        }
      }
      const results: SideResult[] = [];
      const floor = acc.get('floor')!;
      floor.lat.sort((x, y) => x - y);
      for (const s of sides) {
        const a = acc.get(s)!;
        a.lat.sort((x, y) => x - y);
        const p50 = quantile(a.lat, 0.5);
        const p99 = quantile(a.lat, 0.99);
        results.push({
          side: s,
          writes: a.writes,
          failed: a.failed,
          failures: a.failures,
          p50,
          p99,
          addedP50: p50 - quantile(floor.lat, 0.5),
          addedP99: p99 - quantile(floor.lat, 0.99),
          writesPerSecond: a.writes / Math.max(a.seconds, 1e-9),
          ...(webhooks[s] ? { webhookCpuPer1k: (a.cpu * 1000) / Math.max(1, a.writes) } : {}),
          apiserverCpuPer1k: (a.api * 1000) / Math.max(1, a.writes),
          ...(s.startsWith('guard') ? { reviews: a.reviews } : {}),
        });
      }
      levels.push({ concurrency, sides: results });
      for (const x of results) log(`  ${x.side}: p50 ${f2(x.p50)} ms, p99 ${f2(x.p99)} ms, failed ${x.failed}/${x.writes}`);
    }
    client.agent.destroy();

    const peakRss: Record<string, number> = { 'kube-apiserver': peakRssOf(cp.pids.apiserver), etcd: peakRssOf(cp.pids.etcd) };
    if (guards[0]) peakRss['cilium-guard'] = peakRssOf(guards[0].pid);
    if (guards[1]) peakRss['cilium-guard --http2'] = peakRssOf(guards[1].pid);
    if (webhooks.kyverno) peakRss.kyverno = peakRssOf(webhooks.kyverno.pid);
    const report: Report = {
      machine: { ...machine(), loadBefore, loadAfter: loadavg() },
      versions,
      settings: { writesPerSidePerLevel: Math.max(2, Math.ceil(WRITES / ROUNDS)) * ROUNDS, rounds: ROUNDS, mix: 'CREATE then a spec UPDATE of each app; 1 in 4 a Cilium app, the rest other apps' },
      skipped,
      levels,
      peakRss,
      startupMs,
      idleCores: Object.fromEntries(Object.entries(idle).map(([k, v]) => [k, v.cpu / Math.max(v.seconds, 1e-9)])),
    };
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : table(report));
    // Broken benchmark (not a slow one): a side that answered no write at all, or a cilium-guard
    // that was not asked for every write that went through its namespace.
    const broken: string[] = [];
    for (const l of levels) {
      for (const s of l.sides) {
        if (s.writes > 0 && s.failed === s.writes) broken.push(`${s.side} at ${l.concurrency}: every write failed`);
        if (s.reviews !== undefined && s.reviews < s.writes - s.failed) broken.push(`${s.side} at ${l.concurrency}: ${s.reviews} reviews for ${s.writes - s.failed} writes`);
      }
    }
    if (levels.length === 0) broken.push('no concurrency level ran');
    broken.push(...leaks);
    for (const b of broken) log(`broken: ${b}`);
    return broken.length > 0 ? 2 : 0;
  } finally {
    Quiet.resumeAll(webhooks); // a stopped process would not see SIGTERM
    for (const w of Object.values(webhooks)) if (w && !guards.some((g) => g.pid === w.pid)) await w.stop();
    for (const g of guards) await g.stop();
    await cp.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
