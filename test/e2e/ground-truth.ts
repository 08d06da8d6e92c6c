// Ground truth for R1, R2, R4 and R4.endpoint: what the real Cilium chart renders, through the real
// helm, for the arguments Argo CD's repo-server would pass for an Application.
//
// This file models only Argo CD's side (which sources are rendered, the release name and namespace
// it passes, how it turns helm.values/valuesObject/parameters into helm arguments, its envsubst and
// comma escaping: ../shared/reference/argocd-cilium-semantics.md A2-A5). Everything Helm does (value
// layering, YAML 1.1, --set typing, the name template, the chart's own logic) is left to helm itself:
// that is the part the webhook must get right, and the part this test checks it against.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { helm } from '../helpers/tools.js';

const exec = promisify(execFile);
type Obj = Record<string, any>;

export const KUBE_VERSION = '1.36.3';
export const GUARDED = ['R1', 'R2', 'R4', 'R4.endpoint'] as const;
export type Guarded = (typeof GUARDED)[number];

/** One `helm template` Argo CD would run for one source of an Application. */
export interface RenderJob {
  where: string;
  args: string[];
  valuesFile?: string;
  /** Layers that exist but cannot be seen (value files, file parameters, the sync revision). */
  invisible: string[];
}

/** What Argo CD would do with an Application: render jobs, or why it cannot be rendered here. */
export type Plan = { jobs: RenderJob[] } | { unrenderable: string };

const isCiliumChart = (s: Obj): boolean =>
  s.chart === 'cilium' || (!s.chart && typeof s.repoURL === 'string' && /^oci:\/\/.*\/cilium$/.test(s.repoURL));

/** Go's os.Expand with Argo CD's mapping (types.go Env.Envsubst): unknown names become "", $$ is $. */
export function envsubst(s: string, env: Record<string, string>, unknown: Set<string>): string {
  const special = '*#$@!?-0123456789';
  let out = '';
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) {
      out += s[j];
      continue;
    }
    const rest = s.slice(j + 1);
    let name = '';
    let w = 0;
    if (rest[0] === '{') {
      if (rest.length > 2 && special.includes(rest[1]!) && rest[2] === '}') [name, w] = [rest[1]!, 3];
      else {
        const end = rest.indexOf('}');
        [name, w] = end < 0 ? ['', 1] : end === 1 ? ['', 2] : [rest.slice(1, end), end + 1];
      }
    } else if (special.includes(rest[0]!)) [name, w] = [rest[0]!, 1];
    else {
      const m = /^[A-Za-z0-9_]*/.exec(rest)![0];
      [name, w] = [m, m.length];
    }
    if (name === '' && w > 0) {
      /* bad syntax: eaten */
    } else if (name === '') out += '$';
    else if (name === '$') out += '$';
    else if (name in env) out += env[name];
    else if (name.startsWith('ARGOCD_APP_REVISION')) unknown.add(name);
    j += w;
  }
  return out;
}

/** Argo CD's cleanSetParameters: a "{...}" list stays as it is, other commas are escaped. */
const cleanSetValue = (v: string): string => (v.startsWith('{') && v.endsWith('}') ? v : v.replace(/(?<!\\),/g, '\\,'));

export function plan(app: Obj, dir: string): Plan {
  const spec = (app.spec ?? {}) as Obj;
  if (spec.sourceHydrator) return { unrenderable: 'sourceHydrator renders a Git path this test cannot fetch' };
  const sources: Array<[string, Obj]> = [];
  if (Array.isArray(spec.sources) && spec.sources.length > 0) spec.sources.forEach((s: Obj, i: number) => sources.push([`spec.sources[${i}]`, s]));
  else if (spec.source) sources.push(['spec.source', spec.source as Obj]);
  const op = app.operation?.sync as Obj | undefined;
  if (op && Array.isArray(op.sources) && op.sources.length > 0) op.sources.forEach((s: Obj, i: number) => sources.push([`operation.sync.sources[${i}]`, s]));
  else if (op?.source) sources.push(['operation.sync.source', op.source as Obj]);
  const cilium = sources.filter(([, s]) => isCiliumChart(s));
  if (cilium.length === 0) return { unrenderable: 'no source renders the Cilium chart (identified some other way, or not Cilium)' };

  const name = String(app.metadata?.name ?? '');
  const destNs = String(spec.destination?.namespace ?? '');
  const jobs = cilium.map(([where, s], i): RenderJob => {
    const h = (s.helm ?? {}) as Obj;
    const args = ['--name-template', String(h.releaseName || name)];
    const namespace = String(h.namespace || destNs);
    if (namespace) args.push('--namespace', namespace);
    const invisible: string[] = [];
    if (Array.isArray(h.valueFiles) && h.valueFiles.length > 0) invisible.push('valueFiles');
    if (Array.isArray(h.fileParameters) && h.fileParameters.length > 0) invisible.push('fileParameters');
    let valuesFile: string | undefined;
    // valuesObject replaces values entirely; the values string reaches helm unparsed.
    const blob = h.valuesObject != null ? JSON.stringify(h.valuesObject) : typeof h.values === 'string' ? h.values : undefined;
    if (blob !== undefined) {
      valuesFile = path.join(dir, `values-${i}.yaml`);
      writeFileSync(valuesFile, blob);
      args.push('--values', valuesFile);
    }
    const env: Record<string, string> = {
      ARGOCD_APP_NAME: name,
      ARGOCD_APP_NAMESPACE: destNs,
      ARGOCD_APP_PROJECT_NAME: String(spec.project ?? ''),
      ARGOCD_APP_SOURCE_REPO_URL: String(s.repoURL ?? ''),
      ARGOCD_APP_SOURCE_PATH: String(s.path ?? ''),
      ARGOCD_APP_SOURCE_TARGET_REVISION: String(s.targetRevision ?? ''),
    };
    const unknown = new Set<string>();
    // Parameters are keyed by name: a later entry replaces an earlier one (repository.go).
    const set = new Map<string, string>();
    const setString = new Map<string, string>();
    for (const p of (h.parameters ?? []) as Obj[]) {
      const value = envsubst(String(p.value ?? ''), env, unknown);
      (p.forceString ? setString : set).set(String(p.name), value);
    }
    for (const [k, v] of set) args.push('--set', `${k}=${cleanSetValue(v)}`);
    for (const [k, v] of setString) args.push('--set-string', `${k}=${cleanSetValue(v)}`);
    if (unknown.size > 0) invisible.push(`parameters need ${[...unknown].join(', ')}`);
    return { where, args, ...(valuesFile ? { valuesFile } : {}), invisible };
  });
  return { jobs };
}

