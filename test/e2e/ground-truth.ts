// Ground truth for R1, R2, R4, R4.endpoint, T1, T2 and L1: what the real Cilium chart renders, through the
// real helm, for the arguments Argo CD's repo-server would pass for an Application. L1 is relative: the
// rendered cilium-config is compared with a running one (the baseline), read the way the agent reads both.
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
  /**
   * `args` with the --set and the --set-string parameters in the other orders Argo CD may pass them
   * in (each group comes from a Go map, iterated in random order): rendered only when the first
   * order disagrees with cilium-guard, to tell a wrong verdict from one that depends on the order.
   */
  otherOrders?: string[][];
}

/** At most this many other parameter orders are tried for one render job. */
const MAX_ORDERS = 120;

/** Every order of `items` (Heap's algorithm), the given order first. */
function* permutations<T>(items: T[]): Generator<T[]> {
  const a = [...items];
  const c = a.map(() => 0);
  yield [...a];
  let i = 1;
  while (i < a.length) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[i], a[j]] = [a[j]!, a[i]!];
      yield [...a];
      c[i]!++;
      i = 1;
    } else c[i++] = 0;
  }
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
    const setArgs = [...set].map(([k, v]) => ['--set', `${k}=${cleanSetValue(envsubst(v, env, unknown))}`]);
    const setStringArgs = [...setString].map(([k, v]) => ['--set-string', `${k}=${cleanSetValue(envsubst(v, env, unknown))}`]);
    const head = args.length;
    args.push(...setArgs.flat(), ...setStringArgs.flat());
    if (blob !== undefined) {
      valuesFile = path.join(dir, `values-${i}.yaml`);
      writeFileSync(valuesFile, blob);
      args.push('--values', valuesFile);
    }
    if (!h.skipCrds) args.push('--include-crds');
    if (h.skipSchemaValidation) args.push('--skip-schema-validation');
    if (unknown.size > 0) invisible.push(`parameters need ${[...unknown].join(', ')}`);
    // Helm applies --set arguments in order, then --set-string ones: the order within each group can
    // matter (a list and one of its [i], a key and a comma that sets it again).
    const otherOrders: string[][] = [];
    const rest = args.slice(head + 2 * (setArgs.length + setStringArgs.length));
    outer: for (const a of permutations(setArgs)) {
      for (const b of permutations(setStringArgs)) {
        const order = [...args.slice(0, head), ...a.flat(), ...b.flat(), ...rest];
        if (order.join('\0') === args.join('\0')) continue;
        if (otherOrders.length >= MAX_ORDERS) break outer;
        otherOrders.push(order);
      }
    }
    return { where, args, ...(valuesFile ? { valuesFile } : {}), invisible, ...(otherOrders.length > 0 ? { otherOrders } : {}) };
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
  /**
   * L1's cilium-config keys as the agent would read them from the rendered cilium-config (absent:
   * no cilium-config rendered, or the API server would refuse it: see `configRefused`).
   */
  config?: AgentConfig;
  /** The rendered cilium-config's data as the API server would store it (absent when it refuses it). */
  configData?: Record<string, string>;
  /** Why the API server would refuse the rendered cilium-config (a boolean, number, list or map in data). */
  configRefused?: string;
  /** helm refused to render, for a reason other than kubeProxyReplacement. */
  error?: string;
  /** The render stopped early: only these rules could be judged. */
  only?: Guarded[];
  /** The same job rendered with its parameters in the other orders Argo CD may pass them in (RenderJob.otherOrders). */
  otherOrders?: Rendered[];
}

/**
 * The value the agent runs with (cobra/viper): the last --kube-proxy-replacement flag, then the last
 * CILIUM_KUBE_PROXY_REPLACEMENT env entry (names are case-sensitive), then the ConfigMap key, each
 * file's content trimmed with Go's bytes.TrimSpace.
 */
