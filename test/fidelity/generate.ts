// A seeded generator of Cilium Applications aimed at what Argo CD and Helm make tricky: values
// strings with anchors, merge keys in any order, tags, duplicate keys and several documents;
// valuesObject; parameters with commas, braces, backslashes, dots, indexes and forceString;
// extraConfig / extraArgs / extraEnv; several sources; a pending operation with its own source;
// the Talos values (capability lists omitted, replaced, with SYS_MODULE, as {a,b} or indexed
// parameters; cgroup auto-mount, hostRoot, extraConfig cgroup-root; privileged; sysctlfix), mostly
// Talos-correct so that the other rules still get exercised.
// L1 (what must not change on a running Cilium): each seed picks one of BASELINES, a Talos install
// whose rendered cilium-config is taken as the running one, and mostly repeats its values (through
// any channel: valuesObject, the values string, parameters, extraConfig), sometimes changing IPAM,
// the cluster name or ID, the pool CIDRs or mask, routing, tunnelling or encryption. These draws come
// from a second stream of the seed, so the rest of the Application is what the seed gave before L1.
// The same seed always gives the same Application, so a disagreement is reproduced by its seed.
type Obj = Record<string, any>;

/** mulberry32: small, fast, good enough to spread cases. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Pick {
  constructor(private readonly r: () => number) {}
  chance(p: number): boolean {
    return this.r() < p;
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  one<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  some<T>(items: readonly T[], max: number): T[] {
    const n = this.int(max + 1);
    return Array.from({ length: n }, () => this.one(items));
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

// Spellings of a boolean-ish kubeProxyReplacement in a YAML values string.
const KPR_YAML = ['true', 'false', '"true"', "'true'", '"false"', 'yes', 'no', 'on', 'off', 'True', 'TRUE', 'y', 'n', '~', 'null', '""', 'strict', '!!str true', '!!bool "true"', '!!str yes', '1', '0', 'True ', '"true "'];
const KPR_JSON: unknown[] = [true, false, 'true', 'false', 'True', 'yes', 'on', 1, 0, '', null];
const EXTRA_CONFIG_KEYS = ['kube-proxy-replacement', 'Kube-Proxy-Replacement', 'KUBE-PROXY-REPLACEMENT', 'routing-mode'];
const EXTRA_CONFIG_VALUES = ['true', 'false', ' true ', 'true\n', '\ufefftrue', 'true\u0085', 'TRUE', 'native'];
const ARGS = ['--kube-proxy-replacement=false', '--kube-proxy-replacement=true', '--kube-proxy-replacement', 'false', 'true', '--Kube-Proxy-Replacement=false', '--devices=eth0', '-kube-proxy-replacement=false'];
const ENV_NAMES = ['CILIUM_KUBE_PROXY_REPLACEMENT', 'cilium_kube_proxy_replacement', 'CILIUM_ROUTING_MODE'];

// Parameter names and values that Argo CD passes unescaped or half-escaped to strvals.
const PARAM_NAMES = [
  'kubeProxyReplacement',
  'namespaceOverride',
  'extraConfig.kube-proxy-replacement',
  'extraConfig.Kube-Proxy-Replacement',
  'extraConfig.kube-proxy-replacement\\.x',
  'extraArgs[0]',
  'extraArgs[1]',
  'extraEnv[0].name',
  'extraEnv[0].value',
  'extraEnv[1].name',
  'k8sServiceHost',
  'k8sServicePort',
  'kubeProxyReplacement=false,foo',
  'foo,kubeProxyReplacement',
  'a=1,namespaceOverride',
  'kubeProxyReplacement\\,x',
  'hubble.enabled',
  'annotations.argocd\\.argoproj\\.io/sync-options',
];
const PARAM_VALUES = [
  'true',
  'false',
  'TRUE',
  'null',
  '',
  'a,b',
  '{a,b}',
  '{true}',
  'x\\,y',
  'true\\',
  'false,kubeProxyReplacement=false',
  'true,kubeProxyReplacement=true',
  'true,namespaceOverride=cilium',
  'true\\,namespaceOverride=cilium',
  '{true,namespaceOverride=cilium}',
  'cilium',
  'kube-system',
  '$ARGOCD_APP_NAMESPACE',
  'true$NOPE',
  '$$true',
  '${ARGOCD_APP_REVISION}',
  '--kube-proxy-replacement=false',
  'CILIUM_KUBE_PROXY_REPLACEMENT',
  'localhost',
  '7445',
  'ServerSideApply=false',
];

const KUBEPRISM = 'k8sServiceHost: localhost\nk8sServicePort: 7445\n';

// Talos (T1, T2). A plan for one source, written into valuesObject, the values string and parameters alike.
const TALOS_AGENT = ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'];
const TALOS_CLEAN = ['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE'];
const FORBIDDEN = ['SYS_MODULE', 'SYS_BOOT', 'cap_sys_module', 'CAP_SYS_BOOT', 'Sys_Module'];
const CGROUP_ROOT_KEYS = ['cgroup-root', 'Cgroup-Root', 'CGROUP-ROOT'];
const CGROUP_ROOTS = ['/sys/fs/cgroup', '/run/cilium/cgroupv2', ' /sys/fs/cgroup ', '/sys/fs/cgroup/'];

interface TalosPlan {
  /** Values for valuesObject and the values string. */
  tree: Obj;
  /** Extra parameters (they win over both). */
  params: Obj[];
}

