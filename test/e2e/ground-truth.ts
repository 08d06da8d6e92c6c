// Ground truth for R1, R2, R4, R4.endpoint, T1 and T2: what the real Cilium chart renders, through the real
// helm, for the arguments Argo CD's repo-server would pass for an Application.
//
// This file models only Argo CD's side, written from its source (argo-cd v3.6
// reposerver/repository/repository.go helmTemplate(): release name, namespace, the temporary values
// file, parameters collapsed by name into Go maps, Envsubst on their values; util/helm/cmd.go
// template(): the argument order and cleanSetParameters(); values.go ValuesYAML(): valuesObject
// replaces values). Everything Helm does (value layering, YAML, --set parsing and typing, the name
// template, the chart's own logic) is left to the real helm: that is the part the webhook must get
// right, and the part this checks it against.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { helm, helmVersions } from '../helpers/tools.js';

const exec = promisify(execFile);
type Obj = Record<string, any>;

export const KUBE_VERSION = '1.36.3';
export const GUARDED = ['R1', 'R2', 'R4', 'R4.endpoint', 'T1', 'T2'] as const;
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

/**
 * util/helm/cmd.go cleanSetParameters: a "{...}" value stays as it is; any other comma is escaped
 * unless the character before it (in the original) is a backslash (replaceAllWithLookbehind).
 */
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
    // helmTemplate(): the name is helm.releaseName, else the app name; the namespace helm.namespace,
    // else the destination's; template() passes --namespace only when it is not empty.
    const args = ['--name-template', String(h.releaseName || name)];
    const namespace = String(h.namespace || destNs);
    if (namespace) args.push('--namespace', namespace);
    const invisible: string[] = [];
    if (Array.isArray(h.valueFiles) && h.valueFiles.length > 0) invisible.push('valueFiles');
    if (Array.isArray(h.fileParameters) && h.fileParameters.length > 0) invisible.push('fileParameters');
    let valuesFile: string | undefined;
    // ValuesYAML(): a non-nil valuesObject replaces values; the values string reaches helm unparsed
    // (JSON is YAML, so the object can be written as JSON).
    const blob = h.valuesObject != null ? JSON.stringify(h.valuesObject) : typeof h.values === 'string' && h.values !== '' ? h.values : undefined;
    const env: Record<string, string> = {
      ARGOCD_APP_NAME: name,
      ARGOCD_APP_NAMESPACE: destNs,
      ARGOCD_APP_PROJECT_NAME: String(spec.project ?? ''),
      ARGOCD_APP_SOURCE_REPO_URL: String(s.repoURL ?? ''),
      ARGOCD_APP_SOURCE_PATH: String(s.path ?? ''),
      ARGOCD_APP_SOURCE_TARGET_REVISION: String(s.targetRevision ?? ''),
    };
    const unknown = new Set<string>();
    // Parameters are keyed by name in Go maps: a later entry replaces an earlier one; Envsubst runs on
    // the values afterwards. (Go then emits each map in random order; this uses insertion order.)
    const set = new Map<string, string>();
    const setString = new Map<string, string>();
    for (const p of (h.parameters ?? []) as Obj[]) (p.forceString ? setString : set).set(String(p.name ?? ''), String(p.value ?? ''));
    for (const [k, v] of set) args.push('--set', `${k}=${cleanSetValue(envsubst(v, env, unknown))}`);
    for (const [k, v] of setString) args.push('--set-string', `${k}=${cleanSetValue(envsubst(v, env, unknown))}`);
    if (blob !== undefined) {
      valuesFile = path.join(dir, `values-${i}.yaml`);
      writeFileSync(valuesFile, blob);
      args.push('--values', valuesFile);
    }
    if (!h.skipCrds) args.push('--include-crds');
    if (h.skipSchemaValidation) args.push('--skip-schema-validation');
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
  /** The render stopped early: only these rules could be judged. */
  only?: Guarded[];
}

/**
 * The value the agent runs with (cobra/viper): the last --kube-proxy-replacement flag, then the last
 * CILIUM_KUBE_PROXY_REPLACEMENT env entry (names are case-sensitive), then the ConfigMap key, each
 * file's content trimmed with Go's bytes.TrimSpace.
 */
