// The binary itself: `check` for CI pipelines and `serve` as `npm start` runs it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { judge, makeReview } from '../helpers/apiserver.js';
import { REPO, SHARED, example } from '../helpers/corpus.js';
import { request } from '../helpers/https.js';

const BIN = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'cilium-guard-cli-'));
const run = (args: string[], cwd = REPO) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
const examples = ['01-app-cilium-good.yaml', '02-app-cilium-multisource-good.yaml', '03-appset-cilium-good.yaml', '06-cilium-config-good.yaml'].map((f) =>
  path.join(SHARED, 'examples', f),
);

t.test('check: the shared good examples are clean (exit 0)', async (t) => {
  const r = run(['check', ...examples]);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /5 object\(s\) checked: 0 denied, 0 need the argocd-cm mutation/);
});

t.test('check: violations exit 1 and are listed with rule and path', async (t) => {
  const bad = path.join(tmp, 'bad.yaml');
  writeFileSync(
    bad,
    readFileSync(examples[0] as string, 'utf8').replace('namespace: kube-system', 'namespace: cilium') +
      '\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\ndata: {kube-proxy-replacement: "false"}\n',
  );
  const r = run(['check', bad]);
  t.equal(r.status, 1);
  t.match(r.stdout, /FAIL +\S+bad\.yaml#1 Application argocd\/cilium/);
  t.match(r.stdout, /DENY R1 spec\.destination\.namespace:/);
  t.match(r.stdout, /DENY C1 data\.kube-proxy-replacement:/);
  const json = run(['check', '--output', 'json', bad]);
  t.equal(json.status, 1);
  const report = JSON.parse(json.stdout) as { summary: { denied: number }; objects: Array<{ findings: Array<{ rule: string }> }> };
  t.equal(report.summary.denied, 2);
  t.same(report.objects.flatMap((o) => o.findings.map((f) => f.rule)), ['R1', 'C1']);
});

t.test('check: argocd-cm without the exclusion fails and shows the patch', async (t) => {
  const r = run(['check', '-o', 'json', path.join(SHARED, 'examples', '04-argocd-cm-needs-mutation.yaml')]);
  t.equal(r.status, 1);
  const report = JSON.parse(r.stdout) as { summary: { mutations: number }; objects: Array<{ patch?: Array<{ path: string }> }> };
  t.equal(report.summary.mutations, 3);
  t.ok(report.objects.every((o) => o.patch?.some((p) => p.path.startsWith('/data'))));
});

t.test('check: --strict fails on warnings', async (t) => {
  const warnOnly = path.join(tmp, 'warn.yaml');
  writeFileSync(warnOnly, readFileSync(examples[0] as string, 'utf8').replace('k8sServiceHost: localhost', 'k8sServiceHost: 10.0.0.1'));
  t.equal(run(['check', warnOnly]).status, 0);
  t.equal(run(['check', '--strict', warnOnly]).status, 1);
});

t.test('check --cluster FILE: what runs, from a ClusterView or from kubectl get -o yaml, noted in the report', async (t) => {
  const list = path.join(tmp, 'running.yaml');
  writeFileSync(
    list,
    `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cilium-config, namespace: kube-system, resourceVersion: "9"}
  data: {ipam: kubernetes, cluster-name: default, kube-proxy-replacement: "true"}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: cilium, namespace: kube-system}
  spec: {template: {spec: {containers: [{name: cilium-agent, image: "quay.io/cilium/cilium:v1.18.1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}}}
`,
  );
  const r = run(['check', '--cluster', list, ...examples]);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`note: cluster view from ${list.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: agent 1\\.18\\.1; cilium-config with 3 key\\(s\\)`));
  // The same view makes L1 and U1 judge: an IPAM flip and a skipped minor fail the check.
  const flip = path.join(tmp, 'flip.yaml');
  writeFileSync(flip, readFileSync(path.join(SHARED, 'examples', '01-app-cilium-good.yaml'), 'utf8').replace('mode: kubernetes', 'mode: cluster-pool').replace('targetRevision: 1.18.6', 'targetRevision: 1.20.1'));
  const flipped = run(['check', '--cluster', list, flip]);
  t.equal(flipped.status, 1);
  t.match(flipped.stdout, /DENY U1 spec\.source\.targetRevision: .*an upgrade of 2 minor versions from 1\.18\.1/);
  t.match(flipped.stdout, /DENY L1 spec\.source\.helm\.valuesObject\.ipam\.mode: this would make cilium-config ipam "cluster-pool", which changes it from "kubernetes" in the running cilium-config/);
  t.equal(run(['check', flip]).status, 0, 'without --cluster nothing runs to compare with');
  const view = path.join(tmp, 'view.yaml');
  writeFileSync(view, 'agent: {image: example.com/cilium}\n');
  const json = JSON.parse(run(['check', '-o', 'json', '--cluster', view, ...examples]).stdout) as { notes: string[] };
  t.match(json.notes, [/: agent version unknown \(example\.com\/cilium\)$/], "the ClusterView shape is taken as given");
  const broken = path.join(tmp, 'broken-view.yaml');
  writeFileSync(broken, 'agent: {image: x, version: soon}\n');
  const bad = run(['check', '--cluster', broken, ...examples]);
  t.equal(bad.status, 2, 'an unreadable view is an input error, not a check without it');
  t.match(bad.stdout, /not a cluster view: agent\.version must be a version such as 1\.18\.1/);
});