function capList(p: Pick, good: string[]): string[] | undefined {
  const r = p.int(20);
  if (r === 0) return undefined; // omitted: the chart default (with SYS_MODULE) applies
  const list = [...good];
  if (r === 1) list.splice(p.int(list.length + 1), 0, p.one(FORBIDDEN));
  return list;
}

function talosPlan(p: Pick): TalosPlan {
  const tree: Obj = {};
  const params: Obj[] = [];
  const caps: Obj = {};
  const agent = capList(p, TALOS_AGENT);
  const clean = capList(p, TALOS_CLEAN);
  if (agent) caps.ciliumAgent = agent;
  if (clean) caps.cleanCiliumState = clean;
  if (p.chance(0.1)) caps.mountCgroup = p.chance(0.5) ? ['SYS_ADMIN', 'SYS_MODULE'] : ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE'];
  if (p.chance(0.1)) caps.applySysctlOverwrites = p.chance(0.5) ? ['SYS_ADMIN', 'SYS_BOOT'] : ['SYS_ADMIN', 'SYS_CHROOT'];
  const sc: Obj = { capabilities: caps };
  if (p.chance(0.06)) sc.privileged = p.one([true, false]);
  tree.securityContext = sc;
  const cgroup: Obj = {};
  const auto = p.int(20);
  if (auto > 1) cgroup.autoMount = { enabled: false };
  else if (auto === 1) cgroup.autoMount = { enabled: true };
  const root = p.int(20);
  if (root > 1) cgroup.hostRoot = '/sys/fs/cgroup';
  else if (root === 1) cgroup.hostRoot = p.one(CGROUP_ROOTS);
  tree.cgroup = cgroup;
  if (p.chance(0.08)) tree.sysctlfix = { enabled: p.one([false, true]) };
  if (p.chance(0.06)) tree.extraConfig = { [p.one(CGROUP_ROOT_KEYS)]: p.one(CGROUP_ROOTS) };
  // Parameters on top (Argo CD passes them after the values file; Helm applies --set last).
  if (p.chance(0.15)) {
    switch (p.int(8)) {
      case 0:
        params.push({ name: 'securityContext.capabilities.ciliumAgent', value: `{${(p.chance(0.5) ? TALOS_AGENT : [...TALOS_AGENT, p.one(FORBIDDEN)]).join(',')}}` });
        break;
      case 1:
        params.push({ name: 'securityContext.capabilities.cleanCiliumState', value: `{${(p.chance(0.5) ? TALOS_CLEAN : ['NET_ADMIN', p.one(FORBIDDEN)]).join(',')}}`, ...(p.chance(0.3) ? { forceString: true } : {}) });
        break;
      case 2:
        params.push({ name: `securityContext.capabilities.cleanCiliumState[${p.int(4)}]`, value: p.one(['SYS_MODULE', 'NET_ADMIN']), ...(p.chance(0.3) ? { forceString: true } : {}) });
        break;
      case 3:
        params.push({ name: 'cgroup.autoMount.enabled', value: p.one(['false', 'true']), ...(p.chance(0.3) ? { forceString: true } : {}) });
        break;
      case 4:
        params.push({ name: 'cgroup.hostRoot', value: p.one(CGROUP_ROOTS) });
        break;
      case 5:
        params.push({ name: 'securityContext.privileged', value: p.one(['true', 'false']) });
        break;
      case 6:
        params.push({ name: `extraConfig.${p.one(CGROUP_ROOT_KEYS)}`, value: p.one(CGROUP_ROOTS) });
        break;
      default:
        params.push({ name: 'sysctlfix.enabled', value: p.one(['false', 'true']) });
        break;
    }
  }
  return { tree, params };
}

