// Paths of the third-party binaries, built and cached by scripts/tools.sh (`npm test` runs it first).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from './corpus.js';

const cache = new Map<string, string>();

export function tool(name: 'helm' | 'etcd' | 'kube' | 'crds' | 'oracle'): string {
  let found = cache.get(name);
  if (!found) {
    found = execFileSync('bash', [path.join(REPO, 'scripts/tools.sh'), name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    cache.set(name, found);
  }
  return found;
}

export const helm = (): string => tool('helm');
export const kubeApiserver = (): string => path.join(tool('kube'), 'kube-apiserver');
export const kubectl = (): string => path.join(tool('kube'), 'kubectl');
export const etcd = (): string => tool('etcd');
export const policyReportCRDs = (): string => tool('crds');
export const oracle = (): string => tool('oracle');

export const CHART = path.join(REPO, 'charts/cilium-guard');
