// A seeded generator of Cilium Applications aimed at what Argo CD and Helm make tricky: values
// strings with anchors, merge keys in any order, tags, duplicate keys and several documents;
// valuesObject; parameters with commas, braces, backslashes, dots, indexes and forceString;
// extraConfig / extraArgs / extraEnv; several sources; a pending operation with its own source.
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

function valuesString(p: Pick): string {
  const kpr = p.one(KPR_YAML);
  const lines: string[] = [];
  const pieces: string[] = [];
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

function valuesObject(p: Pick): Obj {
  const o: Obj = {};
  if (p.chance(0.9)) Object.assign(o, { k8sServiceHost: 'localhost', k8sServicePort: p.one([7445, '7445']) });
  if (p.chance(0.85)) o.kubeProxyReplacement = p.one(KPR_JSON);
  if (p.chance(0.2)) o.namespaceOverride = p.one(['kube-system', 'cilium', '', null, false]);
  if (p.chance(0.25)) o.extraConfig = { [p.one(EXTRA_CONFIG_KEYS)]: p.one(EXTRA_CONFIG_VALUES) };
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
  const style = p.int(3);
  if (style === 0) helm.values = valuesString(p);
  else if (style === 1) helm.valuesObject = valuesObject(p);
  else {
    helm.valuesObject = valuesObject(p);
    if (p.chance(0.5)) helm.values = valuesString(p);
  }
  if (p.chance(0.5)) helm.parameters = parameters(p);
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
