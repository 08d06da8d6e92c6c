// The documentation is run, so it cannot rot: README.md, certs/README.md and docs/**/*.md.
//
// (a) Examples. A fenced YAML block right after a marker comment is checked by the real CLI
//     (`cilium-guard check -o json -`), or for a DELETE by the policy engine (`check` judges CREATEs):
//       <!-- check: allow -->                      admitted, no finding at all
//       <!-- check: allow warn L1 -->              admitted, with exactly these rules warning
//       <!-- check: deny R1 [R4 ...] [warn X] -->  refused by exactly these rules (and warning by exactly X)
//       <!-- check: mutate M1 -->                  argocd-cm that gets the M1 patch
//       <!-- check: output -->                     before a ```text block: what `check -` prints for the
//                                                  example just before (same matching as for commands)
//     Options after the verdict: cluster=FILE (check --cluster FILE), config=FILE (--config FILE),
//     both relative to the Markdown file; operation=DELETE. A YAML block holding an Application,
//     ApplicationSet or ConfigMap without a marker must say why it is not checked:
//       <!-- check: none (reason) -->
// (b) Commands. In ```console blocks, each `$ ` line is a command. Commands that run offline
//     (check, align with files, --help, help, --version) run from the repository root with
//     `cilium-guard` on PATH; the lines after a command are its output and must match (a line `…`
//     matches any lines; a line ending in `…` matches any line with that beginning), and the exit
//     code must be 0 or 1 (`<!-- command: exit=N -->` expects N). Commands that need a cluster
//     (audit, serve, align --live, uninstall, selftest, healthcheck, or any command marked
//     `<!-- command: cluster -->`) are checked for syntax: `cilium-guard COMMAND --help` succeeds and
//     names every option the command uses.
// (c) Links. Every relative link resolves to a file, and every #anchor to a heading of that file.
// (d) The serve example (curl against a local serve) runs as written, on free ports.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { devCertificatePaths, ensureDevCertificates } from '../../src/certs/dev.js';
import { loadConfig } from '../../src/cli/config-file.js';
import { validate } from '../../src/policy/engine.js';
import { RULE_IDS } from '../../src/policy/types.js';
import { REPO } from '../helpers/corpus.js';

const BIN = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'cilium-guard-docs-'));

/** `cilium-guard` on PATH, as an installed package would put it. */
const binDir = path.join(tmp, 'bin');
{
  const shim = path.join(binDir, 'cilium-guard');
  spawnSync('mkdir', ['-p', binDir]);
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(shim, 0o755);
}

// ---------------------------------------------------------------------------------------------
// Reading Markdown

