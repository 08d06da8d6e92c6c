// Bundles the CLI (dist/src/cli/main.js, compiled by tsc) and the production dependencies it
// reaches into dist/bundle: cilium-guard.mjs and the chunks it loads on demand. That is what the image
// ships and what `npm start`, the end-to-end suites and both benchmarks run.
//
// Why: Node loads a package module by module, and @kubernetes/client-node's index loads every API
// group and model (about 970 files, 20 MB of JavaScript) whichever few the caller uses; that was
// about 390 ms of start-up and 50 MB of RSS in every cilium-guard process. Bundled, only what
// src/kube/client.ts names is kept (esbuild drops the unused modules). The version is built in
// (CILIUM_GUARD_VERSION), as no package.json travels with the bundle.
import { analyzeMetafile, build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const OUT = path.join(REPO, 'dist/bundle');
const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
rmSync(OUT, { recursive: true, force: true });
const result = await build({
  entryPoints: { 'cilium-guard': path.join(REPO, 'dist/src/cli/main.js') },
  outdir: OUT,
  outExtension: { '.js': '.mjs' },
  // What main.js imports lazily (the Kubernetes client, the certificate code) becomes its own chunk,
  // loaded only by the commands that need it: `check` and `--version` do not parse the client.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  define: { CILIUM_GUARD_VERSION: JSON.stringify(version) },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.11',
  // Dependencies written as CommonJS call require(); an ES module has none, so give it one.
  banner: { js: "import { createRequire as __cgCreateRequire } from 'node:module'; const require = __cgCreateRequire(import.meta.url);" },
  // Node keeps each module's source text in memory for as long as it runs, and a single non-ASCII
  // character (a "§" in a doc comment) makes V8 hold the whole text at two bytes a character: the
  // unminified client chunk alone was 12.8 MB of heap. So: comments and whitespace out, ASCII only
  // (escapes in strings), names kept (stack traces and heap snapshots stay readable), a source map
  // beside it.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: false,
  charset: 'ascii',
  sourcemap: 'linked',
  // Licences go to THIRD-PARTY-NOTICES.txt below, whole, rather than as the comments esbuild finds.
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

// Every package with code in the bundle, with its licence text: the image ships no node_modules, so
// this file is where their notices travel.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^(?:.*\/)?node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!m) continue;
  const dir = path.join(REPO, input.slice(0, m.index + m[0].length));
  if (packages.has(dir)) continue;
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const text = file ? readFileSync(path.join(dir, file), 'utf8').trim() : `${pkg.license ?? 'UNKNOWN'} (the package ships no licence file)`;
  packages.set(dir, { name: pkg.name, version: pkg.version, license: pkg.license ?? 'UNKNOWN', text });
}
const notices = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
writeFileSync(
  path.join(OUT, 'THIRD-PARTY-NOTICES.txt'),
  `cilium-guard ${version} bundles these packages (${notices.length}):\n\n` +
    notices.map((p) => `${'='.repeat(80)}\n${p.name} ${p.version} (${p.license})\n${'='.repeat(80)}\n${p.text}\n`).join('\n'),
);

if (process.argv.includes('--analyze')) {
  process.stdout.write(await analyzeMetafile(result.metafile, { verbose: false }));
}
// cilium-guard's own licence travels with it too.
copyFileSync(path.join(REPO, 'LICENSE'), path.join(OUT, 'LICENSE'));
