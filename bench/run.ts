// `npm run bench`: cilium-guard's /validate and /mutate beside a bare fastify server (the ceiling),
// in one run, on loopback HTTPS with keep-alive, driven by the same load generator (autocannon).
// Each server is its own Node process, started the way it runs in production (cilium-guard: the
// `serve` command with its default policy and audit logging on, stdout to a file as a container
// runtime keeps it). For each payload the two are measured A-B-B-A so drift favours neither.
//
//   npm run bench [-- --duration 3] [--rounds 2] [--connections 10] [--rate 1000] [--json] [--check]
//                 [--long [--requests 1000000]] [--cpu-prof DIR] [--only app-small,...] [--no-pin]
//                 [--setup parser,pino,options,default,metrics]
//
// --setup replaces cilium-guard by the bare server plus the named pieces of cilium-guard's setup
// (bench/bare-server.ts): how much of the gap each piece is, before any policy runs.
//
// Per payload: saturated rounds (throughput, CPU per request, latency under queueing), then a
// paced round on one connection at a steady --rate that both servers keep up with (latency
// without queueing: the p99 target is judged there).
//
// --check exits 1 when a target is missed; without it the exit code only says whether the
// benchmark itself worked (every answer correct, no errors). It is never part of `npm test`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { generateCertificates } from '../src/certs/dev.js';
import { judge } from '../test/helpers/apiserver.js';
import { REPO } from '../test/helpers/corpus.js';
import { benchArgs, numberArg } from './args.js';
import { NODE_FLAGS } from './flags.js';
import { anonRssOf, cpuSecondsOf, machine, rssOf } from './proc.js';
import { payloads, type Payload } from './payloads.js';

const args = benchArgs(
  {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    rate: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    long: { type: 'boolean', default: false },
    requests: { type: 'string', default: '1000000' },
    'cpu-prof': { type: 'string' },
    only: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    setup: { type: 'string' },
  },
  'usage: npm run bench [-- --duration 3] [--rounds 2] [--connections 10] [--rate 500] [--warmup 2] [--json] [--check]\n' +
    '                      [--long [--requests 1000000]] [--cpu-prof DIR] [--only app-small,...] [--no-pin]\n' +
    '                      [--setup parser,pino,options,default,metrics]',
);
const DURATION = numberArg('duration', args.duration, 0.1);
const WARMUP = numberArg('warmup', args.warmup, 0);
const CONNECTIONS = numberArg('connections', args.connections, 1);
const ROUNDS = numberArg('rounds', args.rounds, 1);
/**
 * The paced phase: one connection at a steady rate both servers keep up with, so each review is
 * alone on the server and its latency is service time plus jitter (GC, timers), not queueing.
 */
const RATE = numberArg('rate', args.rate, 1);
const LONG_REQUESTS = numberArg('requests', args.requests, 1);
/** Hard bounds: nothing here may run away (E2E-NOTES: load tests are bounded in count and time). */
const MAX_DURATION_S = 30;
const MAX_LONG_REQUESTS = 5_000_000;
if (!(DURATION > 0 && DURATION <= MAX_DURATION_S)) throw new Error(`--duration must be in (0, ${MAX_DURATION_S}] seconds`);
if (!(RATE > 0 && RATE <= 100_000)) throw new Error('--rate must be in (0, 100000] requests per second');
if (!(LONG_REQUESTS > 0 && LONG_REQUESTS <= MAX_LONG_REQUESTS)) throw new Error(`--requests must be in (0, ${MAX_LONG_REQUESTS}]`);

const log = (s: string) => process.stderr.write(`${s}\n`);

/**
 * With two or more cores and taskset, the servers share one core and the load generator gets
 * another, so neither server competes with autocannon for CPU and runs are repeatable.
 */
const PIN: { server: string; client: string } | null = (() => {
  if (args['no-pin'] || cpus().length < 2) return null;
  const probe = spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  return probe.status === 0 ? { server: String(cpus().length - 1), client: '0' } : null;
})();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- processes -------------------------------------------------------------------------------

interface Server {
  name: 'bare' | 'cilium-guard';
  child: ChildProcess;
  port: number;
  readyMs: number;
  rss: RssSampler;
}