export interface Block {
  file: string;
  line: number;
  lang: string;
  text: string;
  /** The marker comment right before the fence (blank lines between are allowed), if any. */
  marker?: string;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

export interface Page {
  file: string;
  blocks: Block[];
  links: Link[];
  headings: string[];
}

export function readPage(file: string, text = readFileSync(file, 'utf8')): Page {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  const links: Link[] = [];
  const headings: string[] = [];
  let fence: { char: string; len: number; lang: string; line: number; body: string[]; marker?: string } | undefined;
  let lastMarker: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = /^\s*(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (fence) {
      const close = new RegExp(`^\\s*${fence.char === '`' ? '`' : '~'}{${fence.len},}\\s*$`);
      if (close.test(line)) {
        blocks.push({ file, line: fence.line, lang: fence.lang, text: fence.body.join('\n') + '\n', ...(fence.marker ? { marker: fence.marker } : {}) });
        fence = undefined;
      } else fence.body.push(line);
      continue;
    }
    if (open) {
      fence = { char: open[1]![0]!, len: open[1]!.length, lang: open[2]!.toLowerCase(), line: i + 1, body: [], ...(lastMarker ? { marker: lastMarker } : {}) };
      lastMarker = undefined;
      continue;
    }
    const marker = /^\s*<!--\s*((?:check|command):.*?)\s*-->\s*$/.exec(line);
    if (marker) {
      lastMarker = marker[1];
      continue;
    }
    if (line.trim() !== '') lastMarker = undefined;
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) headings.push(heading[2]!);
    // Links outside inline code.
    const prose = line.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length));
    for (const m of prose.matchAll(/\[(?:[^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ file, line: i + 1, target: m[1]! });
  }
  // Strip the indentation of indented fences (list items).
  for (const b of blocks) {
    const body = b.text.split('\n');
    const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
    if (Number.isFinite(indent) && indent > 0) b.text = body.map((l) => l.slice(indent)).join('\n');
  }
  return { file, blocks, links, headings };
}

/** GitHub's anchor for a heading: lower case, formatting and punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*_]/g, (c) => (c === '_' ? '_' : ''))
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

export function anchors(headings: string[]): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings) {
    const base = slug(h);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function markdownFiles(): string[] {
  const out = [path.join(REPO, 'README.md'), path.join(REPO, 'certs', 'README.md')];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(path.join(REPO, 'docs'));
  return out;
}

const rel = (file: string) => path.relative(REPO, file);

// ---------------------------------------------------------------------------------------------
// (a) Examples

interface Expectation {
  verdict: 'allow' | 'deny' | 'mutate';
  deny: string[];
  mutate: string[];
  warn: string[];
  cluster?: string;
  config?: string;
  operation: 'CREATE' | 'DELETE';
}

export function parseCheckMarker(marker: string, file: string): Expectation | 'none' | string {
  const body = marker.replace(/^check:\s*/, '');
  if (/^none\b/.test(body)) return /^none\s*\(.+\)$/.test(body) ? 'none' : 'check: none needs a (reason)';
  const words = body.split(/\s+/).filter(Boolean);
  const verdict = words.shift();
  if (verdict !== 'allow' && verdict !== 'deny' && verdict !== 'mutate') return `unknown verdict ${verdict}`;
  const e: Expectation = { verdict, deny: [], mutate: [], warn: [], operation: 'CREATE' };
  let list: string[] = verdict === 'deny' ? e.deny : verdict === 'mutate' ? e.mutate : e.warn;
  for (const w of words) {
    const opt = /^(cluster|config|operation)=(.+)$/.exec(w);
    if (opt) {
      if (opt[1] === 'operation') {
        if (opt[2] !== 'DELETE' && opt[2] !== 'CREATE') return `operation ${opt[2]}`;
        e.operation = opt[2];
      } else e[opt[1] as 'cluster' | 'config'] = path.resolve(path.dirname(file), opt[2]!);
    } else if (w === 'warn') list = e.warn;
    else if ((RULE_IDS as readonly string[]).includes(w)) list.push(w);
    else return `unknown rule or option ${w}`;
  }
  if (verdict === 'deny' && e.deny.length === 0) return 'deny needs the rule ids';
  if (verdict === 'mutate' && e.mutate.length === 0) return 'mutate needs M1';
  return e;
}

interface Outcome {
  exit: number;
  allowed: boolean;
  deny: string[];
  mutate: string[];
  warn: string[];
  raw: string;
}

const uniqSorted = (xs: string[]) => [...new Set(xs)].sort();

/** `check` as a reader would run it from the repository root: paths relative to it, so the output shows them so. */
function checkArgs(e: Expectation, output: 'json' | 'text'): string[] {
  return ['check', '-o', output, ...(e.config ? ['--config', rel(e.config)] : []), ...(e.cluster ? ['--cluster', rel(e.cluster)] : []), '-'];
}

/** Runs async, at most `limit` at once: the machine is shared, and each run is a Node process. */
async function pool<T>(items: Array<() => Promise<T>>, limit = 3): Promise<T[]> {
  const out: T[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await items[i]!();
      }
    }),
  );
  return out;
}

