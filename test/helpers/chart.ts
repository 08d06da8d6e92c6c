// Renders charts/cilium-guard with the real helm and applies the result to a test control plane.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane } from './kube.js';
import { CHART, helm } from './tools.js';
import { SHARED } from './corpus.js';

const exec = promisify(execFile);

export const RELEASE = 'cg';
export const NAMESPACE = 'cilium-guard';

export interface Rendered {
  text: string;
  docs: Array<Record<string, any>>;
}

/** `helm template` of the chart; `set` entries go through --set-json, `files` through -f. */
export async function render(options: { files?: string[]; set?: Record<string, unknown>; release?: string; namespace?: string } = {}): Promise<Rendered> {
  const args = ['template', options.release ?? RELEASE, CHART, '-n', options.namespace ?? NAMESPACE, '--kube-version', '1.36.3'];
  for (const f of options.files ?? []) args.push('-f', f);
  for (const [k, v] of Object.entries(options.set ?? {})) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
  const { stdout } = await exec(helm(), args, { maxBuffer: 32 << 20 });
  const docs = parseAllDocuments(stdout)
    .map((d) => d.toJS() as Record<string, any> | null)
    .filter((d): d is Record<string, any> => d !== null);
  return { text: stdout, docs };
}

export function find(r: Rendered, kind: string, nameSuffix = ''): Record<string, any> {
  const found = r.docs.find((d) => d.kind === kind && String(d.metadata?.name).endsWith(nameSuffix));
  if (!found) throw new Error(`no ${kind} *${nameSuffix} in the rendered chart`);
  return found;
}

/** Documents that are not hooks or tests (what `helm install` applies as the release). */
export function releaseDocs(r: Rendered): Array<Record<string, any>> {
  return r.docs.filter((d) => !d.metadata?.annotations?.['helm.sh/hook']);
}

export async function applyDocs(cp: ControlPlane, docs: Array<Record<string, any>>): Promise<void> {
  const input = docs.map((d) => JSON.stringify(d)).join('\n');
  const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=helm', '-f', '-'], { input });
  if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
}

export async function installArgoCRDs(cp: ControlPlane): Promise<void> {
  for (const f of ['application-crd.yaml', 'applicationset-crd.yaml', 'appproject-crd.yaml']) {
    const r = await cp.kubectl(['apply', '--server-side', '-f', `${SHARED}/upstream/argocd/${f}`]);
    if (r.code !== 0) throw new Error(`CRD ${f}: ${r.stderr}`);
  }
  // `kubectl wait` fails outright while a new CRD has no conditions yet, so poll instead.
  const deadline = Date.now() + 60_000;
  for (const crd of ['applications.argoproj.io', 'applicationsets.argoproj.io']) {
    for (;;) {
      const r = await cp.kubectl(['get', 'crd', crd, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
      if (r.stdout.trim() === 'True') break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd} not established: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}

export async function createNamespaces(cp: ControlPlane, names: string[]): Promise<void> {
  for (const n of names) await cp.kubectl(['create', 'namespace', n]);
}