/** Samples a process's resident set (and its anonymous part) every 20 ms; `peak` since the last reset. */
class RssSampler {
  peak = 0;
  peakAnon = 0;
  private timer: NodeJS.Timeout;
  constructor(private pid: number) {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, rssOf(pid));
      this.peakAnon = Math.max(this.peakAnon, anonRssOf(pid));
    }, 20);
    this.timer.unref();
  }
  now(): number {
    return rssOf(this.pid);
  }
  reset(): void {
    this.peak = this.now();
    this.peakAnon = anonRssOf(this.pid);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** CPU time (user + system) a process has used, in milliseconds. */
const cpuMsOf = (pid: number): number => cpuSecondsOf(pid) * 1000;

function get(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false, timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

function post(port: number, p: Payload): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: `/${p.route}`, method: 'POST', rejectUnauthorized: false, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(p.body);
  });
}

let nextPort = 18443 + Math.floor(Math.random() * 1000);

/** Starts a server and measures the time from spawn to the first 200 on /readyz. */
async function start(name: Server['name'], dir: string, certs: { cert: string; key: string }): Promise<Server> {
  const port = nextPort++;
  const out = openSync(path.join(dir, `${name}.log`), 'w');
  const nodeArgs = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(args['cpu-prof'], name)] : [];
  const script =
    name === 'bare'
      ? [...NODE_FLAGS, path.join(REPO, 'dist/bench/bare-server.js'), certs.cert, certs.key, String(port)]
      : [...NODE_FLAGS, path.join(REPO, 'dist/bundle/cilium-guard.mjs'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(nextPort++), '--tls-cert', certs.cert, '--tls-key', certs.key];
  const setupOnly = name === 'cilium-guard' && args.setup !== undefined;
  if (setupOnly) script.splice(0, script.length, ...NODE_FLAGS, path.join(REPO, 'dist/bench/bare-server.js'), certs.cert, certs.key, String(port));
  const t0 = performance.now();
  const argv = [process.execPath, ...nodeArgs, ...script];
  const pinned = PIN ? ['taskset', '-c', PIN.server, ...argv] : argv;
  const child = spawn(pinned[0]!, pinned.slice(1), { cwd: dir, stdio: ['ignore', out, out], env: { ...process.env, ...(setupOnly ? { BARE_SETUP: args.setup } : {}) } });
  const deadline = t0 + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${readFileSync(path.join(dir, `${name}.log`), 'utf8').slice(-2000)}`);
    if ((await get(port, '/readyz')) === 200) break;
    if (performance.now() > deadline) throw new Error(`${name} not ready in 15 s`);
    await sleep(2);
  }
  const readyMs = performance.now() - t0;
  return { name, child, port, readyMs, rss: new RssSampler(child.pid!) };
}

async function stop(s: Server): Promise<void> {
  s.rss.stop();
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => s.child.kill('SIGKILL'))]);
}

// --- load ------------------------------------------------------------------------------------

interface Run {
  requests: number;
  seconds: number;
  cpuMs: number;
  errors: number;
  /** Latencies of 2xx answers, ms; empty when not kept. */
  latencies: Float64Array;
  /** autocannon's own (whole-millisecond) figures, for runs that keep no latencies. */
  fallback: { p50: number; p99: number; max: number };
}

interface Measure {
  requests: number;
  /** Server CPU per request, microseconds. */
  cpuUs: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

/** p-th percentile (0..100) of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * One autocannon run. Latencies are taken from its per-response event (hrtime, in fractional
 * milliseconds) because its own histogram keeps whole milliseconds, too coarse for a 1 ms target.
 */
async function load(
  s: Server,
  p: Payload,
  options: { duration?: number; amount?: number; latencies?: boolean; rate?: number; connections?: number },
): Promise<Run> {
  const keep = options.latencies !== false;
  let times = new Float64Array(1 << 16);
  let n = 0;
  const instance = autocannon({
    url: `https://127.0.0.1:${s.port}/${p.route}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: p.body,
    ...(p.unique ? { idReplacement: true } : {}),
    connections: options.connections ?? CONNECTIONS,
    pipelining: 1,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? DURATION }),
    ...(options.rate ? { overallRate: options.rate } : {}),
    timeout: 10,
  }) as unknown as Promise<autocannon.Result> & NodeJS.EventEmitter;
  if (keep) {
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status < 200 || status > 299) return;
      if (n === times.length) {
        const grown = new Float64Array(times.length * 2);
        grown.set(times);
        times = grown;
      }
      times[n++] = ms;
    });
  }
  const cpu0 = cpuMsOf(s.child.pid!);
  const result = await instance;
  return {
    requests: result.requests.total,
    seconds: result.duration || 1,
    cpuMs: cpuMsOf(s.child.pid!) - cpu0,
    errors: result.errors + result.timeouts + result.non2xx,
    latencies: times.slice(0, n),
    fallback: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}

