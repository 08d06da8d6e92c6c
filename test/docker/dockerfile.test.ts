// No Docker engine runs here, so the Dockerfile is linted (dockerfile-utils, the linter of the VS
// Code Docker extension, with every check as an error) and held to the rules the image promises,
// in the spirit of hadolint, which no registry reachable here packages.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import t from 'tap';
import { NODE_FLAGS } from '../../bench/flags.js';
import { REPO } from '../helpers/corpus.js';

const text = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const E = ValidationSeverity.ERROR;
const strict = {
  deprecatedMaintainer: E,
  directiveCasing: E,
  emptyContinuationLine: E,
  instructionCasing: E,
  instructionCmdMultiple: E,
  instructionEntrypointMultiple: E,
  instructionHealthcheckMultiple: E,
  instructionJSONInSingleQuotes: E,
  instructionWorkdirRelative: E,
};

t.test('dockerfile-utils finds nothing, and does find a planted mistake', async (t) => {
  t.same(validate(text, strict).map((d) => d.message), []);
  t.ok(validate(text + '\nWORKDIR relative\nCMD ["again"]\n', strict).length >= 2, 'the linter is live');
});

const froms = dockerfile.getFROMs();
// The bases come in through build arguments declared before the first FROM (npm run image passes
// local stand-ins); their defaults are the real bases, which is what `docker build .` uses.
const initialArgs = new Map(dockerfile.getInitialARGs().map((a) => [a.getProperty()!.getName(), a.getProperty()!.getValue()]));
const image = (i: number) => {
  const raw = froms[i]!.getImage()!;
  const resolved = raw.replace(/^\$\{(\w+)\}$/, (_, name: string) => initialArgs.get(name) ?? raw);
  const colon = resolved.lastIndexOf(':');
  return { raw, resolved, name: resolved.slice(0, colon), tag: resolved.slice(colon + 1) };
};
const instructions = dockerfile.getInstructions();
const finalStart = froms.at(-1)!.getRange().start.line;
const final = instructions.filter((i) => i.getRange().start.line >= finalStart);
const args = (keyword: string) => final.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');

t.test('multi-stage: build with dev dependencies, then a runtime stage without them', async (t) => {
  t.equal(froms.length, 2);
  t.equal(froms[0]!.getBuildStage(), 'build');
  t.match(text, /npm ci --ignore-scripts/);
  t.match(text, /npm run build/, 'the build (tsc, then the bundle)');
  t.match(text, /COPY scripts\/bundle\.mjs /, 'with the bundle script');
  for (const i of [0, 1]) {
    const { name, tag } = image(i);
    t.ok(tag, `${name} has a tag`);
    t.not(tag, 'latest', `${name} is not :latest`);
  }
});

t.test('the build stage copies every directory tsconfig compiles, and ships only the bundle', async (t) => {
  const tsconfig = JSON.parse(readFileSync(path.join(REPO, 'tsconfig.json'), 'utf8')) as { include: string[] };
  const roots = [...new Set(tsconfig.include.map((g) => g.split('/')[0]!))];
  const build = text.split('\n').slice(0, finalStart);
  for (const r of roots) t.ok(build.includes(`COPY ${r} ./${r}`), `COPY ${r} (tsc fails without it)`);
  const shipped = text.split('\n').slice(finalStart).filter((l) => l.startsWith('COPY '));
  for (const r of roots) t.notOk(shipped.some((l) => l.includes(`/src/dist/${r}`)), `dist/${r} is not shipped`);
});

t.test('both bases are build arguments whose defaults are the real bases', async (t) => {
  t.same([...initialArgs.keys()], ['BUILD_IMAGE', 'RUNTIME_IMAGE'], 'declared before the first FROM, nothing else');
  t.equal(image(0).raw, '${BUILD_IMAGE}');
  t.equal(image(1).raw, '${RUNTIME_IMAGE}');
  t.equal(initialArgs.get('BUILD_IMAGE'), 'node:24-bookworm-slim');
  t.equal(initialArgs.get('RUNTIME_IMAGE'), 'gcr.io/distroless/nodejs24-debian12:nonroot');
  const script = readFileSync(path.join(REPO, 'scripts/image.sh'), 'utf8');
  t.match(script, /--build-arg BUILD_IMAGE=/, 'npm run image passes its local build base');
  t.match(script, /--build-arg RUNTIME_IMAGE=/, 'and its local runtime base');
});

t.test('the runtime is Node.js 24 LTS, distroless (no shell), and the same major in both stages', async (t) => {
  const build = image(0).resolved;
  const runtime = image(1).resolved;
  t.match(build, /^node:24-/);
  t.match(runtime, /^gcr\.io\/distroless\/nodejs24-debian\d+:nonroot$/);
  const ci = readFileSync(path.join(REPO, '.ci/run'), 'utf8');
  t.match(ci, /node@24/, '.ci/run also runs the tests on Node 24, the image runtime');
});

t.test('ships only the bundle, owned by a numeric non-root user', async (t) => {
  const copies = text.split('\n').slice(finalStart).filter((l) => l.startsWith('COPY '));
  t.same(copies.map((c) => c.split(/\s+/).slice(-2)), [['/src/dist/bundle', './']]);
  for (const c of copies) t.match(c, /^COPY --from=build --chown=65532:65532 /);
  t.same(args('USER'), ['65532:65532']);
  t.same(args('ADD'), [], 'COPY, never ADD');
  t.same(args('RUN'), [], 'nothing runs in the runtime stage (there is no shell)');
});

t.test('exec-form ENTRYPOINT, CMD serve, and a HEALTHCHECK for plain container runtimes', async (t) => {
  t.same(args('ENTRYPOINT'), [JSON.stringify(['/nodejs/bin/node', ...NODE_FLAGS, '/app/cilium-guard.mjs']).replaceAll('","', '", "')], 'with the V8 flags the benchmark runs with');
  const start = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  t.equal(start, `node ${NODE_FLAGS.join(' ')} dist/bundle/cilium-guard.mjs serve`, 'npm start too');
  t.same(args('CMD'), ['["serve"]'], 'the chart passes `serve ...` as args');
  t.match(args('HEALTHCHECK')[0], /CMD \["\/nodejs\/bin\/node", "\/app\/cilium-guard.mjs", "healthcheck"\]/);
  t.same(args('EXPOSE'), ['8443 9090']);
  const ignore = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['node_modules', 'dist', 'certs', '.git']) t.ok(ignore.includes(p), `.dockerignore keeps ${p} out of the build context`);
});