function agentKubeProxyReplacement(agent: Obj | undefined, cm: Obj | undefined): string | undefined {
  let fromArgs: string | undefined;
  const args = [...(agent?.command ?? []), ...(agent?.args ?? [])].map(String);
  args.forEach((a, i) => {
    const m = /^--kube-proxy-replacement(?:=([\s\S]*))?$/.exec(a);
    // pflag takes the next argument as the value, whatever it is; with none the agent does not start.
    if (m) fromArgs = m[1] ?? args[i + 1] ?? 'no value: "flag needs an argument", the agent does not start';
  });
  if (fromArgs !== undefined) return fromArgs;
  const env = ((agent?.env ?? []) as Obj[]).filter((e) => e.name === 'CILIUM_KUBE_PROXY_REPLACEMENT');
  if (env.length > 0) return String(env[env.length - 1]!.value ?? '');
  // Cilium's viper reads option names case-insensitively; two spellings with different values are a
  // coin toss (map order), so anything but a single agreed value is not "true".
  const entries = Object.entries((cm?.data ?? {}) as Record<string, unknown>).filter(([k]) => k.toLowerCase() === 'kube-proxy-replacement');
  // ConfigMap data are strings: anything else makes the API server refuse cilium-config.
  const notString = entries.find(([, v]) => typeof v !== 'string');
  if (notString) return `not a string (${JSON.stringify(notString[1])}): the API server refuses cilium-config`;
  const values = new Set(entries.map(([, v]) => goTrim(String(v))));
  return values.size === 1 ? [...values][0] : values.size === 0 ? undefined : `ambiguous: ${[...values].join(' / ')}`;
}

/** Go's unicode.IsSpace, for the agent's bytes.TrimSpace (written here, apart from the policy's copy). */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const goTrim = (s: string): string => s.replace(GO_SPACE, '');