/** The Talos plan as YAML lines of a values string (flow style; JSON is YAML). */
function talosYaml(plan: TalosPlan): string {
  return Object.entries(plan.tree)
    .filter(([k]) => k !== 'extraConfig')
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`)
    .join('');
}

function valuesString(p: Pick, plan: TalosPlan, l1: L1Plan, q: Pick): string {
  const kpr = p.one(KPR_YAML);
  const lines: string[] = [];
  const pieces: string[] = [talosYaml(plan), l1Yaml(q, l1.tree)];
  if (p.chance(0.9)) pieces.push(KUBEPRISM);
  switch (p.int(7)) {
    case 0:
      pieces.push(`kubeProxyReplacement: ${kpr}\n`);
      break;
    case 1: {
      // A merge key before or after an explicit key: go-yaml v2 lets the later one win.
      const base = `base: &b\n  kubeProxyReplacement: ${p.one(KPR_YAML)}\n`;
      const merge = '<<: *b\n';
      const explicit = `kubeProxyReplacement: ${kpr}\n`;
      pieces.push(base, ...p.shuffle([merge, explicit]));
      break;
    }
    case 2: {
      const a = `a: &a {kubeProxyReplacement: ${p.one(KPR_YAML)}}\n`;
      const b = `b: &b {kubeProxyReplacement: ${p.one(KPR_YAML)}, namespaceOverride: ${p.one(['kube-system', 'cilium', '""', '~'])}}\n`;
      pieces.push(a, b, `<<: ${p.one(['[*a, *b]', '[*b, *a]', '*a', '*b'])}\n`);
      if (p.chance(0.5)) pieces.push(`kubeProxyReplacement: ${kpr}\n`);
      break;
    }
    case 3:
      pieces.push(`kubeProxyReplacement: ${kpr}\n`, `kubeProxyReplacement: ${p.one(KPR_YAML)}\n`);
      break;
    case 4:
      pieces.push(`x: &v ${kpr}\nkubeProxyReplacement: *v\n`);
      break;
    case 5:
      pieces.push(`${p.one(['"kubeProxyReplacement"', "'kubeProxyReplacement'", 'KubeProxyReplacement', '? kubeProxyReplacement\n'])}: ${kpr}\n`);
      break;
    default:
      break;
  }
  if (p.chance(0.25)) pieces.push(`namespaceOverride: ${p.one(['kube-system', 'cilium', '""', '~', 'false'])}\n`);
  const extra: Obj = { ...l1.extra };
  if (p.chance(0.25)) extra[p.one(EXTRA_CONFIG_KEYS)] = p.one(EXTRA_CONFIG_VALUES);
  if (Object.keys(extra).length > 0) pieces.push(`extraConfig:\n${Object.entries(extra).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`).join('')}`);
  if (p.chance(0.15)) pieces.push(`extraArgs: [${JSON.stringify(p.one(ARGS))}]\n`);
  if (p.chance(0.15)) pieces.push(`extraEnv:\n- name: ${p.one(ENV_NAMES)}\n  value: ${JSON.stringify(p.one(['false', 'true']))}\n`);
  if (p.chance(0.1)) pieces.push(`annotations:\n  argocd.argoproj.io/sync-options: ${p.one(['ServerSideApply=false', 'ServerSideApply=true', ' ServerSideApply=false , Prune=false'])}\n`);
  if (p.chance(0.1)) pieces.push(`podAnnotations:\n  argocd.argoproj.io/sync-options: ServerSideApply=false\n`);
  lines.push(...pieces);
  // Document markers: Helm 4.2+ reads every document and merges them; 3.19 reads the first only.
  if (p.chance(0.2)) {
    const second = p.one([`kubeProxyReplacement: ${p.one(KPR_YAML)}\n`, '', '# just a comment\n', `namespaceOverride: cilium\n`]);
    lines.push(p.one(['---\n', '--- # next\n', '...\n---\n']), second);
  }
  if (p.chance(0.1)) lines.unshift(p.one(['---\n', '%YAML 1.1\n---\n']));
  return lines.join('');
}

