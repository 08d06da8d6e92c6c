// One version everywhere a release carries it (package.json, `cilium-guard --version`, the chart's
// version and appVersion, the image tag the chart renders by default and announces to Artifact Hub,
// the CHANGELOG's latest release, the Action's default), what npm would publish, and the workflows
// and the Action clean under actionlint with every third-party action pinned by commit.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parse } from 'yaml';
import { render, find } from '../helpers/chart.js';
import { REPO } from '../helpers/corpus.js';

const exec = promisify(execFile);
const read = (f: string): string => readFileSync(path.join(REPO, f), 'utf8');
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$/;

const pkg = JSON.parse(read('package.json')) as { version: string; files: string[]; bin: Record<string, string>; scripts: Record<string, string>; repository: { url: string } };
const version = pkg.version;
const chart = parse(read('charts/cilium-guard/Chart.yaml')) as { version: string; appVersion: string; annotations: Record<string, string> };
const action = parse(read('action.yml')) as { inputs: Record<string, { default?: string }>; runs: { steps: Array<Record<string, unknown>> } };

t.test('package.json carries a semver version', async (t) => {
  t.match(version, SEMVER);
});

t.test('cilium-guard --version', async (t) => {
  const { stdout } = await exec(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), '--version']);
  t.equal(stdout, `${version}\n`);
});

t.test('the chart: version, appVersion, the image it renders by default, Artifact Hub images', async (t) => {
  t.equal(chart.version, version, 'Chart.yaml version');
  t.equal(chart.appVersion, version, 'Chart.yaml appVersion');
  const rendered = await render();
  const image = find(rendered, 'Deployment').spec.template.spec.containers[0].image as string;
  t.equal(image, `ghcr.io/cilium-guard/cilium-guard:${version}`, 'helm template, default values');
  const announced = parse(chart.annotations['artifacthub.io/images']!) as Array<{ image: string; platforms?: string[] }>;
  t.same(
    announced.map((i) => i.image),
    [image],
    'artifacthub.io/images names the image the chart runs',
  );
  t.same(announced[0]!.platforms, ['linux/amd64', 'linux/arm64'], 'the platforms release.yml builds');
  for (const key of ['artifacthub.io/changes', 'artifacthub.io/links']) {
    const list = parse(chart.annotations[key]!) as unknown[];
    t.ok(Array.isArray(list) && list.length > 0, `${key} is a YAML list`);
  }
  t.equal(chart.annotations['artifacthub.io/license'], 'Apache-2.0');
  t.match(chart.annotations['artifacthub.io/containsSecurityUpdates'], /^(true|false)$/);
});

t.test('CHANGELOG.md: Keep a Changelog, latest release is this version', async (t) => {
  const text = read('CHANGELOG.md');
  const headings = [...text.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map((m) => ({ name: m[1]!, date: m[2] }));
  t.equal(headings[0]?.name, 'Unreleased', 'an Unreleased section comes first');
  const released = headings.filter((h) => h.name !== 'Unreleased');
  t.equal(released[0]?.name, version, 'the latest released version');
  for (const h of released) {
    t.match(h.name, SEMVER, `${h.name} is semver`);
    t.ok(h.date, `${h.name} has a date`);
    t.match(text, new RegExp(`^\\[${h.name.replace(/\./g, '\\.')}\\]: https://`, 'm'), `${h.name} has a link`);
  }
  t.match(text, /^\[Unreleased\]: https:\/\//m);
});

t.test('the Action runs the release it ships with', async (t) => {
  t.equal(action.inputs.version?.default, version, 'action.yml inputs.version.default');
  t.match(read('.pre-commit-hooks.yaml'), /entry: cilium-guard check/);
});

t.test('npm publish ships dist/src, the example policy, README and CHANGELOG only', async (t) => {
  t.equal(pkg.bin['cilium-guard'], 'dist/src/cli/main.js');
  t.equal(pkg.scripts.prepare, 'node scripts/prepare.mjs', 'npm pack, npm publish and a git install (pre-commit) build first');
  t.match(pkg.repository.url, /github\.com\/cilium-guard\/cilium-guard/, 'npm provenance needs the repository');
  const { stdout } = await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, maxBuffer: 16 << 20 });
  const files = ((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files ?? []).map((f) => f.path);
  t.ok(files.includes('dist/src/cli/main.js'), 'the bin');
  t.ok(files.includes('CHANGELOG.md') && files.includes('README.md') && files.includes('package.json'));
  t.same(
    files.filter((f) => !/^dist\/src\/.+\.js$/.test(f) && !['CHANGELOG.md', 'README.md', 'package.json', 'config/policy.example.yaml', 'LICENSE'].includes(f)),
    [],
    'nothing else: no tests, maps, sources or charts',
  );
});

const workflows = readdirSync(path.join(REPO, '.github/workflows')).filter((f) => /\.ya?ml$/.test(f));

t.test('every third-party action is pinned by full commit SHA with its version beside it', async (t) => {
  const files = [...workflows.map((f) => `.github/workflows/${f}`), 'action.yml'];
  let count = 0;
  for (const f of files) {
    for (const m of read(f).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)) {
      const ref = m[1]!;
      if (ref.startsWith('./')) continue;
      count++;
      t.match(ref, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${f}: ${ref} by commit`);
      t.match(m[2]!, /^\s+# v\d+(\.\d+)*$/, `${f}: ${ref} says its version`);
    }
  }
  t.ok(count > 10, `${count} pinned uses`);
  t.ok(workflows.includes('ci.yml') && workflows.includes('release.yml'));
});

t.test('release.yml runs on version tags and gives each job only what it needs', async (t) => {
  const wf = parse(read('.github/workflows/release.yml')) as { on: { push: { tags: string[] } }; permissions: unknown; jobs: Record<string, { permissions?: Record<string, string> }> };
  t.same(wf.on.push.tags, ['v*']);
  t.same(wf.permissions, {}, 'nothing at the top');
  for (const [name, job] of Object.entries(wf.jobs)) t.ok(job.permissions, `${name} names its permissions`);
  t.same(wf.jobs.npm?.permissions, { contents: 'read', 'id-token': 'write' });
  t.equal(wf.jobs.image?.permissions?.packages, 'write');
  const ci = parse(read('.github/workflows/ci.yml')) as { permissions: unknown };
  t.same(ci.permissions, { contents: 'read' });
});

t.test('actionlint: the workflows, action.yml (through uses: ./) and the Action script', async (t) => {
  const script = read('scripts/actionlint.sh');
  const v = /ACTIONLINT_VERSION:-(v[\d.]+)/.exec(script)?.[1];
  const cache = process.env.CILIUM_GUARD_TOOLS ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'cilium-guard/tools');
  const bin = path.join(cache, `actionlint-${v}`, 'actionlint');
  if (!existsSync(bin)) {
    t.pass('actionlint', { skip: `actionlint ${v} is not built (${bin}): run bash scripts/actionlint.sh, as .ci/run does` });
    return;
  }
  const r = await exec('bash', [path.join(REPO, 'scripts/actionlint.sh')], { cwd: REPO }).catch((e: { stdout: string; stderr: string; code: number }) => e);
  t.equal('code' in r ? r.code : 0, 0, `actionlint findings:\n${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^actionlint: \d+ workflow\(s\), action\.yml and scripts\/action-check\.sh clean/m);
});