function agentKubeProxyReplacement(agent: Obj | undefined, cm: Obj | undefined): string | undefined {
  let fromArgs: string | undefined;
  const raw = [...(agent?.command ?? []), ...(agent?.args ?? [])] as unknown[];
  const args = raw.map(String);
  args.forEach((a, i) => {
    const m = /^--kube-proxy-replacement(?:=([\s\S]*))?$/.exec(a);
    // pflag takes the next argument as the value, whatever it is; with none the agent does not start.
    // A value that is not a string (a list from `--set extraArgs[1]={true}`) is no container
    // argument: the API server refuses the DaemonSet, as it refuses a cilium-config like that below.
    const next = raw[i + 1];
    if (m) {
      fromArgs =
        m[1] ??
        (i + 1 >= raw.length ? 'no value: "flag needs an argument", the agent does not start' : typeof next === 'string' ? next : `not a string (${JSON.stringify(next)}): the API server refuses the DaemonSet`);
    }
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
/** Go's strings.Fields (unicode.IsSpace), as viper's GetStringSlice splits a string option. */
const goFields = (s: string): string[] => s.split(/[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/).filter((x) => x !== '');

/**
 * The cilium-config keys L1 compares (Documentation: IPAM "Don't change the IPAM mode of an existing
 * cluster", cluster-pool.rst "Don't change any existing elements of the clusterPoolIPv4PodCIDRList
 * list … Changing clusterPoolIPv4MaskSize is also not possible", clustermesh.rst on cluster name
 * and ID), with what the agent assumes when the key is absent. Keys without `absent` are compared
 * only when both the running and the new config have them; `prefix`: the running elements must
 * stay a prefix of the new ones (appending is allowed). Warn keys can never make the chart "break" L1.
 */
export const L1_KEYS = [
  { key: 'ipam', absent: 'cluster-pool', deny: true },
  { key: 'cluster-name', absent: 'default', deny: true },
  { key: 'cluster-id', absent: '0', deny: true },
  { key: 'cluster-pool-ipv4-cidr', deny: true, prefix: true },
  { key: 'cluster-pool-ipv4-mask-size', deny: true },
  { key: 'routing-mode', absent: 'tunnel', deny: false },
  { key: 'tunnel-protocol', absent: 'vxlan', deny: false },
  { key: 'ipv4-native-routing-cidr', absent: '', deny: false },
  { key: 'enable-ipsec', absent: 'false', deny: false },
  { key: 'enable-wireguard', absent: 'false', deny: false },
] as const satisfies ReadonlyArray<{ key: string; absent?: string; deny: boolean; prefix?: boolean }>;
export type L1Key = (typeof L1_KEYS)[number]['key'];

/** One option as the agent reads it: a value, or several spellings that disagree (viper's map order decides). */
export type AgentSetting = { value: string } | { ambiguous: string[] };
/** L1's keys as the agent reads them; a key that is absent is not in the map. */
export type AgentConfig = Partial<Record<L1Key, AgentSetting>>;

/**
 * L1's keys of cilium-config data as the agent reads them: option names case-insensitively (viper),
 * values trimmed with Go's TrimSpace; spellings that agree after trimming are one value.
 * The data must be strings (the caller checks: the API server refuses anything else).
 */
export function agentConfig(data: Record<string, string>): AgentConfig {
  const out: AgentConfig = {};
  for (const { key } of L1_KEYS) {
    const values = new Set(Object.entries(data).filter(([k]) => k.toLowerCase() === key).map(([, v]) => goTrim(v)));
    if (values.size === 1) out[key] = { value: [...values][0]! };
    else if (values.size > 1) out[key] = { ambiguous: [...values].sort() };
  }
  return out;
}

const describeSetting = (s: AgentSetting | undefined, absent: string | undefined): string =>
  s === undefined ? (absent === undefined ? 'absent' : `absent (${JSON.stringify(absent)})`) : 'value' in s ? JSON.stringify(s.value) : `ambiguous (${s.ambiguous.map((v) => JSON.stringify(v)).join(' / ')})`;

/**
 * What L1 is about, decided on the rendered cilium-config against the running one: `deny`, a deny
 * key the agent would certainly read differently (the break); `warn`, warn keys that change (not a
 * break). A cilium-config the API server refuses changes nothing, so it breaks nothing.
 */
export function l1Changes(running: AgentConfig, rendered: Rendered): { deny: string[]; warn: string[] } {
  const out = { deny: [] as string[], warn: [] as string[] };
  if (!rendered.config) return out;
  for (const spec of L1_KEYS) {
    const absent = 'absent' in spec ? spec.absent : undefined;
    const before = running[spec.key];
    const after = rendered.config[spec.key];
    if (absent === undefined && (before === undefined || after === undefined)) continue;
    // A list option is read as its fields: spellings that differ only in spacing agree.
    const list = (x: AgentSetting | undefined): AgentSetting | undefined =>
      x && 'ambiguous' in x && 'prefix' in spec && new Set(x.ambiguous.map((v) => goFields(v).join(' '))).size === 1 ? { value: x.ambiguous[0]! } : x;
    const [b4, aft] = [list(before), list(after)];
    let changed: boolean;
    if ((b4 && 'ambiguous' in b4) || (aft && 'ambiguous' in aft)) {
      // Spellings that disagree: which one the agent takes is a coin toss at every start (Go's map
      // order), so it counts as a change even when each would be fine alone (a pool list with and
      // without an appended entry would lose that entry on some restart).
      changed = true;
    } else {
      const was = (b4 as { value: string } | undefined)?.value ?? absent!;
      const now = (aft as { value: string } | undefined)?.value ?? absent!;
      if ('prefix' in spec && spec.prefix) {
        const a = goFields(was);
        const b = goFields(now);
        changed = a.length > b.length || a.some((x, i) => b[i] !== x);
      } else changed = was !== now;
    }
    if (changed) (spec.deny ? out.deny : out.warn).push(`${spec.key} ${describeSetting(before, absent)} -> ${describeSetting(after, absent)}`);
  }
  return out;
}

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
  const out: Rendered = { bad };
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
  if (cm) {
    // ConfigMap data are strings: a boolean, number, list or map makes the API server refuse the
    // whole object, and with it Argo CD's sync (its dry run fails first), so cilium-config stays as
    // it is. A null (`key:` with nothing, `key: null`) is accepted and stored as "" by create and by
    // server-side apply, which R3 makes the only way Argo CD applies (tried on kube-apiserver 1.36:
    // client-side apply drops the key instead).
    const data = (cm.data ?? {}) as Record<string, unknown>;
    const notString = Object.entries(data).find(([, v]) => typeof v !== 'string' && v !== null);
    if (notString) out.configRefused = `cilium-config ${notString[0]} is ${JSON.stringify(notString[1])}, not a string: the API server refuses it`;
    else {
      out.configData = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v === null ? '' : (v as string)]));
      out.config = agentConfig(out.configData);
    }
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
  return out;
}

/** Every rule compare() can judge: GUARDED on the render alone, L1 against a running cilium-config. */
export type Judged = Guarded | 'L1';

/** Where cilium-guard is stricter than the chart on purpose (documented in docs/operating/architecture.md, "How the engine decides"). */
export const STRICTER: Array<{ rule: Judged; when: RegExp; why: string }> = [
  { rule: 'R2', when: /\{\{/, why: 'a templated releaseName hides the name from review; Helm may render it to "cilium", we still deny' },
];

/**
 * What L1 is judged against: `running`, the data of the cilium-config the Application's chart would
 * replace (the live one when it deploys to this cluster, or what the old Application rendered);
 * absent when there is nothing to compare with, and then L1 must never deny.
 */
export interface L1Baseline {
  running?: Record<string, string>;
}

/** How L1 was judged for one Application. */
export interface L1Outcome {
  /** A running cilium-config was there to compare with. */
  compared: boolean;
  /** The chart breaks L1: the deny keys that change. */
  broken: string[];
  /** Warn keys that change (never a break either way). */
  warnOnly: string[];
  /** Some render's cilium-config would be refused by the API server. */
  refused: boolean;
  /** The chart breaks L1 in some parameter orders only. */
  orderDependent: boolean;
  agreed: boolean;
}

/**
 * A render, then the same job with its parameters in the other orders (when those were rendered)
 * that helm renders: an order helm refuses (V1's business) reaches nothing, and as for cilium-guard
 * only the orders that render count ("broken in every order that renders").
 */
const ordersOf = (r: Rendered): Rendered[] => [r, ...(r.otherOrders ?? []).filter((o) => o.error === undefined)];

/**
 * What the chart says about one rule over every parameter order: `bad`, broken (in some job)
 * whichever order Argo CD passes the parameters in; else `someOrders`, broken in some orders only.
 */
function overOrders(results: Rendered[], badOf: (r: Rendered) => string | undefined): { bad?: string; someOrders?: string } {
  let bad: string | undefined;
  let some: string | undefined;
  for (const r of results) {
    const all = ordersOf(r).map(badOf);
    if (all.every((b) => b !== undefined)) bad ??= all[0];
    else some ??= all.find((b) => b !== undefined);
  }
  return bad !== undefined ? { bad } : some !== undefined ? { someOrders: some } : {};
}

/**
 * Compares cilium-guard's findings (rule -> verdicts) with what the chart rendered for every job.
 * A disagreement is a denial the render does not support (a false refusal), or a break the render
 * shows that cilium-guard lets through without a denial (or, where some layer cannot be seen,
 * without at least a warning). Returns the disagreements and the STRICTER entries that applied.
 * L1 is judged only when `l1` is given (its baseline may be empty: then L1 must not deny).
 * Where the renders carry `otherOrders`, a break that happens in some parameter orders only needs a
 * warning, and a denial of it is a disagreement (cilium-guard cannot know Go's map order).
 */
export function compare(
  app: Obj,
  results: Rendered[],
  invisible: string[],
  findings: Map<string, Set<string>>,
  l1?: L1Baseline,
): { disagreements: string[]; stricter: number[]; agreed: number; l1?: L1Outcome } {
  const disagreements: string[] = [];
  const stricter: number[] = [];
  let agreed = 0;
  const text = JSON.stringify(app);
  const judge = (rule: Judged, chart: { bad?: string; someOrders?: string }): boolean => {
    const chartBad = chart.bad;
    const verdicts = findings.get(rule) ?? new Set<string>();
    const denies = verdicts.has('deny');
    const flags = denies || verdicts.has('warn');
    const before = disagreements.length;
    if (denies && !chartBad) {
      const i = STRICTER.findIndex((x) => x.rule === rule && x.when.test(text));
      if (i >= 0) stricter.push(i);
      else if (chart.someOrders) disagreements.push(`${rule}: cilium-guard denies, but the chart says ${chart.someOrders} only with the parameters in some orders (Go's map order decides)`);
      else disagreements.push(`${rule}: cilium-guard denies, but the chart renders it fine`);
    } else if (chartBad && rule !== 'R4.endpoint' && invisible.length === 0 && !denies) {
      disagreements.push(`${rule}: the chart says ${chartBad}, and cilium-guard ${flags ? 'only warns' : 'lets it through'}`);
    } else if (chartBad && !flags) {
      disagreements.push(`${rule}: the chart says ${chartBad} (${invisible.join(', ') || 'all layers visible'}), and cilium-guard says nothing`);
    } else if (chart.someOrders && !flags) {
      disagreements.push(`${rule}: with the parameters in some orders (Go's map order decides) the chart says ${chart.someOrders}, and cilium-guard says nothing`);
    } else agreed++;
    return disagreements.length === before;
  };
  const all = results.flatMap(ordersOf);
  for (const rule of GUARDED) {
    if (all.some((r) => r.only && !r.only.includes(rule))) continue;
    judge(rule, overOrders(results, (r) => r.bad[rule]));
  }
  let outcome: L1Outcome | undefined;
  // A render that stopped early wrote no cilium-config: L1 cannot be judged.
  if (l1 && !all.some((r) => r.only)) {
    const running = l1.running ? agentConfig(l1.running) : undefined;
    const changes = (r: Rendered) => (running ? l1Changes(running, r) : { deny: [], warn: [] });
    const broken = results.flatMap((r) => changes(r).deny);
    const warnOnly = broken.length > 0 ? [] : results.flatMap((r) => changes(r).warn);
    const chart = overOrders(results, (r) => {
      const deny = changes(r).deny;
      return deny.length > 0 ? `the running cilium-config changes: ${deny.join('; ')}` : undefined;
    });
    const ok = judge('L1', chart);
    outcome = {
      compared: running !== undefined,
      broken,
      warnOnly,
      refused: results.some((r) => r.configRefused !== undefined),
      orderDependent: chart.someOrders !== undefined,
      agreed: ok,
    };
  }
  // Helm rendered every job: a V1 denial ("Helm cannot read these values") is then wrong.
  if ((findings.get('V1') ?? new Set()).has('deny')) disagreements.push('V1: cilium-guard says Helm cannot render these values, but it does');
  return { disagreements, stricter, agreed, ...(outcome ? { l1: outcome } : {}) };
}