function valuesObject(p: Pick, plan: TalosPlan, l1: L1Plan): Obj {
  const o: Obj = { ...structuredClone(plan.tree), ...structuredClone(l1.tree) };
  if (Object.keys(l1.extra).length > 0) o.extraConfig = { ...o.extraConfig, ...l1.extra };
  if (p.chance(0.9)) Object.assign(o, { k8sServiceHost: 'localhost', k8sServicePort: p.one([7445, '7445']) });
  if (p.chance(0.85)) o.kubeProxyReplacement = p.one(KPR_JSON);
  if (p.chance(0.2)) o.namespaceOverride = p.one(['kube-system', 'cilium', '', null, false]);
  if (p.chance(0.25)) o.extraConfig = { ...o.extraConfig, [p.one(EXTRA_CONFIG_KEYS)]: p.one(EXTRA_CONFIG_VALUES) };
  if (p.chance(0.15)) o.extraArgs = p.some(ARGS, 3);
  if (p.chance(0.15)) o.extraEnv = [{ name: p.one(ENV_NAMES), value: p.one(['false', 'true']) }];
  return o;
}

function parameters(p: Pick): Obj[] {
  return Array.from({ length: p.int(4) }, () => {
    const param: Obj = { name: p.one(PARAM_NAMES), value: p.one(PARAM_VALUES) };
    if (p.chance(0.25)) param.forceString = true;
    return param;
  });
}

// ---- L1 -------------------------------------------------------------------------------------
/** A Talos install the cluster is taken to run: the Talos values plus `l1`, the values L1 is about. */
export interface Baseline {
  name: string;
  l1: Obj;
}

/** Talos' documented values (siderolabs docs, deploying-cilium): every baseline carries them. */
const TALOS_VALUES: Obj = {
  kubeProxyReplacement: true,
  k8sServiceHost: 'localhost',
  k8sServicePort: 7445,
  securityContext: { capabilities: { ciliumAgent: TALOS_AGENT, cleanCiliumState: TALOS_CLEAN } },
  cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
};

export const BASELINES: readonly Baseline[] = [
  { name: 'talos-kubernetes', l1: { ipam: { mode: 'kubernetes' } } },
  {
    name: 'talos-cluster-pool',
    l1: {
      ipam: { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: ['10.0.0.0/16', '10.1.0.0/16'], clusterPoolIPv4MaskSize: 24 } },
      cluster: { name: 'talos-a', id: 7 },
    },
  },
  // The chart's default IPAM (cluster-pool, 10.0.0.0/8, /24), native routing and WireGuard.
  { name: 'talos-native-wireguard', l1: { routingMode: 'native', ipv4NativeRoutingCIDR: '10.0.0.0/8', encryption: { enabled: true, type: 'wireguard' } } },
];

/** The Application that installed a baseline (what an UPDATE's old object is). */
export function baselineApplication(b: Baseline): Obj {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'cilium', namespace: 'argocd' },
    spec: {
      project: 'default',
      destination: { server: 'https://kubernetes.default.svc', namespace: 'kube-system' },
      source: { repoURL: 'https://helm.cilium.io/', chart: 'cilium', targetRevision: '1.18.2', helm: { valuesObject: { ...structuredClone(TALOS_VALUES), ...structuredClone(b.l1) } } },
      syncPolicy: { syncOptions: ['ServerSideApply=true'] },
    },
  };
}