function runCli(args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill(), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

interface Example {
  block: Block;
  e: Expectation;
  file: string;
}

type JsonReport = { objects?: Array<{ source: string; allowed: boolean; patch?: unknown[]; findings: Array<{ rule: string; verdict: string }> }>; errors?: Array<{ source: string }> };

/**
 * The CREATE examples go through the real binary, `check -o json FILE...`, one run per policy file and
 * cluster view (each example written to a file of its own; the exit code is judged per example as
 * `check` computes it for one object: 1 when denied or patched). DELETE examples go through the engine.
 */
async function judgeAll(examples: Example[]): Promise<Map<Example, Outcome>> {
  const out = new Map<Example, Outcome>();
  const groups = new Map<string, Example[]>();
  for (const x of examples) {
    if (x.e.operation === 'DELETE') {
      out.set(x, await judgeDelete(x.block, x.e));
      continue;
    }
    writeFileSync(x.file, x.block.text);
    const key = `${x.e.config ?? ''}|${x.e.cluster ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), x]);
  }
  await pool(
    [...groups.values()].map((xs) => async () => {
      const e = xs[0]!.e;
      const args = ['check', '-o', 'json', ...(e.config ? ['--config', rel(e.config)] : []), ...(e.cluster ? ['--cluster', rel(e.cluster)] : []), ...xs.map((x) => x.file)];
      const r = await runCli(args);
      let report: JsonReport = {};
      try {
        report = JSON.parse(r.stdout) as JsonReport;
      } catch {
        // Reported per example below.
      }
      for (const x of xs) {
        const objects = (report.objects ?? []).filter((o) => o.source.split('#')[0] === x.file);
        const errors = (report.errors ?? []).filter((o) => o.source.split('#')[0] === x.file);
        const findings = objects.flatMap((o) => o.findings);
        const by = (v: string) => uniqSorted(findings.filter((f) => f.verdict === v).map((f) => f.rule));
        const raw = JSON.stringify({ objects, errors }, null, 2) + (report.objects ? '' : r.stderr);
        if (errors.length > 0 || objects.length === 0) out.set(x, { exit: 2, allowed: false, deny: [], mutate: [], warn: [], raw });
        else {
          const exit = objects.some((o) => !o.allowed || (o.patch?.length ?? 0) > 0) ? 1 : 0;
          out.set(x, { exit: r.status === 2 ? 2 : exit, allowed: objects.every((o) => o.allowed), deny: by('deny'), mutate: by('mutate'), warn: by('warn'), raw });
        }
      }
    }),
  );
  return out;
}

async function judgeDelete(block: Block, e: Expectation): Promise<Outcome> {
  const loaded = await loadConfig(e.config);
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const obj = parseAllDocuments(block.text)[0]!.toJS() as Record<string, unknown>;
  const [group, version] = String(obj.apiVersion).split('/');
  const meta = obj.metadata as { name?: string; namespace?: string };
  const d = validate(
    {
      operation: 'DELETE',
      kind: { group: group!, version: version!, kind: String(obj.kind) },
      ...(meta.name ? { name: meta.name } : {}),
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      object: null,
      oldObject: obj,
      userInfo: { username: 'docs' },
      dryRun: false,
    },
    loaded.config,
  );
  const by = (v: string) => uniqSorted(d.findings.filter((f) => f.verdict === v).map((f) => f.rule));
  return { exit: d.allowed ? 0 : 1, allowed: d.allowed, deny: by('deny'), mutate: [], warn: by('warn'), raw: JSON.stringify(d, null, 2) };
}

/** A YAML block that holds what cilium-guard judges: it must be checked, or say why not. */
function judgeable(block: Block): boolean {
  if (!['yaml', 'yml'].includes(block.lang)) return false;
  try {
    return parseAllDocuments(block.text).some((d) => {
      const v = d.toJS() as { kind?: unknown } | null;
      return v !== null && typeof v === 'object' && ['Application', 'ApplicationSet', 'ConfigMap'].includes(String(v.kind));
    });
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// (b) Commands

interface Command {
  block: Block;
  command: string;
  output: string[];
}

export function commandsOf(block: Block): Command[] {
  const out: Command[] = [];
  const lines = block.text.replace(/\n$/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('$ ')) {
      out.at(-1)?.output.push(line);
      continue;
    }
    let command = line.slice(2);
    while (command.endsWith('\\') && i + 1 < lines.length) command = command.slice(0, -1) + ' ' + lines[++i]!.trim();
    out.push({ block, command, output: [] });
  }
  return out;
}

/** The cilium-guard invocations in a command line: its words after `cilium-guard`, up to a pipe or `&&`. */
export function invocations(command: string): string[][] {
  const words = command.match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
  const out: string[][] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== 'cilium-guard') continue;
    const args: string[] = [];
    for (let j = i + 1; j < words.length && !['|', '&&', '||', ';', '>', '2>', '<'].includes(words[j]!); j++) args.push(words[j]!);
    out.push(args);
  }
  return out;
}

const CLUSTER_COMMANDS = new Set(['audit', 'serve', 'uninstall', 'selftest', 'healthcheck']);

function needsCluster(cmd: Command): boolean {
  if (/\bcommand:\s*cluster\b/.test(cmd.block.marker ?? '')) return true;
  const calls = invocations(cmd.command);
  if (calls.length === 0) return true;
  const first = cmd.command.trim().split(/\s+/);
  const startsWithUs = first[0] === 'cilium-guard' || (first[0] === 'npx' && first[1] === 'cilium-guard');
  if (!startsWithUs) return true;
  return calls.some((args) => {
    if (args.includes('--help') || args.includes('-h') || args[0] === 'help' || args[0] === '--version') return false;
    return CLUSTER_COMMANDS.has(args[0] ?? '') || args.includes('--live');
  });
}

/** Shown output against real output: `…` alone matches any lines; a line ending in `…` matches by prefix. */
export function outputMatches(shown: string[], actual: string[]): boolean {
  const s = shown.map((l) => l.trimEnd());
  const a = actual.map((l) => l.trimEnd());
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    if (memo.has(key)) return memo.get(key)!;
    let r: boolean;
    if (i === s.length) r = j === a.length;
    else if (s[i] === '…' || s[i] === '...') r = go(i + 1, j) || (j < a.length && go(i, j + 1));
    else if (j === a.length) r = false;
    else if (s[i]!.endsWith('…')) r = a[j]!.startsWith(s[i]!.slice(0, -1)) && go(i + 1, j + 1);
    else r = s[i] === a[j] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

const helpCache = new Map<string, { status: number | null; text: string }>();
function helpFor(sub: string): { status: number | null; text: string } {
  if (!helpCache.has(sub)) {
    const r = spawnSync(process.execPath, [BIN, sub, '--help'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    helpCache.set(sub, { status: r.status, text: r.stdout + r.stderr });
  }
  return helpCache.get(sub)!;
}

// ---------------------------------------------------------------------------------------------

const pages = markdownFiles().map((f) => readPage(f));
const counts = { pages: pages.length, examples: 0, outputs: 0, exempt: 0, commandsRun: 0, commandsSyntax: 0, links: 0 };

t.test('the Markdown reader, matcher and anchors (so the checks below mean something)', async (t) => {
  t.equal(slug('End to end (`npm run test:e2e`)'), 'end-to-end-npm-run-teste2e');
  t.equal(slug('Failure policy, break-glass and CNI outages'), 'failure-policy-break-glass-and-cni-outages');
  t.same([...anchors(['A', 'A', 'B'])], ['a', 'a-1', 'b']);
  t.ok(outputMatches(['a', '…', 'd'], ['a', 'b', 'c', 'd']));
  t.notOk(outputMatches(['a', 'd'], ['a', 'b', 'd']));
  t.ok(outputMatches(['FAIL  x…'], ['FAIL  x y z']));
  t.same(invocations('kubectl get x | cilium-guard check - --strict && echo'), [['check', '-', '--strict']]);
  const page = readPage('x.md', '# T\n\n<!-- check: deny R1 -->\n\n```yaml\nkind: Application\n```\n\n```yaml\na: 1\n```\n[l](y.md#z) `[n](no.md)`\n');
  t.equal(page.blocks.length, 2);
  t.equal(page.blocks[0]!.marker, 'check: deny R1');
  t.equal(page.blocks[1]!.marker, undefined);
  t.same(page.links.map((l) => l.target), ['y.md#z']);
});

t.test('(a) every checked example gets the verdict and the rules its marker states', async (t) => {
  const examples: Example[] = [];
  const outputs: Array<{ where: string; block: Block; of?: Example }> = [];
  for (const page of pages) {
    let last: Example | undefined;
    for (const block of page.blocks) {
      const where = `${rel(block.file)}:${block.line}`;
      const marker = block.marker?.startsWith('check:') ? block.marker : undefined;
      if (!marker) {
        t.notOk(judgeable(block), `${where}: an Application, ApplicationSet or ConfigMap example needs <!-- check: ... --> (or check: none (reason))`);
        continue;
      }
      if (marker === 'check: output') {
        outputs.push({ where, block, ...(last ? { of: last } : {}) });
        continue;
      }
      const e = parseCheckMarker(marker, block.file);
      if (e === 'none') {
        counts.exempt++;
        continue;
      }
      if (typeof e === 'string') {
        t.fail(`${where}: ${e}`);
        continue;
      }
      if (e.cluster) t.ok(existsSync(e.cluster), `${where}: cluster file ${rel(e.cluster)} exists`);
      if (e.config) t.ok(existsSync(e.config), `${where}: config file ${rel(e.config)} exists`);
      last = { block, e, file: path.join(tmp, `example-${examples.length + 1}.yaml`) };
      examples.push(last);
    }
  }
  const outcomes = await judgeAll(examples);
  for (const x of examples) {
    const o = outcomes.get(x)!;
    const { e } = x;
    const ok =
      o.exit === (e.verdict === 'allow' ? 0 : 1) &&
      o.allowed === (e.verdict !== 'deny') &&
      JSON.stringify(o.deny) === JSON.stringify(uniqSorted(e.deny)) &&
      JSON.stringify(o.mutate) === JSON.stringify(uniqSorted(e.mutate)) &&
      JSON.stringify(o.warn) === JSON.stringify(uniqSorted(e.warn));
    const where = `${rel(x.block.file)}:${x.block.line}: ${x.block.marker}`;
    t.ok(ok, where, ok ? {} : { got: { exit: o.exit, allowed: o.allowed, deny: o.deny, mutate: o.mutate, warn: o.warn }, report: o.raw.slice(0, 4000) });
  }
  counts.examples = examples.length;
  // The text `check -` prints for the example just before each output block, as a reader would run it.
  const texts = await pool(outputs.map((out) => async () => (out.of && out.of.e.operation === 'CREATE' ? runCli(checkArgs(out.of.e, 'text'), out.of.block.text) : undefined)));
  outputs.forEach((out, i) => {
    counts.outputs++;
    const r = texts[i];
    if (!r) {
      t.fail(`${out.where}: check: output must follow a checked CREATE example`);
      return;
    }
    const shown = out.block.text.replace(/\n$/, '').split('\n');
    const actual = (r.stdout + r.stderr).replace(/\n$/, '').split('\n');
    t.ok(outputMatches(shown, actual), `${out.where}: the output shown is what check prints`, { shown: shown.join('\n'), actual: actual.join('\n') });
  });
  t.ok(counts.examples > 0, `${counts.examples} examples checked, ${counts.exempt} marked as not checkable`);
});


t.test('every rule page has a refused and an admitted example that are checked', async (t) => {
  for (const id of RULE_IDS) {
    const file = path.join(REPO, 'docs', 'rules', `${id}.md`);
    if (!existsSync(file)) {
      t.fail(`docs/rules/${id}.md exists`);
      continue;
    }
    const page = pages.find((p) => p.file === file)!;
    const markers = page.blocks.map((b) => b.marker ?? '');
    t.ok(
      markers.some((m) => new RegExp(`^check: (deny|mutate)\\b.*\\s${id.replace('.', '\\.')}(\\s|$)`).test(m) || new RegExp(`^check: allow warn.*\\s${id.replace('.', '\\.')}(\\s|$)`).test(m)),
      `docs/rules/${id}.md: a checked example where ${id} fires`,
    );
    t.ok(markers.some((m) => /^check: allow\b/.test(m)), `docs/rules/${id}.md: a checked admitted example`);
    const index = readFileSync(path.join(REPO, 'docs', 'rules', 'README.md'), 'utf8');
    t.match(index, `](${id}.md)`, `docs/rules/README.md links ${id}.md`);
  }
});

t.test('(b) every documented cilium-guard command runs, or (needing a cluster) is valid syntax', async (t) => {
  const env = { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  for (const page of pages) {
    for (const block of page.blocks) {
      if (block.lang !== 'console') continue;
      for (const cmd of commandsOf(block)) {
        const where = `${rel(block.file)}:${block.line} $ ${cmd.command}`;
        const calls = invocations(cmd.command);
        if (calls.length === 0) continue; // kubectl, helm, curl: shown for the reader, run elsewhere
        if (needsCluster(cmd)) {
          counts.commandsSyntax++;
          for (const args of calls) {
            const sub = args[0] ?? '';
            const help = helpFor(sub);
            t.equal(help.status, 0, `${where}: cilium-guard ${sub} --help succeeds`);
            for (const a of args.slice(1)) {
              const opt = /^(--?[A-Za-z][\w-]*)/.exec(a)?.[1];
              if (opt) t.ok(help.text.includes(opt), `${where}: ${sub} knows ${opt}`);
            }
          }
          continue;
        }
        counts.commandsRun++;
        const line = cmd.command.replace(/^npx\s+/, '');
        const r = spawnSync('bash', ['-o', 'pipefail', '-c', line], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
        const wanted = /\bexit=(\d+)/.exec(cmd.block.marker ?? '')?.[1];
        if (wanted) t.equal(r.status, Number(wanted), `${where}: exit ${wanted}`);
        else t.ok(r.status === 0 || r.status === 1, `${where}: exit ${r.status} (0 or 1)`, { stderr: r.stderr.slice(0, 2000) });
        const shown = [...cmd.output];
        while (shown.length > 0 && shown.at(-1)!.trim() === '') shown.pop();
        if (shown.length > 0) {
          const actual = (r.stdout + r.stderr).replace(/\n$/, '').split('\n');
          t.ok(outputMatches(shown, actual), `${where}: output as shown`, { shown: shown.join('\n'), actual: actual.join('\n') });
        }
      }
    }
  }
  t.ok(counts.commandsRun > 0, `${counts.commandsRun} commands run, ${counts.commandsSyntax} checked for syntax`);
});

t.test('(c) every relative link resolves to a file, and every anchor to a heading', async (t) => {
  const headings = new Map(pages.map((p) => [p.file, anchors(p.headings)]));
  for (const page of pages) {
    for (const link of page.links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) continue;
      counts.links++;
      const [target, anchor] = link.target.split('#', 2) as [string, string | undefined];
      const file = target === '' ? page.file : path.resolve(path.dirname(page.file), decodeURIComponent(target));
      const where = `${rel(link.file)}:${link.line} (${link.target})`;
      if (!existsSync(file)) {
        t.fail(`${where}: ${rel(file)} does not exist`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (/^L\d+(-L\d+)?$/.test(anchor)) continue; // a line of a source file
      if (statSync(file).isDirectory() || !file.endsWith('.md')) {
        t.fail(`${where}: an anchor into something that is not Markdown`);
        continue;
      }
      const known = headings.get(file) ?? anchors(readPage(file).headings);
      t.ok(known.has(anchor), `${where}: #${anchor} is a heading of ${rel(file)}`);
    }
  }
  t.ok(counts.links > 0, `${counts.links} relative links checked`);
});

