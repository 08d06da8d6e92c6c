// The Action (action.yml) run here as GitHub's runner runs a composite action, on the sample GitOps
// repository test/fixtures/gitops-sample: each step's `if:`, `env:` and `working-directory:` evaluated
// (only the expressions the Action uses: inputs.*, github.action_path, steps.*.outputs.*), each
// `run:` written to a file and run with `bash --noprofile --norc -eo pipefail FILE` (what `shell:
// bash` means), GITHUB_WORKSPACE, GITHUB_ACTION_PATH and GITHUB_OUTPUT set, `npx` replaced by the
// local build (a stub that also checks it was asked for the pinned release). actions/setup-node is
// the one `uses:` step; Node is already on PATH here. Annotations are read back from the step's
// output as the runner parses workflow commands (test/helpers/workflow-commands.ts).
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { REPO } from '../helpers/corpus.js';
import { annotationsOf, workflowCommands } from '../helpers/workflow-commands.js';

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
  with?: Record<string, string>;
}
interface ActionMeta {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = parse(readFileSync(path.join(REPO, 'action.yml'), 'utf8')) as ActionMeta;
const PINNED = action.inputs.version!.default!;
const SAMPLE = path.join(REPO, 'test/fixtures/gitops-sample');

interface Context {
  inputs: Record<string, string>;
  steps: Record<string, { outputs: Record<string, string>; outcome: string }>;
  actionPath: string;
}

/** The expressions the Action may use; anything else fails the test rather than being guessed. */
function evaluate(expr: string, ctx: Context): string | boolean {
  const e = expr.trim();
  const eq = /^(.+?)\s*==\s*'([^']*)'$/.exec(e);
  if (eq) return String(evaluate(eq[1]!, ctx)) === eq[2];
  let m = /^inputs\.([\w-]+)$/.exec(e);
  if (m) {
    if (!(m[1]! in action.inputs)) throw new Error(`action.yml uses an undeclared input ${m[1]}`);
    return ctx.inputs[m[1]!] ?? '';
  }
  if (e === 'github.action_path') return ctx.actionPath;
  m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(e);
  if (m) return ctx.steps[m[1]!]?.outputs[m[2]!] ?? '';
  throw new Error(`expression the test does not evaluate: ${e}`);
}

function interpolate(text: string, ctx: Context): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => String(evaluate(e, ctx)));
}

function condition(text: string | undefined, ctx: Context): boolean {
  if (text === undefined) return true;
  const inner = /^\$\{\{(.*)\}\}$/.exec(text.trim());
  return Boolean(evaluate(inner ? inner[1]! : text, ctx));
}

function readOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

interface ActionRun {
  failed: boolean;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
  skipped: string[];
  npxCalls: string[][];
}