interface L1Plan {
  /** Values for valuesObject and the values string. */
  tree: Obj;
  /** extraConfig entries (cilium-config keys, any spelling). */
  extra: Obj;
  /** Parameters (after everything else). */
  params: Obj[];
}

const POOL = ['ipam', 'operator', 'clusterPoolIPv4PodCIDRList'];
const MASK = ['ipam', 'operator', 'clusterPoolIPv4MaskSize'];
const DEFAULT_POOL = ['10.0.0.0/8'];

function getPath(tree: Obj, path: string[]): unknown {
  let o: any = tree;
  for (const k of path) o = o && typeof o === 'object' ? o[k] : undefined;
  return o;
}

function setPath(tree: Obj, path: string[], value: unknown): void {
  let o = tree;
  for (const k of path.slice(0, -1)) o = (o[k] && typeof o[k] === 'object' && !Array.isArray(o[k]) ? o[k] : (o[k] = {})) as Obj;
  o[path[path.length - 1]!] = value;
}

function deletePath(tree: Obj, path: string[]): void {
  const parent = getPath(tree, path.slice(0, -1));
  if (parent && typeof parent === 'object') delete (parent as Obj)[path[path.length - 1]!];
}

/** A value as a parameter's text: lists as {a,b}, null as "null". */
const paramText = (v: unknown): string => (Array.isArray(v) ? `{${v.join(',')}}` : v === null ? 'null' : String(v));

/**
 * Puts one value where Helm will find it: in the tree (valuesObject and the values string), or as
 * parameters ({a,b} or one [i] per element for a list; sometimes --set-string).
 */
function deliver(q: Pick, plan: L1Plan, path: string[], value: unknown): void {
  if (q.chance(0.6)) {
    setPath(plan.tree, path, value);
    return;
  }
  deletePath(plan.tree, path);
  const name = path.join('.');
  if (Array.isArray(value) && value.length > 0 && q.chance(0.4)) {
    value.forEach((v, i) => plan.params.push({ name: `${name}[${i}]`, value: String(v) }));
    return;
  }
  const forceString = typeof value === 'string' || q.chance(0.1);
  plan.params.push({ name, value: paramText(value), ...(forceString && q.chance(0.5) ? { forceString: true } : {}) });
}

const EXTRA_L1: Array<[string[], unknown[]]> = [
  // null: toYaml writes `key: null`, which the API server stores as "".
  [['ipam', 'IPAM', 'Ipam'], ['kubernetes', ' kubernetes ', 'cluster-pool', 'multi-pool', null]],
  [['cluster-name', 'Cluster-Name'], ['default', 'talos-a', 'talos-b', ' talos-a\n', null]],
  [['cluster-id', 'Cluster-ID'], ['0', '7', '1', 7]],
  // Go's strings.Fields splits on U+0085 (unicode.IsSpace) and not on U+FEFF; JavaScript's \s is the other way round.
  [['cluster-pool-ipv4-cidr', 'Cluster-Pool-IPv4-CIDR'], ['10.0.0.0/16 10.1.0.0/16 10.2.0.0/16', '10.0.0.0/8', '10.0.0.0/16', ' 10.0.0.0/16  10.1.0.0/16 ', '10.0.0.0/16\u008510.1.0.0/16', '10.0.0.0/16\ufeff10.1.0.0/16', '\ufeff10.0.0.0/8']],
  [['cluster-pool-ipv4-mask-size', 'Cluster-Pool-IPv4-Mask-Size'], ['24', '26', ' 24']],
  [['routing-mode', 'Routing-Mode'], ['native', 'tunnel']],
  [['tunnel-protocol'], ['geneve', 'vxlan']],
  [['ipv4-native-routing-cidr'], ['10.0.0.0/8', '10.244.0.0/16']],
  [['enable-wireguard', 'Enable-WireGuard'], ['true', 'false']],
  [['enable-ipsec'], ['true', 'false']],
];

