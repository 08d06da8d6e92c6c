// npm's prepare script: builds dist/ (tsc) when this checkout is installed (npm ci, npm install), packed
// or published, and when it is installed as a git dependency: pre-commit (4.6.1 and later) installs a
// node hook with `npm install -g git+file://...`, and npm prepares that clone with the global flag
// inherited, so its devDependencies (typescript) are missing: they are installed here first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const tsc = 'node_modules/typescript/bin/tsc';
if (!existsSync(tsc)) {
  process.stderr.write('cilium-guard prepare: installing devDependencies to build dist/\n');
  execFileSync('npm', ['install', '--global=false', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: ['ignore', 'inherit', 'inherit'] });
