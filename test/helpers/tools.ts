// Paths of the third-party binaries, built and cached by scripts/tools.sh (`npm test` runs it first).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from './corpus.js';

const cache = new Map<string, string>();

export function tool(name: 'helm' | 'helm-all' | 'etcd' | 'kube' | 'crds' | 'cilium-crds' | 'oracle' | 'argocd' | 'redis' | 'node'): string {
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
/** The directory holding Cilium's ciliumnetworkpolicies.yaml CRD (scripts/tools.sh cilium-crds). */
export const ciliumCRDs = (): string => tool('cilium-crds');
export const oracle = (): string => tool('oracle');
/** The directory of the Argo CD build: argocd (multi-call binary), crds/, config/. */
export const argocdDir = (): string => tool('argocd');
export const redisServer = (): string => tool('redis');

/** Every Helm a supported Argo CD bundles, by the policy's `helm.version` ("3.19", "4.2", "4.3"). */
export function helmVersions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of tool('helm-all').split('\n')) {
    const m = /^v(\d+\.\d+)\.\d+ (.+)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export const CHART = path.join(REPO, 'charts/cilium-guard');