/** One Cilium source's L1 values: the baseline's, mostly; sometimes one or two changed or respelled. */
function l1Plan(q: Pick, base: Baseline): L1Plan {
  const plan: L1Plan = { tree: structuredClone(base.l1), extra: {}, params: [] };
  // The baseline's own values, sometimes through parameters instead (the same outcome).
  const leaves: string[][] = [];
  const walk = (o: Obj, at: string[]): void => {
    for (const [k, v] of Object.entries(o)) v && typeof v === 'object' && !Array.isArray(v) ? walk(v as Obj, [...at, k]) : leaves.push([...at, k]);
  };
  walk(base.l1, []);
  if (q.chance(0.15)) {
    const leaf = q.one(leaves);
    deliver(q, plan, leaf, getPath(base.l1, leaf));
  }
  const pool = (getPath(base.l1, POOL) as string[] | undefined) ?? DEFAULT_POOL;
  const changes = q.chance(0.6) ? 0 : 1 + q.int(2);
  for (let i = 0; i < changes; i++) {
    switch (q.int(12)) {
      case 0:
      case 1:
        deliver(q, plan, ['ipam', 'mode'], q.one(['kubernetes', 'cluster-pool', 'multi-pool', '', null]));
        break;
      case 2:
        deliver(q, plan, ['cluster', 'name'], q.one(['default', 'talos-a', 'talos-b', 'prod-1']));
        break;
      case 3:
        deliver(q, plan, ['cluster', 'id'], q.one([0, 1, '1', 200, 7]));
        break;
      case 4: {
        const lists = [pool, [...pool, '10.2.0.0/16'], [...pool].reverse(), [pool[0], '10.9.0.0/16'], pool.slice(0, 1), pool.join(' '), pool.join(','), pool[0]];
        deliver(q, plan, POOL, q.one(lists));
        break;
      }
      case 5: {
        // Every element by index (--set replaces the whole list; an index left out would be null,
        // which the chart's schema refuses): appended, or one element changed.
        const list = q.chance(0.5) ? [...pool, '10.2.0.0/16'] : pool.map((x, j) => (j === pool.length - 1 ? q.one(['10.9.0.0/16', x]) : x));
        deletePath(plan.tree, POOL);
        list.forEach((x, j) => plan.params.push({ name: `${POOL.join('.')}[${j}]`, value: x }));
        break;
      }
      case 6:
        deliver(q, plan, MASK, q.one([24, '24', 26]));
        break;
      case 7:
        deliver(q, plan, ['routingMode'], q.one(['native', 'tunnel', '']));
        if (q.chance(0.7)) deliver(q, plan, ['ipv4NativeRoutingCIDR'], q.one(['10.0.0.0/8', '10.244.0.0/16', '']));
        break;
      case 8:
        deliver(q, plan, ['tunnelProtocol'], q.one(['geneve', 'vxlan', '']));
        break;
      case 9:
        deliver(q, plan, ['aksbyocni', 'enabled'], q.one([true, false]));
        break;
      case 10:
        deliver(q, plan, ['encryption', 'enabled'], q.one([true, false]));
        if (q.chance(0.6)) deliver(q, plan, ['encryption', 'type'], q.one(['wireguard', 'ipsec']));
        break;
      default: {
        // extraConfig overrides what the chart writes (same spelling), or adds a second spelling.
        const [keys, values] = q.one(EXTRA_L1);
        const key = q.one(keys);
        const value = q.one(values);
        if (q.chance(0.7)) plan.extra[key] = value;
        else plan.params.push({ name: `extraConfig.${key}`, value: String(value), ...(q.chance(0.6) ? { forceString: true } : {}) });
        break;
      }
    }
  }
  return plan;
}

/** The L1 values as lines of a values string: flow style, with numbers sometimes in YAML 1.1 spellings. */
function l1Yaml(q: Pick, tree: Obj): string {
  const respell = (n: number): string => q.one([`0${n.toString(8)}`, `0x${n.toString(16)}`, `${n}.0`, `+${n}`, `"${n}"`]);
  return Object.entries(tree)
    .map(([k, v]) => {
      let line = JSON.stringify(v);
      if (q.chance(0.15)) line = line.replace(/:(\d+)([,}\]])/, (_, n: string, end: string) => `: ${respell(Number(n))}${end}`);
      return `${k}: ${line}\n`;
    })
    .join('');
}