t.test('certs/README.md names exactly the files npm start generates there, and only they are ignored', async (t) => {
  const readme = readFileSync(path.join(REPO, 'certs', 'README.md'), 'utf8');
  const table = readme.split('## What `npm start` generates here')[1]!.split('\n## ')[0]!;
  const named = [...table.matchAll(/^\|\s*`([^`]+)`\s*\|/gm)].map((m) => m[1]!).sort();
  const expected = Object.values(devCertificatePaths('certs')).map((p) => path.basename(p)).sort();
  t.same(named, expected, 'the table lists what devCertificatePaths names');
  // What ensureDevCertificates really writes, in an empty directory.
  const dir = path.join(tmp, 'certs');
  await ensureDevCertificates(dir);
  t.same(readdirSync(dir).sort(), expected, 'and what it writes');
  t.equal(statSync(path.join(dir, 'tls.key')).mode & 0o777, 0o600, 'the key is 0600, as the README says');
  const ignored = (p: string) => spawnSync('git', ['check-ignore', '-q', p], { cwd: REPO }).status === 0;
  for (const f of expected) t.ok(ignored(`certs/${f}`), `certs/${f} is ignored`);
  t.notOk(ignored('certs/README.md'), 'certs/README.md is not ignored');
});

t.test("serve's local example runs as written: npm start's certificates, the review it sends, the answer it describes, the metrics", async (t) => {
  const page = pages.find((p) => rel(p.file) === 'docs/operating/commands.md');
  const block = page?.blocks.find((b) => b.lang === 'sh' && b.text.includes('curl --cacert'));
  t.ok(block, 'the serve example in docs/operating/commands.md');
  if (!block) return;
  // The page's ports are the defaults; this test takes free ones so it never meets another run.
  const free = async (): Promise<number> => {
    const net = await import('node:net');
    return new Promise((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
  };
  const [port, metricsPort] = [await free(), await free()];
  const cwd = mkdtempSync(path.join(tmp, 'serve-'));
  const review = path.join(cwd, 'review.json');
  const script = block.text.replaceAll('/tmp/review.json', review).replaceAll(':8443/', `:${port}/`).replaceAll(':9090/', `:${metricsPort}/`);
  t.not(script, block.text, 'the example names the review file and both ports');
  // As `npm start` runs it: the serve command in a fresh directory, which creates certs/ there.
  const server = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort)], { cwd, stdio: 'ignore' });
  t.teardown(() => server.kill('SIGTERM'));
  const deadline = Date.now() + 20_000;
  while (!existsSync(path.join(cwd, 'certs', 'ca.crt')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  let out = spawnSync('bash', ['-e', '-c', script], { cwd, encoding: 'utf8', timeout: 20_000 });
  for (let i = 0; out.status !== 0 && i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250)); // until the server listens
    out = spawnSync('bash', ['-e', '-c', script], { cwd, encoding: 'utf8', timeout: 20_000 });
  }
  t.equal(out.status, 0, out.status === 0 ? 'the block runs' : `the block runs: ${out.stderr}`);
  // curl prints the answer without a newline; the metrics text follows it.
  const answer = JSON.parse(out.stdout.slice(0, Math.max(0, out.stdout.indexOf('# HELP')) || undefined).trim()) as {
    response: { allowed: boolean; status: { code: number; message: string } };
  };
  t.equal(answer.response.allowed, false, 'allowed: false, as the page says');
  t.equal(answer.response.status.code, 403);
  t.match(
    answer.response.status.message,
    'cilium-guard denied Application argocd/cilium: [R1] spec.destination.namespace is "cilium", so Cilium would be installed a second time outside kube-system; set it to "kube-system"',
    'the R1 finding the page quotes',
  );
  for (const rule of ['R4.endpoint', 'T1', 'T2']) t.match(answer.response.status.message, `[${rule}] `, `and ${rule}, as the page says`);
  t.match(out.stdout, /\n# HELP cilium_guard_/, 'the metrics endpoint answers');
  counts.commandsRun += 3;
});

t.teardown(() => {
  console.log(
    `# docs: ${counts.pages} pages, ${counts.examples} examples checked (${counts.outputs} with their output, ${counts.exempt} exempt), ${counts.commandsRun} commands run, ${counts.commandsSyntax} checked for syntax, ${counts.links} links checked`,
  );
});
