// Facts about the real Cilium chart, found by rendering it with the real helm, that the policy
// keeps as data (src/policy/data/cilium-chart.ts). A test re-derives them, so the data cannot go
// stale against the charts in ../shared/upstream.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { helm } from './tools.js';

const exec = promisify(execFile);
type Obj = Record<string, any>;

/** Every map-valued key whose name ends in "annotations" (any case), as a dotted path. */
function annotationPaths(values: Obj, prefix: string[] = [], out: string[][] = []): string[][] {
  for (const [k, v] of Object.entries(values)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (/annotations$/i.test(k)) out.push([...prefix, k]);
      else annotationPaths(v, [...prefix, k], out);
    }
  }
  return out;
}

function setPath(tree: Obj, p: string[], value: unknown): void {
  let node = tree;
  p.slice(0, -1).forEach((k) => {
    node[k] ??= {};
    node = node[k];
  });
  node[p[p.length - 1]!] = value;
}

// Components switched on so that their objects render (each a set of Helm values; rendered one after another).
const PROFILES: Obj[] = [
  {},
  {
    hubble: { relay: { enabled: true }, ui: { enabled: true }, tls: { auto: { method: 'cronJob' } }, metrics: { enabled: ['dns'], serviceMonitor: { enabled: true } } },
    envoy: { enabled: true },
    operator: { prometheus: { enabled: true, serviceMonitor: { enabled: true } } },
    prometheus: { enabled: true, serviceMonitor: { enabled: true } },
    ingressController: { enabled: true, service: { type: 'LoadBalancer' } },
    gatewayAPI: { enabled: true },
    nodeinit: { enabled: true },
    preflight: { enabled: false },
    clustermesh: { useAPIServer: true, apiserver: { tls: { auto: { method: 'cronJob' } }, metrics: { serviceMonitor: { enabled: true } } } },
    authentication: { mutual: { spire: { enabled: true, install: { enabled: true } } } },
    certgen: { generateCA: true },
  },
  { preflight: { enabled: true }, agent: false, operator: { enabled: false } },
];

/**
 * The values paths whose annotations the chart puts on an object's own metadata (where Argo CD reads
 * `argocd.argoproj.io/sync-options`), as opposed to pod templates, which Argo CD never applies.
 */
export async function objectAnnotationPaths(tgz: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cilium-probe-'));
  try {
    const home = { HOME: dir, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir, KUBECONFIG: path.join(dir, 'none'), PATH: process.env.PATH ?? '' };
    const { stdout: defaults } = await exec(helm(), ['show', 'values', tgz], { env: home, maxBuffer: 64 << 20 });
    const paths = annotationPaths(parse(defaults) as Obj);
    const found = new Set<string>();
    for (const profile of PROFILES) {
      const values: Obj = structuredClone(profile);
      paths.forEach((p, i) => setPath(values, p, { [`probe.cilium-guard.io/p${i}`]: 'x' }));
      const file = path.join(dir, 'values.json');
      writeFileSync(file, JSON.stringify(values));
      const { stdout } = await exec(
        helm(),
        ['template', 'cilium', tgz, '--namespace', 'kube-system', '--kube-version', '1.36.3', '--values', file, '--set', 'kubeProxyReplacement=true', '--api-versions', 'monitoring.coreos.com/v1', '--api-versions', 'gateway.networking.k8s.io/v1'],
        { env: home, maxBuffer: 64 << 20 },
      );
      for (const doc of parseAllDocuments(stdout)) {
        const o = doc.toJS() as Obj | null;
        for (const key of Object.keys(o?.metadata?.annotations ?? {})) {
          const m = /^probe\.cilium-guard\.io\/p(\d+)$/.exec(key);
          if (m) found.add(paths[Number(m[1])]!.join('.'));
        }
      }
    }
    return [...found].sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The chart's own values (`helm show values`) at the given dotted paths, as one partial tree. */
export async function chartDefaultsAt(tgz: string, paths: readonly string[]): Promise<Obj> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cilium-probe-'));
  try {
    const home = { HOME: dir, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir, KUBECONFIG: path.join(dir, 'none'), PATH: process.env.PATH ?? '' };
    const { stdout } = await exec(helm(), ['show', 'values', tgz], { env: home, maxBuffer: 64 << 20 });
    const values = parse(stdout) as Obj;
    const out: Obj = {};
    for (const dotted of paths) {
      const p = dotted.split('.');
      let node: any = values;
      for (const k of p) node = node?.[k];
      if (node !== undefined) setPath(out, p, node);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