export async function renderJob(chart: string, job: RenderJob, home: string, helmVersion?: string): Promise<Rendered> {
  // No kubeconfig: helm's default namespace is "default", as for a repo-server without one.
  const helmEnv = { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: path.join(home, 'none'), HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
  const bin = helmVersion ? (helmVersions().get(helmVersion) ?? helm()) : helm();
  let stdout: string;
  try {
    ({ stdout } = await exec(bin, ['template', chart, ...job.args, '--kube-version', KUBE_VERSION], { env: helmEnv, maxBuffer: 64 << 20, timeout: 60_000 }));
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    // The chart's own check (cilium-configmap.yaml): the render stops there, so only R4 is known.
    if (/kubeProxyReplacement must be explicitly set/.test(stderr)) return { bad: { R4: `helm refused: ${stderr.trim().split('\n').pop()}` }, only: ['R4'] };
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
  else {
    // Every namespaced object follows the release namespace (or namespaceOverride), except the
    // Roles the chart puts in tls.secretsNamespace by design.
    // (A namespace that YAML reads as a number or boolean is no string: the API server refuses the object.)
    const stray = docs.find((d) => d.metadata?.namespace !== undefined && d.metadata.namespace !== 'kube-system' && d.metadata.namespace !== 'cilium-secrets');
    if (stray) bad.R1 = `${stray.kind} ${stray.metadata.name} in "${stray.metadata.namespace}" (release namespace "${probe.data.namespace}")`;
  }
  const agent = (ds?.spec?.template?.spec?.containers ?? []).find((c: Obj) => c.name === 'cilium-agent') as Obj | undefined;
  const kpr = agentKubeProxyReplacement(agent, cm);
  if (kpr !== 'true') bad.R4 = `the agent would run with kube-proxy-replacement ${JSON.stringify(kpr)}`;
  const env = Object.fromEntries(((agent?.env ?? []) as Obj[]).map((e) => [e.name, e.value]));
  if (env.KUBERNETES_SERVICE_HOST !== 'localhost' || String(env.KUBERNETES_SERVICE_PORT) !== '7445') {
    bad['R4.endpoint'] = `the agent talks to ${String(env.KUBERNETES_SERVICE_HOST)}:${String(env.KUBERNETES_SERVICE_PORT)}, not KubePrism`;
  }
  // T1: Talos grants CAP_SYS_MODULE / CAP_SYS_BOOT to no process (containerd prefixes CAP_ and
  // upper-cases what the pod spec names); a privileged container asks for no capability list.
  if (ds) {
    const pod = ds.spec?.template?.spec ?? {};
    for (const c of [...((pod.initContainers ?? []) as Obj[]), ...((pod.containers ?? []) as Obj[])]) {
      const sc = (c.securityContext ?? {}) as Obj;
      if (sc.privileged === true) continue;
      const add = ((sc.capabilities?.add ?? []) as unknown[]).map((x) => String(x).toUpperCase().replace(/^CAP_/, ''));
      const hit = add.filter((x) => x === 'SYS_MODULE' || x === 'SYS_BOOT');
      if (hit.length > 0) {
        bad.T1 = `container ${String(c.name)} asks for ${hit.join(', ')}, which Talos never grants`;
        break;
      }
    }
    // T2: no mount-cgroup init container; the cgroup volume and the agent's cgroup-root (viper:
    // case-insensitive names, trimmed content) are Talos' /sys/fs/cgroup.
    const mount = ((pod.initContainers ?? []) as Obj[]).find((c) => c.name === 'mount-cgroup');
    const volume = ((pod.volumes ?? []) as Obj[]).find((v) => v.name === 'cilium-cgroup');
    const roots = Object.entries((cm?.data ?? {}) as Record<string, unknown>).filter(([k]) => k.toLowerCase() === 'cgroup-root');
    const rootValues = new Set(roots.map(([, v]) => (typeof v === 'string' ? goTrim(v) : `not a string (${JSON.stringify(v)})`)));
    if (mount) bad.T2 = 'the mount-cgroup init container is rendered (cgroup auto-mount)';
    else if (volume?.hostPath?.path !== '/sys/fs/cgroup') bad.T2 = `the cilium-cgroup volume is hostPath ${JSON.stringify(volume?.hostPath?.path)}`;
    else if (rootValues.size !== 1 || !rootValues.has('/sys/fs/cgroup')) bad.T2 = `cilium-config cgroup-root is ${[...rootValues].map((v) => JSON.stringify(v)).join(' / ') || 'missing'}`;
  }
  // No DaemonSet: nothing runs on the nodes to break (R1 reports the missing agent).
  return { bad };
}

/** Where cilium-guard is stricter than the chart on purpose (documented in README "How the engine decides"). */
export const STRICTER: Array<{ rule: Guarded; when: RegExp; why: string }> = [
  { rule: 'R2', when: /\{\{/, why: 'a templated releaseName hides the name from review; Helm may render it to "cilium", we still deny' },
];

/**
 * Compares cilium-guard's findings (rule -> verdicts) with what the chart rendered for every job.
 * A disagreement is a denial the render does not support (a false refusal), or a break the render
 * shows that cilium-guard lets through without a denial (or, where some layer cannot be seen,
 * without at least a warning). Returns the disagreements and the STRICTER entries that applied.
 */
export function compare(
  app: Obj,
  results: Rendered[],
  invisible: string[],
  findings: Map<string, Set<string>>,
): { disagreements: string[]; stricter: number[]; agreed: number } {
  const disagreements: string[] = [];
  const stricter: number[] = [];
  let agreed = 0;
  const text = JSON.stringify(app);
  for (const rule of GUARDED) {
    if (results.some((r) => r.only && !r.only.includes(rule))) continue;
    const chartBad = results.map((r) => r.bad[rule]).find((b) => b !== undefined);
    const verdicts = findings.get(rule) ?? new Set<string>();
    const denies = verdicts.has('deny');
    const flags = denies || verdicts.has('warn');
    if (denies && !chartBad) {
      const i = STRICTER.findIndex((x) => x.rule === rule && x.when.test(text));
      if (i >= 0) stricter.push(i);
      else disagreements.push(`${rule}: cilium-guard denies, but the chart renders it fine`);
    } else if (chartBad && rule !== 'R4.endpoint' && invisible.length === 0 && !denies) {
      disagreements.push(`${rule}: the chart says ${chartBad}, and cilium-guard ${flags ? 'only warns' : 'lets it through'}`);
    } else if (chartBad && !flags) {
      disagreements.push(`${rule}: the chart says ${chartBad} (${invisible.join(', ') || 'all layers visible'}), and cilium-guard says nothing`);
    } else agreed++;
  }
  // Helm rendered every job: a V1 denial ("Helm cannot read these values") is then wrong.
  if ((findings.get('V1') ?? new Set()).has('deny')) disagreements.push('V1: cilium-guard says Helm cannot render these values, but it does');
  return { disagreements, stricter, agreed };
}
