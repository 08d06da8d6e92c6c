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

t.test('help: COMMAND --help and help COMMAND print that command alone, exit 0; a wrong option is one line, exit 2', async (t) => {
  const commands = ['serve', 'check', 'audit', 'align', 'rules', 'uninstall', 'selftest', 'healthcheck'];
  for (const command of commands) {
    for (const args of [[command, '--help'], [command, '-h'], ['help', command], [command, '--output', 'json', '--help']]) {
      const r = run(args);
      t.equal(r.status, 0, `${args.join(' ')} exits 0`);
      t.match(r.stdout, new RegExp(`^Usage:\\n  cilium-guard ${command} `), `${args.join(' ')}: ${command}'s usage`);
      t.match(r.stdout, new RegExp(`\\n${command} +\\S`), `${args.join(' ')}: ${command}'s description`);
      const others = commands.filter((c) => c !== command && !(command === 'align' && c === 'check'));
      for (const other of others) t.notMatch(r.stdout, new RegExp(`cilium-guard ${other} `), `${args.join(' ')}: not ${other}'s usage`);
      t.equal(r.stderr, '');
    }
  }
  const all = run(['--help']);
  t.equal(all.status, 0);
  for (const command of commands) t.match(all.stdout, new RegExp(`\\n  cilium-guard ${command} `), `--help lists ${command}`);
  t.equal(run(['help']).stdout, all.stdout, 'help alone is --help');

  const wrong = run(['audit', '--bogus']);
  t.equal(wrong.status, 2);
  t.equal(wrong.stdout, '');
  t.equal(wrong.stderr, "cilium-guard: Unknown option '--bogus' (see 'cilium-guard audit --help')\n", 'one line: what is wrong and where help is');
  const missing = run(['selftest']);
  t.equal(missing.status, 2);
  t.equal(missing.stderr, "cilium-guard: selftest needs --namespace (see 'cilium-guard selftest --help')\n");
  for (const [args, expected] of [
    [['bogus'], /^cilium-guard: unknown command "bogus" \(see 'cilium-guard --help'\)\n$/],
    [['help', 'bogus'], /^cilium-guard: no help for "bogus": commands are serve, check, audit, align, rules, uninstall, selftest, healthcheck /],
    [[], /^cilium-guard: a command is required \(see 'cilium-guard --help'\)\n$/],
  ] as const) {
    const r = run([...args]);
    t.equal(r.status, 2, `${args.join(' ') || '(nothing)'} exits 2`);
    t.match(r.stderr, expected);
  }
  const positional = run(['check', '--', '--help']);
  t.equal(positional.status, 2, 'after --, --help is a file name, not a help request');
  t.notMatch(positional.stdout, /^Usage:/);
});

