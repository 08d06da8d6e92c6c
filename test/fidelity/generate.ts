// A seeded generator of Cilium Applications aimed at what Argo CD and Helm make tricky: values
// strings with anchors, merge keys in any order, tags, duplicate keys and several documents;
// valuesObject; parameters with commas, braces, backslashes, dots, indexes and forceString;
// extraConfig / extraArgs / extraEnv; several sources; a pending operation with its own source;
// the Talos values (capability lists omitted, replaced, with SYS_MODULE, as {a,b} or indexed
// parameters; cgroup auto-mount, hostRoot, extraConfig cgroup-root; privileged; sysctlfix), mostly
// Talos-correct so that the other rules still get exercised.
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

function valuesString(p: Pick, plan: TalosPlan): string {
  const kpr = p.one(KPR_YAML);
  const lines: string[] = [];
  const pieces: string[] = [talosYaml(plan)];
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
  if (p.chance(0.25)) pieces.push(`extraConfig:\n  ${p.one(EXTRA_CONFIG_KEYS)}: ${JSON.stringify(p.one(EXTRA_CONFIG_VALUES))}\n`);
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

function valuesObject(p: Pick, plan: TalosPlan): Obj {
  const o: Obj = structuredClone(plan.tree);
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

function helmSection(p: Pick): Obj {
  const helm: Obj = {};
  const plan = talosPlan(p);
  const style = p.int(3);
  if (style === 0) helm.values = valuesString(p, plan);
  else if (style === 1) helm.valuesObject = valuesObject(p, plan);
  else {
    helm.valuesObject = valuesObject(p, plan);
    if (p.chance(0.5)) helm.values = valuesString(p, plan);
  }
  if (p.chance(0.5)) helm.parameters = parameters(p);
  if (plan.params.length > 0) helm.parameters = [...(helm.parameters ?? []), ...plan.params];
  if (p.chance(0.15)) helm.releaseName = p.one(['cilium', 'cni', 'Cilium', '']);
  if (p.chance(0.1)) helm.namespace = p.one(['kube-system', 'cilium', '']);
  return helm;
}

function ciliumSource(p: Pick): Obj {
  return {
    repoURL: p.one(['https://helm.cilium.io/', 'https://helm.cilium.io']),
    chart: 'cilium',
    targetRevision: '1.18.2',
    helm: helmSection(p),
  };
}

/** One generated Application (never carries value files: everything it sets is visible). */
export function generateApplication(seed: number): Obj {
  const p = new Pick(rng(seed));
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
  if (p.chance(0.2)) {
    app.spec.sources = [ciliumSource(p), { repoURL: 'https://github.com/example/values.git', targetRevision: 'main', ref: 'values' }];
    if (p.chance(0.3)) app.spec.source = ciliumSource(p);
  } else {
    app.spec.source = ciliumSource(p);
  }
  if (p.chance(0.15)) {
    app.operation = { sync: { source: ciliumSource(p), syncOptions: ['ServerSideApply=true'] } };
  }
  return app;
}