/** Runs the composite's steps in a fresh copy of the sample repository, as the runner would. */
async function runAction(inputs: Record<string, string>): Promise<ActionRun> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cg-action-'));
  try {
    const workspace = path.join(tmp, 'workspace');
    cpSync(SAMPLE, workspace, { recursive: true });
    const bin = path.join(tmp, 'bin');
    const npxLog = path.join(tmp, 'npx.log');
    cpSync(path.join(REPO, 'test/release/npx-stub.sh'), path.join(bin, 'npx'));
    chmodSync(path.join(bin, 'npx'), 0o755);
    const resolved: Record<string, string> = {};
    for (const [name, def] of Object.entries(action.inputs)) resolved[name] = inputs[name] ?? def.default ?? '';
    for (const name of Object.keys(inputs)) if (!(name in action.inputs)) throw new Error(`no input ${name}`);
    const ctx: Context = { inputs: resolved, steps: {}, actionPath: REPO };
    const result: ActionRun = { failed: false, outputs: {}, stdout: '', stderr: '', skipped: [], npxCalls: [] };
    for (const [i, step] of action.runs.steps.entries()) {
      const label = step.name ?? step.id ?? `step ${i + 1}`;
      // A composite step runs only while the steps before it succeeded (the implicit success()).
      if (result.failed || !condition(step.if, ctx)) {
        result.skipped.push(label);
        continue;
      }
      if (step.uses) {
        if (!step.uses.startsWith('actions/setup-node@')) throw new Error(`a uses: step the test cannot stand in for: ${step.uses}`);
        result.skipped.push(`${label} (Node ${process.versions.node} is on PATH here)`);
        continue;
      }
      if (step.shell !== 'bash' || step.run === undefined) throw new Error(`${label}: expected a bash run: step`);
      const script = path.join(tmp, `step-${i}.sh`);
      writeFileSync(script, interpolate(step.run, ctx));
      const outputFile = path.join(tmp, `output-${i}`);
      writeFileSync(outputFile, '');
      const env: NodeJS.ProcessEnv = {
        PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOME: process.env.HOME ?? tmp,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: workspace,
        GITHUB_ACTION_PATH: REPO,
        GITHUB_OUTPUT: outputFile,
        RUNNER_TEMP: tmp,
        CG_TEST_NPX_LOG: npxLog,
        CG_TEST_NPX_PINNED: PINNED,
        CG_TEST_MAIN: path.join(REPO, 'dist/src/cli/main.js'),
      };
      for (const [k, v] of Object.entries(step.env ?? {})) env[k] = interpolate(String(v), ctx);
      const cwd = path.resolve(workspace, interpolate(step['working-directory'] ?? '.', ctx));
      const r = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env });
      result.stdout += r.stdout;
      result.stderr += r.stderr;
      const outputs = readOutputs(outputFile);
      if (step.id) ctx.steps[step.id] = { outputs, outcome: r.code === 0 ? 'success' : 'failure' };
      if (r.code !== 0) result.failed = true;
    }
    for (const [name, out] of Object.entries(action.outputs)) result.outputs[name] = interpolate(out.value, ctx);
    try {
      result.npxCalls = readFileSync(npxLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]);
    } catch {
      result.npxCalls = [];
    }
    return result;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The line (from 1) of the first line of FILE (in the sample) that contains TEXT. */