t.test('check DIR walks it recursively for YAML and JSON, as GitOps repositories are laid out', async (t) => {
  const { mkdirSync, symlinkSync } = await import('node:fs');
  const root = path.join(tmp, 'gitops');
  for (const d of ['apps/cilium', 'apps/other', '.git', 'empty']) mkdirSync(path.join(root, d), { recursive: true });
  const good = readFileSync(examples[0] as string, 'utf8');
  writeFileSync(path.join(root, 'apps/cilium/app.yaml'), good);
  writeFileSync(path.join(root, 'apps/cilium/values.yaml'), 'kubeProxyReplacement: false\nk8sServiceHost: localhost\n');
  writeFileSync(path.join(root, 'apps/other/bad.yml'), good.replace('namespace: kube-system', 'namespace: cilium'));
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' }, data: { 'kube-proxy-replacement': 'false' } };
  writeFileSync(path.join(root, 'apps/other/config.JSON'), JSON.stringify(cm));
  writeFileSync(path.join(root, 'apps/README.md'), '# not a manifest\n');
  writeFileSync(path.join(root, '.git/config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
  symlinkSync(root, path.join(root, 'apps/loop'));
  const r = run(['check', '--output', 'json', root]);
  t.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as { inputs: string[]; objects: Array<{ source: string; allowed: boolean }>; notes: string[]; errors: unknown[] };
  t.same(
    report.inputs.map((f) => path.relative(root, f)),
    ['apps/cilium/app.yaml', 'apps/cilium/values.yaml', 'apps/other/bad.yml', 'apps/other/config.JSON'],
    'YAML and JSON files in name order; .git, README.md and the symlinked directory left out',
  );
  t.same(
    report.objects.map((o) => [path.relative(root, o.source), o.allowed]),
    [['apps/cilium/app.yaml#1', true], ['apps/other/bad.yml#1', false], ['apps/other/config.JSON#1', false]],
  );
  t.same(report.errors, [], 'the values file is not an input error');
  t.match(report.notes.join('\n'), /1 document\(s\) without apiVersion and kind skipped/);

  const named = run(['check', path.join(root, 'apps/cilium/values.yaml')]);
  t.equal(named.status, 2, 'a values file named on the command line is still an input error');
  const empty = run(['check', path.join(root, 'empty')]);
  t.equal(empty.status, 2);
  t.match(empty.stdout, /no \.yaml, \.yml or \.json file in this directory/);
});

t.test('check - reads standard input (kustomize build | cilium-guard check -)', async (t) => {
  const bad = readFileSync(examples[0] as string, 'utf8').replace('namespace: kube-system', 'namespace: cilium');
  const r = spawnSync(process.execPath, [BIN, 'check', '-'], { cwd: REPO, encoding: 'utf8', timeout: 30_000, input: `${bad}\n---\n${readFileSync(examples[3] as string, 'utf8')}` });
  t.equal(r.status, 1, r.stderr);
  t.match(r.stdout, /FAIL  stdin#1 Application argocd\/cilium\n  DENY R1 spec\.destination\.namespace/);
  t.match(r.stdout, /ok    stdin#[0-9]+ ConfigMap kube-system\/cilium-config/);
  const mixed = spawnSync(process.execPath, [BIN, 'check', '-', examples[1] as string], { cwd: REPO, encoding: 'utf8', timeout: 30_000, input: readFileSync(examples[0] as string, 'utf8') });
  t.equal(mixed.status, 0, 'standard input beside a file');
  t.match(mixed.stdout, /2 object\(s\) checked: 0 denied/);
  const twice = spawnSync(process.execPath, [BIN, 'check', '-', '-'], { cwd: REPO, encoding: 'utf8', timeout: 30_000, input: '' });
  t.equal(twice.status, 2);
  t.match(twice.stdout, /ERROR -: standard input is given more than once/);
  const broken = spawnSync(process.execPath, [BIN, 'check', '-'], { cwd: REPO, encoding: 'utf8', timeout: 30_000, input: 'a: [\n' });
  t.equal(broken.status, 2, 'broken YAML on standard input is an input error');
  t.match(broken.stdout, /ERROR stdin#1: not valid YAML/);
});

t.test('rules lists every rule with what it protects, its mode under --config and its page', async (t) => {
  const { RULE_IDS } = await import('../../src/policy/types.js');
  const text = run(['rules']);
  t.equal(text.status, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  t.match(lines[0], /^RULE +MODE +PROTECTS$/);
  for (const id of RULE_IDS) {
    t.match(text.stdout, new RegExp(`\\n${id.replace('.', '\\.')} +(deny|warn|audit) +\\S`), `${id} is listed`);
    t.match(text.stdout, `https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/${id}.md\n`, `${id}'s page`);
  }
  t.match(text.stdout, /\nA1 +warn +/, 'A1 warns by default');

  const policy = path.join(tmp, 'rules-policy.yaml');
  writeFileSync(policy, 'rules:\n  A1: {mode: deny}\n  R4: {mode: audit}\ndocs:\n  ruleURL: "https://wiki.example.org/guard/{rule}"\n');
  const json = run(['rules', '--config', policy, '--output', 'json']);
  t.equal(json.status, 0, json.stderr);
  const { rules } = JSON.parse(json.stdout) as { rules: Array<{ id: string; mode: string; docs: string; protects: string }> };
  t.same(rules.map((r) => r.id), [...RULE_IDS]);
  t.same(rules.find((r) => r.id === 'A1')?.mode, 'deny');
  t.same(rules.find((r) => r.id === 'R4')?.mode, 'audit');
  t.equal(rules.find((r) => r.id === 'T2')?.docs, 'https://wiki.example.org/guard/T2');

  writeFileSync(policy, 'docs:\n  ruleURL: ""\n');
  const off = run(['rules', '--config', policy]);
  t.notMatch(off.stdout, /https?:/, 'no links when docs.ruleURL is empty');
  const bad = run(['rules', '--output', 'yaml']);
  t.equal(bad.status, 2);
  t.equal(bad.stderr, `cilium-guard: --output must be text or json, got "yaml" (see 'cilium-guard rules --help')\n`);
});