const PROBE = 'cilium-guard-ground-truth-probe';

/** Unpacks the chart once and adds a probe template that records .Release.Name and .Namespace. */
export async function prepareChart(tgz: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cilium-chart-'));
  await exec('tar', ['-xzf', tgz, '-C', dir]);
  const chart = path.join(dir, 'cilium');
  mkdirSync(path.join(chart, 'templates'), { recursive: true });
  writeFileSync(
    path.join(chart, 'templates', 'zz-ground-truth-probe.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${PROBE}\ndata:\n  release: {{ .Release.Name | quote }}\n  namespace: {{ .Release.Namespace | quote }}\n`,
  );
  return chart;
}

export interface Rendered {
  /** Bad per rule, with what the chart rendered. Absent: fine. */
  bad: Partial<Record<Guarded, string>>;
  /** helm refused to render, for a reason other than kubeProxyReplacement. */
  error?: string;
}

/** The value the agent runs with: command line, then CILIUM_ env, then the ConfigMap (viper). */
function agentKubeProxyReplacement(agent: Obj | undefined, cm: Obj | undefined): string | undefined {
  let fromArgs: string | undefined;
  const args = [...(agent?.command ?? []), ...(agent?.args ?? [])].map(String);
  args.forEach((a, i) => {
    const m = /^--?kube-proxy-replacement(?:=(.*))?$/.exec(a);
    if (m) fromArgs = m[1] ?? args[i + 1];
  });
  if (fromArgs !== undefined) return fromArgs;
  const env = ((agent?.env ?? []) as Obj[]).filter((e) => e.name === 'CILIUM_KUBE_PROXY_REPLACEMENT');
  if (env.length > 0) return String(env[env.length - 1]!.value ?? '');
  // Cilium's viper reads option names case-insensitively; two spellings with different values are a
  // coin toss (map order), so anything but a single agreed value is not "true".
  const values = new Set(Object.entries((cm?.data ?? {}) as Record<string, unknown>).filter(([k]) => k.toLowerCase() === 'kube-proxy-replacement').map(([, v]) => String(v)));
  return values.size === 1 ? [...values][0] : values.size === 0 ? undefined : `ambiguous: ${[...values].join(' / ')}`;
}

export async function renderJob(chart: string, job: RenderJob, home: string): Promise<Rendered> {
  // No kubeconfig: helm's default namespace is "default", as for a repo-server without one.
  const helmEnv = { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: path.join(home, 'none'), HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
  let stdout: string;
  try {
    ({ stdout } = await exec(helm(), ['template', chart, ...job.args, '--kube-version', KUBE_VERSION, '--include-crds'], { env: helmEnv, maxBuffer: 64 << 20, timeout: 60_000 }));
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    if (/kubeProxyReplacement/.test(stderr)) return { bad: { R4: `helm refused: ${stderr.trim().split('\n').pop()}` } };
    return { bad: {}, error: stderr.trim() };
  }
  const docs = parseAllDocuments(stdout, { uniqueKeys: false })
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
  const probe = docs.find((d) => d.metadata?.name === PROBE)!;
  const bad: Rendered['bad'] = {};
  if (probe.data.release !== 'cilium') bad.R2 = `release name "${probe.data.release}"`;
  // The agent and its configuration must land where Talos put them. (The chart puts a few Roles in
  // cilium-secrets by design; those follow tls.secretsNamespace, not the release.)
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'cilium-config');
  const ds = docs.find((d) => d.kind === 'DaemonSet' && d.metadata?.name === 'cilium');
  if (!cm || !ds) bad.R1 = 'no cilium-config or cilium DaemonSet rendered';
  else if (cm.metadata.namespace !== 'kube-system' || ds.metadata.namespace !== 'kube-system') {
    bad.R1 = `cilium-config in "${cm.metadata.namespace}", DaemonSet in "${ds.metadata.namespace}" (release namespace "${probe.data.namespace}")`;
  }
  const agent = (ds?.spec?.template?.spec?.containers ?? []).find((c: Obj) => c.name === 'cilium-agent') as Obj | undefined;
  const kpr = agentKubeProxyReplacement(agent, cm);
  if (kpr !== 'true') bad.R4 = `the agent would run with kube-proxy-replacement ${JSON.stringify(kpr)}`;
  const env = Object.fromEntries(((agent?.env ?? []) as Obj[]).map((e) => [e.name, e.value]));
  if (env.KUBERNETES_SERVICE_HOST !== 'localhost' || String(env.KUBERNETES_SERVICE_PORT) !== '7445') {
    bad['R4.endpoint'] = `the agent talks to ${String(env.KUBERNETES_SERVICE_HOST)}:${String(env.KUBERNETES_SERVICE_PORT)}, not KubePrism`;
  }
  return { bad };
}