t.test('check: bad input and usage exit 2 with a clear message', async (t) => {
  const broken = path.join(tmp, 'broken.yaml');
  writeFileSync(broken, 'apiVersion: v1\nkind: [unclosed\n');
  const r = run(['check', broken]);
  t.equal(r.status, 2);
  t.match(r.stdout, /ERROR \S+broken\.yaml#1: not valid YAML/);
  t.equal(run(['check', path.join(tmp, 'missing.yaml')]).status, 2);
  t.equal(run(['check']).status, 2);
  t.equal(run(['check', '--output', 'xml', broken]).status, 2);
  t.equal(run(['frobnicate']).status, 2);
  const bomb = path.join(tmp, 'bomb.yaml');
  writeFileSync(bomb, 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n');
  const b = run(['check', bomb]);
  t.equal(b.status, 2);
  t.match(b.stdout, /alias/i);
});

t.test('check and serve refuse an invalid policy file, naming the field', async (t) => {
  const policy = path.join(tmp, 'policy.yaml');
  writeFileSync(policy, 'rules:\n  R9: {mode: deny}\n');
  const r = run(['check', '--config', policy, examples[0] as string]);
  t.equal(r.status, 2);
  t.match(r.stderr, /rules\.R9: unknown field/);
  const s = run(['serve', '--config', policy, '--port', '0', '--metrics-port', '0']);
  t.equal(s.status, 2);
  t.match(s.stderr, /rules\.R9: unknown field/);
});

t.test('serve: fresh directory gets dev certificates, answers over HTTPS, drains on SIGTERM', async (t) => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'cilium-guard-serve-'));
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0'], { cwd });
  let out = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"validate":"(https:\/\/[^"]+)\/validate"/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const base = await ready;
  t.ok(existsSync(path.join(cwd, 'certs', 'ca.crt')) && existsSync(path.join(cwd, 'certs', 'tls.key')), 'dev certificates written');
  const ca = readFileSync(path.join(cwd, 'certs', 'ca.crt'), 'utf8');
  const review = makeReview({ operation: 'CREATE', object: example('01-app-cilium-good.yaml') });
  const res = await request(`${base}/validate`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, JSON.stringify(review));
  t.equal(judge(review, res.status, res.body, 'validating').outcome, 'allowed');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits cleanly after draining');
  t.match(out, /draining/);
});