/** Pools runs: throughput over their total time, percentiles over all their latencies. */
function measure(runs: Run[]): Measure {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const all = new Float64Array(runs.reduce((a, r) => a + r.latencies.length, 0));
  let at = 0;
  for (const r of runs) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  const kept = all.length > 0;
  return {
    requests,
    cpuUs: (runs.reduce((a, r) => a + r.cpuMs, 0) * 1000) / Math.max(1, requests),
    rps: requests / runs.reduce((a, r) => a + r.seconds, 0),
    p50: kept ? percentile(all, 50) : Math.max(...runs.map((r) => r.fallback.p50)),
    p99: kept ? percentile(all, 99) : Math.max(...runs.map((r) => r.fallback.p99)),
    max: kept ? percentile(all, 100) : Math.max(...runs.map((r) => r.fallback.max)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
  };
}

/** Every answer is checked once, as the API server would read it, before any load. */
async function correct(s: Server, p: Payload): Promise<void> {
  const review = JSON.parse(p.body) as Record<string, unknown>;
  const res = await post(s.port, p);
  const verdict = judge(review, res.status, res.body, p.route === 'mutate' ? 'mutating' : 'validating');
  const got = verdict.outcome === 'allowed' && verdict.patched ? 'patched' : verdict.outcome;
  const want = s.name === 'bare' || args.setup !== undefined ? 'allowed' : p.expect;
  if (got !== want) throw new Error(`${s.name} answered ${p.name} with ${got}${verdict.message ? ` (${verdict.message})` : ''}, expected ${want}`);
}

// --- report ----------------------------------------------------------------------------------

interface Row {
  payload: string;
  class: Payload['class'];
  route: string;
  bytes: number;
  bare: Measure;
  guard: Measure;
  ratio: number;
  p99AddedMs: number;
  /** The same payload at a steady RATE: latency without queueing. */
  paced: { bare: Measure; guard: Measure; p99AddedMs: number };
}

interface Report {
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; date: string };
  settings: { durationSeconds: number; warmupSeconds: number; connections: number; pipelining: 1; order: 'A-B-B-A per payload'; pinned: string; pacedRate: number };
  rows: Row[];
  startup: { bareMs: number; guardMs: number };
  rss: { bare: { before: number; peak: number; peakAnon: number; after: number }; guard: { before: number; peak: number; peakAnon: number; after: number } };
  targets: Array<{ target: string; value: string; met: boolean }>;
  long?: { requests: number; seconds: number; errors: number; samples: Array<{ requests: number; rss: number }>; growthBytes: number };
  e2e?: string;
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const ms = (v: number) => `${v.toFixed(2)} ms`;

function table(r: Report): string {
  const head = ['payload', 'class', 'route', 'size', 'bare req/s', 'guard req/s', 'ratio', 'CPU/req bare/guard', 'bare p50/p99/max', 'guard p50/p99/max', 'p99 +', 'errors'];
  const body = r.rows.map((x) => [
    x.payload,
    x.class,
    `/${x.route}`,
    `${(x.bytes / 1024).toFixed(1)} KB`,
    x.bare.rps.toFixed(0),
    x.guard.rps.toFixed(0),
    x.ratio.toFixed(2),
    `${x.bare.cpuUs.toFixed(0)}/${x.guard.cpuUs.toFixed(0)} µs`,
    `${x.bare.p50.toFixed(2)}/${x.bare.p99.toFixed(2)}/${x.bare.max.toFixed(1)} ms`,
    `${x.guard.p50.toFixed(2)}/${x.guard.p99.toFixed(2)}/${x.guard.max.toFixed(1)} ms`,
    ms(x.p99AddedMs),
    `${x.bare.errors}/${x.guard.errors}`,
  ]);
  const grid = (h: string[], rows: string[][]): string[] => {
    const w = h.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
    return [line(h), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
  };
  const paced = grid(
    ['payload', `bare p50/p99/max at ${r.settings.pacedRate} req/s`, 'guard p50/p99/max', 'p99 +', 'errors'],
    r.rows.map((x) => [
      x.payload,
      `${x.paced.bare.p50.toFixed(2)}/${x.paced.bare.p99.toFixed(2)}/${x.paced.bare.max.toFixed(1)} ms`,
      `${x.paced.guard.p50.toFixed(2)}/${x.paced.guard.p99.toFixed(2)}/${x.paced.guard.max.toFixed(1)} ms`,
      ms(x.paced.p99AddedMs),
      `${x.paced.bare.errors}/${x.paced.guard.errors}`,
    ]),
  );
  const out = [
    `cilium-guard benchmark, ${r.machine.date}: ${r.machine.cpu} (${r.machine.cores} cores), ${r.machine.memoryGiB} GiB, ${r.machine.os}, Node ${r.machine.node}`,
    `loopback HTTPS, keep-alive, autocannon ${r.settings.connections} connections, ${r.settings.durationSeconds} s per measure, A-B-B-A, after ${r.settings.warmupSeconds} s warm-up; ${r.settings.pinned}`,
    '',
    'saturated (10 connections as fast as they go):',
    ...grid(head, body),
    '',
    `paced (one connection, a steady ${r.settings.pacedRate} req/s: each review alone, latency without queueing):`,
    ...paced,
    '',
    `ready after start: bare ${ms(r.startup.bareMs)}, cilium-guard ${ms(r.startup.guardMs)}`,
    `RSS bare:         before ${mb(r.rss.bare.before)}, peak ${mb(r.rss.bare.peak)} (anonymous ${mb(r.rss.bare.peakAnon)}), after ${mb(r.rss.bare.after)}`,
    `RSS cilium-guard: before ${mb(r.rss.guard.before)}, peak ${mb(r.rss.guard.peak)} (anonymous ${mb(r.rss.guard.peakAnon)}), after ${mb(r.rss.guard.after)}`,
    '  (anonymous: the process\'s own memory; the rest is mapped files, most of it the node binary, shared and reclaimable)',
  ];
  if (r.long) {
    out.push(
      '',
      `long run: ${r.long.requests} requests (app-small) in ${r.long.seconds.toFixed(0)} s, ${r.long.errors} errors; RSS ${r.long.samples.map((s) => `${(s.requests / 1000).toFixed(0)}k:${mb(s.rss)}`).join(' ')}; growth after warm-up ${mb(r.long.growthBytes)}`,
    );
  }
  out.push('', 'targets:', ...r.targets.map((t) => `  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.value}`));
  if (r.e2e) out.push('', 'end to end (last npm run test:e2e on this machine):', r.e2e.trimEnd());
  return out.join('\n') + '\n';
}

// --- main ------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cilium-guard-bench-'));
  const servers: Server[] = [];
  try {
    const certs = await generateCertificates({ dnsNames: ['localhost'], ips: ['127.0.0.1'], days: 1 });
    const files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    writeFileSync(files.cert, certs.cert);
    writeFileSync(files.key, certs.key, { mode: 0o600 });

    const bare = await start('bare', dir, files);
    servers.push(bare);
    const guard = await start('cilium-guard', dir, files);
    servers.push(guard);
    log(`ready: bare ${ms(bare.readyMs)}, cilium-guard ${ms(guard.readyMs)}`);
    const all = payloads().filter((p) => !args.only || args.only.split(',').includes(p.name));
    for (const p of all) for (const s of servers) await correct(s, p);

    const before = { bare: bare.rss.now(), guard: guard.rss.now() };
    bare.rss.reset();
    guard.rss.reset();
    const rows: Row[] = [];
    for (const p of all) {
      log(`${p.name}: warm-up`);
      await load(bare, p, { duration: WARMUP });
      await load(guard, p, { duration: WARMUP });
      log(`${p.name}: ${ROUNDS} round(s) of bare, cilium-guard, cilium-guard, bare (${DURATION} s each)`);
      const runs = { bare: [] as Run[], guard: [] as Run[] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of [bare, guard, guard, bare]) (s === bare ? runs.bare : runs.guard).push(await load(s, p, {}));
      }
      const b = measure(runs.bare);
      const g = measure(runs.guard);
      log(`${p.name}: paced at ${RATE} req/s, bare, cilium-guard, cilium-guard, bare`);
      const paced = { bare: [] as Run[], guard: [] as Run[] };
      for (const s of [bare, guard, guard, bare]) (s === bare ? paced.bare : paced.guard).push(await load(s, p, { rate: RATE, connections: 1 }));
      const pb = measure(paced.bare);
      const pg = measure(paced.guard);
      rows.push({
        payload: p.name,
        class: p.class,
        route: p.route,
        bytes: Buffer.byteLength(p.body),
        bare: b,
        guard: g,
        ratio: g.rps / b.rps,
        p99AddedMs: g.p99 - b.p99,
        paced: { bare: pb, guard: pg, p99AddedMs: pg.p99 - pb.p99 },
      });
    }
    await sleep(2000);
    const rss = {
      bare: { before: before.bare, peak: bare.rss.peak, peakAnon: bare.rss.peakAnon, after: bare.rss.now() },
      guard: { before: before.guard, peak: guard.rss.peak, peakAnon: guard.rss.peakAnon, after: guard.rss.now() },
    };

    let long: Report['long'];
    if (args.long) {
      const p = payloads().find((x) => x.name === 'app-small')!;
      log(`long run: ${LONG_REQUESTS} requests of ${p.name} to cilium-guard`);
      const samples: Array<{ requests: number; rss: number }> = [];
      const slices = 10;
      const t0 = performance.now();
      let errors = 0;
      for (let i = 1; i <= slices; i++) {
        const m = measure([await load(guard, p, { amount: Math.ceil(LONG_REQUESTS / slices), latencies: false })]);
        errors += m.errors;
        samples.push({ requests: Math.ceil(LONG_REQUESTS / slices) * i, rss: guard.rss.now() });
        log(`  ${samples.at(-1)!.requests} requests, RSS ${mb(samples.at(-1)!.rss)}`);
      }
      // Growth: the last slice against the first (after the first slice the heap has warmed up).
      long = { requests: LONG_REQUESTS, seconds: (performance.now() - t0) / 1000, errors, samples, growthBytes: samples.at(-1)!.rss - samples[0]!.rss };
    }

    const e2eFile = path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? tmpdir(), '.cache'), 'cilium-guard', 'e2e-latency.txt');
    const e2e = existsSync(e2eFile) ? `${readFileSync(e2eFile, 'utf8')}(${e2eFile}, ${statSync(e2eFile).mtime.toISOString()})\n` : undefined;

    const maxAdded = Math.max(...rows.map((r) => r.paced.p99AddedMs));
    // Issue 20: the hot path (other apps' spec/operation updates, status-only updates) at least 0.9
    // of the bare server, a full Cilium evaluation at least 0.75; denials and mutations are rare and
    // leave an audit record and metrics, so their cost is reported, not capped.
    const ratioTarget = (cls: Payload['class'], min: number, what: string): Report['targets'] => {
      const of = rows.filter((r) => r.class === cls);
      if (of.length === 0) return [];
      const low = of.reduce((a, b) => (b.ratio < a.ratio ? b : a));
      return [{ target: `${what}: throughput at least ${min} of the bare server`, value: `lowest ${low.ratio.toFixed(2)} (${low.payload})`, met: low.ratio >= min }];
    };
    const targets: Report['targets'] = [
      ...ratioTarget('hot', 0.9, 'hot path (other apps, status-only)'),
      ...ratioTarget('cilium', 0.75, 'full Cilium evaluation'),
      { target: `p99 at most 1 ms above the bare server (at a steady ${RATE} req/s)`, value: `highest +${ms(maxAdded)}`, met: maxAdded <= 1 },
      { target: 'RSS under 100 MB at peak', value: mb(rss.guard.peak), met: rss.guard.peak < 100 * 1024 * 1024 },
      { target: 'ready in under 1 s from process start', value: ms(guard.readyMs), met: guard.readyMs < 1000 },
    ];
    if (long) targets.push({ target: `no RSS growth over ${long.requests} requests (under 10 MB after warm-up)`, value: mb(long.growthBytes), met: long.growthBytes < 10 * 1024 * 1024 });
    const report: Report = {
      machine: machine(),
      settings: {
        durationSeconds: DURATION,
        warmupSeconds: WARMUP,
        connections: CONNECTIONS,
        pipelining: 1,
        order: 'A-B-B-A per payload',
        pinned: PIN ? `servers on CPU ${PIN.server}, autocannon on CPU ${PIN.client}` : 'not pinned',
        pacedRate: RATE,
      },
      rows,
      startup: { bareMs: bare.readyMs, guardMs: guard.readyMs },
      rss,
      targets,
      ...(long ? { long } : {}),
      ...(e2e ? { e2e } : {}),
    };
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : table(report));
    const broken = rows.some((r) => r.bare.errors + r.guard.errors + r.paced.bare.errors + r.paced.guard.errors > 0) || (long?.errors ?? 0) > 0;
    if (broken) log('bench: some requests failed (see errors)');
    return broken ? 2 : args.check && targets.some((t) => !t.met) ? 1 : 0;
  } finally {
    for (const s of servers) await stop(s);
    if (args['cpu-prof']) log(`CPU profiles written to ${path.resolve(args['cpu-prof'])}/{bare,cilium-guard} (open them in Chrome DevTools or speedscope)`);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`bench: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
