// Running the built cilium-guard binary the way a user does, for the CLI tests.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO, SHARED } from './corpus.js';

export const BIN = path.join(REPO, 'dist', 'src', 'cli', 'main.js');

/** `cilium-guard ARGS...` with this Node, 30 s at most; `input` is its standard input. */
export const run = (args: string[], cwd = REPO, input?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000, ...(input !== undefined ? { input } : {}) });

/** The shared good examples: two Applications, an ApplicationSet and cilium-config. */
export const examples = ['01-app-cilium-good.yaml', '02-app-cilium-multisource-good.yaml', '03-appset-cilium-good.yaml', '06-cilium-config-good.yaml'].map((f) =>
  path.join(SHARED, 'examples', f),
);
