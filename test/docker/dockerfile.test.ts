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
const instructions = dockerfile.getInstructions();
const finalStart = froms.at(-1)!.getRange().start.line;
const final = instructions.filter((i) => i.getRange().start.line >= finalStart);
const args = (keyword: string) => final.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');

t.test('multi-stage: build with dev dependencies, then a runtime stage without them', async (t) => {
  t.equal(froms.length, 2);
  t.equal(froms[0]!.getBuildStage(), 'build');
  t.match(text, /npm ci --ignore-scripts/);
  t.match(text, /npm prune --omit=dev/);
  for (const f of froms) {
    t.ok(f.getImageTag(), `${f.getImageName()} has a tag`);
    t.not(f.getImageTag(), 'latest', `${f.getImageName()} is not :latest`);
  }
});

t.test('the runtime is Node.js 24 LTS, distroless (no shell), and the same major in both stages', async (t) => {
  const build = `${froms[0]!.getImageName()}:${froms[0]!.getImageTag()}`;
  const runtime = `${froms[1]!.getImageName()}:${froms[1]!.getImageTag()}`;
  t.match(build, /^node:24-/);
  t.match(runtime, /^distroless\/nodejs24-debian\d+:nonroot$/);
  const ci = readFileSync(path.join(REPO, '.ci/run'), 'utf8');
  t.match(ci, /node@24/, '.ci/run also runs the tests on Node 24, the image runtime');
});

t.test('ships only dist/, production node_modules and package.json, owned by a numeric non-root user', async (t) => {
  const copies = text.split('\n').slice(finalStart).filter((l) => l.startsWith('COPY '));
  t.same(copies.map((c) => c.split(/\s+/).at(-2)), ['/src/package.json', '/src/node_modules', '/src/dist']);
  for (const c of copies) t.match(c, /^COPY --from=build --chown=65532:65532 /);
  t.same(args('USER'), ['65532:65532']);
  t.same(args('ADD'), [], 'COPY, never ADD');
  t.same(args('RUN'), [], 'nothing runs in the runtime stage (there is no shell)');
});

t.test('exec-form ENTRYPOINT, CMD serve, and a HEALTHCHECK for plain container runtimes', async (t) => {
  t.same(args('ENTRYPOINT'), [JSON.stringify(['/nodejs/bin/node', ...NODE_FLAGS, '/app/dist/src/cli/main.js']).replaceAll('","', '", "')], 'with the V8 flags the benchmark runs with');
  const start = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  t.equal(start, `node ${NODE_FLAGS.join(' ')} dist/src/cli/main.js serve`, 'npm start too');
  t.same(args('CMD'), ['["serve"]'], 'the chart passes `serve ...` as args');
  t.match(args('HEALTHCHECK')[0], /CMD \["\/nodejs\/bin\/node", "\/app\/dist\/src\/cli\/main.js", "healthcheck"\]/);
  t.same(args('EXPOSE'), ['8443 9090']);
  const ignore = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['node_modules', 'dist', 'certs', '.git']) t.ok(ignore.includes(p), `.dockerignore keeps ${p} out of the build context`);
});
