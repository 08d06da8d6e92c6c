// The bundle (scripts/bundle.mjs) is what the image ships, `npm start` runs and the end-to-end
// suites and benchmarks drive. Here it runs from a directory of its own, with no node_modules and no
// package.json anywhere above it (as in the image), and must answer exactly as tsc's main.js does.
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN } from '../helpers/cli.js';
import { REPO, SHARED } from '../helpers/corpus.js';
import { post, request, testCertificates } from '../helpers/https.js';
import { spawnGuard } from '../e2e/harness.js';
import { payloads } from '../../bench/payloads.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cg-bundle-'));
cpSync(path.join(REPO, 'dist', 'bundle'), dir, { recursive: true });
const BUNDLE = path.join(dir, 'cilium-guard.mjs');
const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

const both = (args: string[], input?: string) =>
  [BIN, BUNDLE].map((main) =>
    spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000, ...(input !== undefined ? { input } : {}) }),
  );

t.test('it runs alone: nothing to resolve outside its directory', async (t) => {
  let up = dir;
  while (path.dirname(up) !== up) {
    t.notOk(readdirSync(up).includes('node_modules'), `no node_modules in ${up}`);
    up = path.dirname(up);
  }
  const r = spawnSync(process.execPath, [BUNDLE, '--version'], { cwd: dir, encoding: 'utf8' });
  t.equal(r.stdout.trim(), version, '--version from the version built in, with no package.json to read');
});

t.test('the CLI answers as main.js does', async (t) => {
  const cases: Array<[string, string[], string?]> = [
    ['rules', ['rules']],
    ['check of the shared examples', ['check', path.join(SHARED, 'examples')]],
    ['check --output json', ['check', '--output', 'json', path.join(SHARED, 'examples')]],
    ['check from stdin', ['check', '-'], readFileSync(path.join(SHARED, 'examples', '01-app-cilium-good.yaml'), 'utf8')],
    ['a usage error', ['check', '--no-such-flag']],
  ];
  for (const [what, args, input] of cases) {
    const [tsc, bundled] = both(args, input);
    t.equal(bundled!.status, tsc!.status, `${what}: exit code`);
    t.equal(bundled!.stdout, tsc!.stdout, `${what}: stdout`);
    t.equal(bundled!.stderr, tsc!.stderr, `${what}: stderr`);
  }
});

t.test('serve: the same answer to every benchmark review, and every default metric', async (t) => {
  const certs = await testCertificates();
  writeFileSync(path.join(dir, 'tls.crt'), certs.cert);
  writeFileSync(path.join(dir, 'tls.key'), certs.key);
  const servers = await Promise.all(
    [BIN, BUNDLE].map((main) =>
      spawnGuard([main, 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--tls-cert', 'tls.crt', '--tls-key', 'tls.key'], { cwd: dir }),
    ),
  );
  t.teardown(() => servers.forEach((s) => s.child.kill('SIGKILL')));
  const [tsc, bundled] = servers.map((s) => String(s.ready.validate).replace(/\/validate$/, ''));
  for (const p of payloads()) {
    const [a, b] = await Promise.all([tsc, bundled].map((base) => post(`${base}/${p.route}`, p.body, certs.caCert)));
    t.equal(b!.status, 200, `${p.name}: 200`);
    t.same(JSON.parse(b!.body), JSON.parse(a!.body), `${p.name}: the same AdmissionReview back`);
  }
  const names = (text: string) => new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
  const scrape = async (s: (typeof servers)[number]) => (await fetch(String(s.ready.metrics))).text();
  const [m1, m2] = (await Promise.all(servers.map(scrape))) as [string, string];
  t.same([...names(m2)].sort(), [...names(m1)].sort(), 'the same metric families');
  t.ok(names(m2).has('cilium_guard_process_cpu_user_seconds_total') && names(m2).has('cilium_guard_nodejs_heap_space_size_used_bytes'), 'prom-client default metrics included');
  const health = await request(`${bundled}/healthz`, { ca: certs.caCert });
  t.equal(health.status, 200);
});

t.test('the Kubernetes client is bundled by name, not whole, and every file is ASCII', async (t) => {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mjs'));
  const code = files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
  const defines = (name: string, text: string) => new RegExp(`\\b${name}\\s*=\\s*class\\b|\\bclass ${name}\\b`).test(text);
  t.ok(defines('ObservableCoreV1Api', code), 'an API group it uses');
  t.notOk(defines('ObservableBatchV1Api', code), 'not one it does not use');
  const bytes = files.reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
  t.ok(bytes < 8e6, `all chunks ${(bytes / 1e6).toFixed(1)} MB, against about 21 MB for the client's modules alone`);
  t.notOk(defines('ObservableCoreV1Api', readFileSync(BUNDLE, 'utf8')), 'and only in a chunk that commands without a cluster never load');
  // V8 keeps every module's source text; one non-ASCII character doubles its size in memory.
  for (const f of files) t.notOk(/[^\x00-\x7f]/.test(readFileSync(path.join(dir, f), 'utf8')), `${f} is ASCII`);
});

t.test('every bundled package travels with its licence', async (t) => {
  const notices = readFileSync(path.join(dir, 'THIRD-PARTY-NOTICES.txt'), 'utf8');
  const named = new Set([...notices.matchAll(/^=+\n(\S+) (\S+) \((.+)\)\n=+$/gm)].map((m) => m[1]!));
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies)) t.ok(named.has(dep), `${dep} (a dependency) is listed`);
  t.ok(named.has('avvio') && named.has('@peculiar/x509'), 'and what they bring (avvio, @peculiar/x509)');
  t.match(notices, /Apache License\s+Version 2\.0/, "with the licence texts (client-node's Apache 2.0)");
  t.match(notices, /Permission is hereby granted, free of charge/, '(and the MIT ones)');
  t.notOk(named.has('tap') || named.has('esbuild') || named.has('typescript'), 'no development dependency');
  t.equal(readFileSync(path.join(dir, 'LICENSE'), 'utf8'), readFileSync(path.join(REPO, 'LICENSE'), 'utf8'), "and cilium-guard's own LICENSE");
  t.match(readFileSync(path.join(REPO, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/, 'the Apache 2.0 that package.json and the chart name');
});
