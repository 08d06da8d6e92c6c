#!/usr/bin/env node
// Sets the one version a release carries everywhere test/release/versions.test.ts looks:
// package.json (and its lockfile), the chart's version, appVersion and Artifact Hub image, the
// Action's default, and CHANGELOG.md (the Unreleased entries become this version's, dated today).
//
//   node scripts/release-version.mjs 0.2.0
//
// Then write the chart's artifacthub.io/changes for it, run the tests, commit, tag v0.2.0 and push
// the tag: .github/workflows/release.yml publishes.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const version = process.argv[2] ?? '';
if (!/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error('usage: node scripts/release-version.mjs MAJOR.MINOR.PATCH');
  process.exit(2);
}
const edit = (file, fn) => {
  const p = path.join(root, file);
  const before = readFileSync(p, 'utf8');
  const after = fn(before);
  if (after === before) throw new Error(`${file}: nothing changed (already ${version}, or its layout changed)`);
  writeFileSync(p, after);
  console.log(`${file}: ${version}`);
};
const must = (text, re, file) => {
  if (!re.test(text)) throw new Error(`${file}: ${re} not found`);
  return text;
};

execFileSync('npm', ['version', version, '--no-git-tag-version', '--allow-same-version'], { cwd: root, stdio: 'ignore' });
console.log(`package.json, package-lock.json: ${version}`);
edit('charts/cilium-guard/Chart.yaml', (s) =>
  must(s, /^version: .+$/m, 'Chart.yaml')
    .replace(/^version: .+$/m, `version: ${version}`)
    .replace(/^appVersion: .+$/m, `appVersion: "${version}"`)
    .replace(/(image: ghcr\.io\/cilium-guard\/cilium-guard:)\S+/, `$1${version}`),
);
edit('action.yml', (s) => must(s, /^(  version:\n(?:    .*\n)*?    default: )"[^"]*"/m, 'action.yml').replace(/^(  version:\n(?:    .*\n)*?    default: )"[^"]*"/m, `$1"${version}"`));
edit('CHANGELOG.md', (s) => {
  const date = new Date().toISOString().slice(0, 10);
  const m = /^## \[Unreleased\]\n([\s\S]*?)(?=^## \[)/m.exec(must(s, /^## \[Unreleased\]$/m, 'CHANGELOG.md'));
  const entries = (m?.[1] ?? '').trim();
  if (entries === '' || entries === 'Nothing yet.') throw new Error('CHANGELOG.md: the Unreleased section is empty; write what changed first');
  const previous = /^## \[(\d[^\]]*)\]/m.exec(s)?.[1];
  return s
    .replace(m[0], `## [Unreleased]\n\nNothing yet.\n\n## [${version}] - ${date}\n\n${entries}\n\n`)
    .replace(
      /^\[Unreleased\]: (.*)\/compare\/v[^.]+\.[^.]+\.[^.]+?\.\.\.HEAD$/m,
      `[Unreleased]: $1/compare/v${version}...HEAD\n[${version}]: $1/compare/v${previous}...v${version}`,
    );
});
