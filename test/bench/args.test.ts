// The benchmarks' command lines: help, a bad flag and a bad number get a clear answer and exit code,
// never a stack trace (they are run by hand and by CI's smoke runs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { REPO } from '../helpers/corpus.js';

const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, [path.join(REPO, 'dist/bench', script), ...args], { encoding: 'utf8', timeout: 30_000 });

for (const script of ['run.js', 'e2e.js']) {
  t.test(`${script}: --help prints the usage and exits 0`, async (t) => {
    const r = run(script, ['--help']);
    t.equal(r.status, 0);
    t.match(r.stdout, /^usage: npm run bench/);
  });
  t.test(`${script}: an unknown flag is named, with the usage, exit 2`, async (t) => {
    const r = run(script, ['--no-such-flag']);
    t.equal(r.status, 2);
    t.match(r.stderr, /Unknown option '--no-such-flag'/);
    t.match(r.stderr, /usage: npm run bench/);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

t.test('a number that is not one is refused before anything starts', async (t) => {
  const cases: Array<[string, string[], RegExp]> = [
    ['run.js', ['--duration', 'x'], /--duration must be a number of at least 0.1, got "x"/],
    ['run.js', ['--rounds', '0'], /--rounds must be a number of at least 1, got "0"/],
    ['run.js', ['--connections', ''], /--connections must be a number/],
    ['e2e.js', ['--concurrency', '1,x'], /--concurrency must be a number of at least 1, got "x"/],
    ['e2e.js', ['--writes=-5'], /--writes must be a number of at least 1/],
  ];
  for (const [script, args, want] of cases) {
    const r = run(script, args);
    t.equal(r.status, 2, `${script} ${args.join(' ')}`);
    t.match(r.stderr, want);
  }
});