function lineOf(file: string, text: string): number {
  const lines = readFileSync(path.join(SAMPLE, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${text} is not in ${file}`);
  return i + 1;
}

const STAGING = 'apps/staging/cilium.yaml';
const EU_JSON = 'clusters/eu,west/apps/cilium.json';
const EU_CONFIG = 'clusters/eu,west/cilium-config.yaml';
const expectedAll = () => [
  { level: 'error', file: STAGING, line: lineOf(STAGING, 'namespace: cilium'), title: 'cilium-guard R1' },
  { level: 'error', file: STAGING, line: lineOf(STAGING, 'ciliumAgent:'), title: 'cilium-guard T1' },
  { level: 'error', file: STAGING, line: lineOf(STAGING, 'syncOptions:'), title: 'cilium-guard R3' },
  { level: 'warning', file: EU_JSON, line: lineOf(EU_JSON, '"k8sServiceHost"'), title: 'cilium-guard R4.endpoint' },
  { level: 'warning', file: EU_JSON, line: lineOf(EU_JSON, '"k8sServicePort"'), title: 'cilium-guard R4.endpoint' },
  { level: 'error', file: EU_CONFIG, line: lineOf(EU_CONFIG, 'kube-proxy-replacement:'), title: 'cilium-guard C1' },
];
const shape = (a: ReturnType<typeof annotationsOf>) => a.map(({ level, file, line, title }) => ({ level, file, line, title }));

t.test('the Action is a composite of setup-node and one bash step', async (t) => {
  t.equal(action.runs.using, 'composite');
  t.same(
    action.runs.steps.map((s) => (s.uses ? s.uses.split('@')[0] : s.shell)),
    ['actions/setup-node', 'bash'],
  );
  t.match(PINNED, /^\d+\.\d+\.\d+$/);
});

t.test('defaults over the whole sample repository: npx of the pinned release, annotations, a failed step', async (t) => {
  const r = await runAction({});
  t.ok(r.failed, 'denials fail the step');
  t.equal(r.outputs['exit-code'], '1', 'outputs.exit-code');
  t.same(r.npxCalls, [['--yes', `cilium-guard@${PINNED}`, 'check', '--output', 'github', '--', '.']], 'npx --yes cilium-guard@PINNED check --output github -- .');
  t.same(r.skipped, [`Set up Node.js (Node ${process.versions.node} is on PATH here)`]);
  const found = annotationsOf(r.stdout);
  t.same(shape(found), expectedAll(), 'one annotation per finding, on the line of its key, paths from the workspace root');
  t.match(found[0]!.message, /^spec\.destination\.namespace is "cilium".*\(Application argocd\/cilium, spec\.destination\.namespace\)$/s);
  t.match(found[5]!.message, /data\.kube-proxy-replacement is "false"/);
  t.same(
    workflowCommands(r.stdout).map((c) => c.command),
    ['error', 'error', 'error', 'warning', 'warning', 'error'],
    'the text report (manifest content) is fenced by stop-commands: no other command reaches the runner',
  );
  t.match(r.stdout, /5 object\(s\) checked: 2 denied, 0 need the argocd-cm mutation, 2 warning\(s\), 0 input error\(s\)/);
  t.match(r.stdout, /note: 1 document\(s\) without apiVersion and kind skipped/, 'the values file is skipped');
  t.match(r.stdout, /cilium-guard: something in \. would be refused/);
});

t.test('several paths, one per line: clean, no annotations, step passes', async (t) => {
  const r = await runAction({ paths: 'apps/platform\n  values  \n' });
  t.notOk(r.failed, r.stdout + r.stderr);
  t.equal(r.outputs['exit-code'], '0');
  t.same(annotationsOf(r.stdout), []);
  t.same(r.npxCalls[0]?.slice(-3), ['--', 'apps/platform', 'values']);
});

t.test('warnings pass unless strict', async (t) => {
  const lax = await runAction({ paths: 'clusters/eu,west/apps' });
  t.notOk(lax.failed);
  t.same(shape(annotationsOf(lax.stdout)), expectedAll().filter((a) => a.file === EU_JSON));
  const strict = await runAction({ paths: 'clusters/eu,west/apps', strict: 'true' });
  t.ok(strict.failed, 'strict: warnings fail the step');
  t.equal(strict.outputs['exit-code'], '1');
  t.ok(strict.npxCalls[0]?.includes('--strict'));
});

t.test('working-directory: paths read from there, annotations still relative to the workspace', async (t) => {
  const r = await runAction({ 'working-directory': 'clusters', paths: 'eu,west' });
  t.ok(r.failed);
  t.same(shape(annotationsOf(r.stdout)), expectedAll().filter((a) => a.file.startsWith('clusters/')));
});

t.test('version: local runs this checkout (no npx)', async (t) => {
  const r = await runAction({ version: 'local', paths: 'apps' });
  t.ok(r.failed);
  t.same(r.npxCalls, [], 'npx was not called');
  t.same(shape(annotationsOf(r.stdout)), expectedAll().filter((a) => a.file === STAGING));
});

t.test('unreadable input: an annotation on the file, exit 2', async (t) => {
  const r = await runAction({ paths: 'missing.yaml apps/platform' });
  t.ok(r.failed);
  t.equal(r.outputs['exit-code'], '2');
  t.same(annotationsOf(r.stdout).map(({ level, file, title }) => ({ level, file, title })), [
    { level: 'error', file: 'missing.yaml', title: 'cilium-guard: unreadable input' },
  ]);
});

t.test('bad inputs are refused before anything runs', async (t) => {
  const v = await runAction({ version: 'latest; rm -rf /' });
  t.ok(v.failed);
  t.same(v.npxCalls, []);
  t.match(annotationsOf(v.stdout)[0]?.message ?? '', /input version must be a release/);
  const s = await runAction({ strict: 'yes' });
  t.ok(s.failed);
  t.match(annotationsOf(s.stdout)[0]?.message ?? '', /input strict must be true or false/);
});
