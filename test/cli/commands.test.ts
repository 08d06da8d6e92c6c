// The commands' user interface: per-command help, usage errors as one line, check over directories
// and standard input, and the rule catalogue. Each case runs the built binary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { REPO, SHARED } from '../helpers/corpus.js';

const BIN = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'cilium-guard-commands-'));
const run = (args: string[], cwd = REPO) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
const examples = ['01-app-cilium-good.yaml', '02-app-cilium-multisource-good.yaml', '03-appset-cilium-good.yaml', '06-cilium-config-good.yaml'].map((f) =>
  path.join(SHARED, 'examples', f),
);

t.test('help: COMMAND --help and help COMMAND print that command alone, exit 0; a wrong option is one line, exit 2', async (t) => {
  const commands = ['serve', 'check', 'audit', 'align', 'rules', 'uninstall', 'selftest', 'healthcheck'];
  for (const command of commands) {
    const variants = [[command, '--help'], ['help', command]];
    // The other spellings once, on one command (each run is a Node start-up).
    if (command === 'audit') variants.push([command, '-h'], [command, '--output', 'json', '--help']);
    for (const args of variants) {
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