/** Where L1's draws go for one Application: its own stream and the baseline it varies. */
interface L1Context {
  q: Pick;
  base: Baseline;
}

function helmSection(p: Pick, l1c: L1Context): Obj {
  const helm: Obj = {};
  const plan = talosPlan(p);
  const l1 = l1Plan(l1c.q, l1c.base);
  const style = p.int(3);
  if (style === 0) helm.values = valuesString(p, plan, l1, l1c.q);
  else if (style === 1) helm.valuesObject = valuesObject(p, plan, l1);
  else {
    helm.valuesObject = valuesObject(p, plan, l1);
    if (p.chance(0.5)) helm.values = valuesString(p, plan, l1, l1c.q);
  }
  if (p.chance(0.5)) helm.parameters = parameters(p);
  if (plan.params.length > 0) helm.parameters = [...(helm.parameters ?? []), ...plan.params];
  if (l1.params.length > 0) helm.parameters = [...(helm.parameters ?? []), ...l1.params];
  if (p.chance(0.15)) helm.releaseName = p.one(['cilium', 'cni', 'Cilium', '']);
  if (p.chance(0.1)) helm.namespace = p.one(['kube-system', 'cilium', '']);
  return helm;
}

function ciliumSource(p: Pick, l1c: L1Context): Obj {
  return {
    repoURL: p.one(['https://helm.cilium.io/', 'https://helm.cilium.io']),
    chart: 'cilium',
    targetRevision: '1.18.2',
    helm: helmSection(p, l1c),
  };
}

/** One generated case: the Application, the baseline the cluster runs, and how it is written. */
export interface Case {
  app: Obj;
  /** Index into BASELINES: what the live cilium-config is (and, on UPDATE, the old Application). */
  baseline: number;
  /** UPDATE: the old object is baselineApplication(BASELINES[baseline]). */
  operation: 'CREATE' | 'UPDATE';
}

/** One generated case (the Application never carries value files: everything it sets is visible). */
export function generateCase(seed: number): Case {
  const p = new Pick(rng(seed));
  // L1's draws: a second stream, so that the first one gives the same Application as before L1.
  const q = new Pick(rng(seed ^ 0x5f3759df));
  const baseline = q.int(BASELINES.length);
  const operation = q.chance(0.25) ? 'UPDATE' : 'CREATE';
  const l1c: L1Context = { q, base: BASELINES[baseline]! };
  const app: Obj = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: p.chance(0.9) ? 'cilium' : p.one(['cni', 'cilium-cni']), namespace: 'argocd' },
    spec: {
      project: 'default',
      destination: { server: 'https://kubernetes.default.svc', namespace: p.chance(0.9) ? 'kube-system' : p.one(['cilium', '']) },
      syncPolicy: { syncOptions: ['ServerSideApply=true'] },
    },
  };
  // This cluster by name, or another cluster (whose cilium-config the view does not show).
  const where = q.int(20);
  if (where < 3) {
    delete app.spec.destination.server;
    app.spec.destination = { ...(where === 0 ? { name: 'in-cluster' } : where === 1 ? { name: 'edge' } : { server: 'https://10.0.0.1:6443' }), ...app.spec.destination };
  }
  if (p.chance(0.2)) {
    app.spec.sources = [ciliumSource(p, l1c), { repoURL: 'https://github.com/example/values.git', targetRevision: 'main', ref: 'values' }];
    if (p.chance(0.3)) app.spec.source = ciliumSource(p, l1c);
  } else {
    app.spec.source = ciliumSource(p, l1c);
  }
  if (p.chance(0.15)) {
    app.operation = { sync: { source: ciliumSource(p, l1c), syncOptions: ['ServerSideApply=true'] } };
  }
  return { app, baseline, operation };
}

export const generateApplication = (seed: number): Obj => generateCase(seed).app;
