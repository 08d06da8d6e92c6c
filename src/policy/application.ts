// R1-R5, V1 and D1 on one Argo CD Application object.
import type { PolicyConfig } from './config.js';
import {
  collectLayers,
  findKeyAnywhere,
  helmToString,
  lookupValue,
  type HelmLayers,
  type HelmSpec,
  type Lookup,
} from './helm-values.js';
import { ciliumApplicationReason, obj, operationSources, specSources, str, type RenderSource } from './identify.js';
import { checkSyncOptions } from './sync-options.js';
import type { JsonObject, RuleId, Violation } from './types.js';

export const CASCADE_FINALIZERS = [
  'resources-finalizer.argocd.argoproj.io',
  'resources-finalizer.argocd.argoproj.io/foreground',
  'resources-finalizer.argocd.argoproj.io/background',
];

function hiddenLayerOf(src: RenderSource): string | null {
  if (src.kind === 'git-chart') {
    return `the chart directory ${str(src.source.path)} in Git (its values.yaml and .argocd-source*.yaml overrides) that cilium-guard cannot read`;
  }
  return null;
}

/** Turns a lookup that cannot be decided into a warning-strength violation. */
function unknownViolation(rule: RuleId, key: string, lookup: Lookup & { state: 'unknown' }, want: string): Violation {
  return {
    rule,
    path: lookup.path,
    certain: false,
    message: `${key} is not set where cilium-guard can see it and may come from ${lookup.why}; pin ${key}: ${want} in valuesObject or parameters`,
  };
}

function describeValue(v: unknown): string {
  return v === undefined ? 'unset' : JSON.stringify(v);
}

function checkNamespace(app: JsonObject, src: RenderSource, layers: HelmLayers, config: PolicyConfig): Violation[] {
  const want = config.cilium.namespace;
  const helm = obj(src.source.helm);
  const helmNs = str(helm.namespace);
  const destNs = str(obj(obj(app.spec).destination).namespace);
  const out: Violation[] = [];
  if (helmNs !== '' && helmNs !== want) {
    out.push({
      rule: 'R1',
      path: `${src.path}.helm.namespace`,
      value: helmNs,
      certain: true,
      message: `${src.path}.helm.namespace is "${helmNs}", so Cilium would be installed a second time outside ${want}; set it to "${want}" or remove it`,
    });
  } else if (helmNs === '' && destNs === '') {
    out.push({
      rule: 'R1',
      path: 'spec.destination.namespace',
      value: destNs,
      certain: true,
      message: `spec.destination.namespace is empty, so Helm renders Cilium into its default namespace, not ${want}; set spec.destination.namespace: ${want}`,
    });
  } else if (helmNs === '' && destNs !== want) {
    out.push({
      rule: 'R1',
      path: 'spec.destination.namespace',
      value: destNs,
      certain: true,
      message: `spec.destination.namespace is "${destNs}", so Cilium would be installed a second time outside ${want}; set it to "${want}"`,
    });
  }
  const override = lookupValue(layers, ['namespaceOverride']);
  if (override.state === 'set') {
    const s = helmToString(override.value);
    // The chart uses `namespaceOverride | default .Release.Namespace`: empty values fall through.
    const empty = override.value === false || override.value === 0 || s === '';
    if (!empty && s !== want) {
      out.push({
        rule: 'R1',
        path: override.path,
        value: override.value,
        certain: true,
        message: `namespaceOverride is ${describeValue(override.value)} (${override.path}), which moves every Cilium object out of ${want}; remove it or set it to "${want}"`,
      });
    }
  } else if (override.state === 'unknown') {
    out.push(unknownViolation('R1', 'namespaceOverride', override, `"${want}" (or leave it empty)`));
  }
  return out;
}

function checkReleaseName(app: JsonObject, src: RenderSource, config: PolicyConfig): Violation[] {
  const want = config.cilium.releaseName;
  const explicit = str(obj(src.source.helm).releaseName);
  const name = explicit || str(obj(app.metadata).name);
  const path = explicit ? `${src.path}.helm.releaseName` : 'metadata.name';
  if (name.includes('{{')) {
    return [
      {
        rule: 'R2',
        path,
        value: name,
        certain: true,
        message: `${path} is "${name}": Helm runs the release name through its template engine, so the real name cannot be checked; write the literal "${want}"`,
      },
    ];
  }
  if (name === want) return [];
  const how = explicit
    ? `set ${src.path}.helm.releaseName: ${want}`
    : `Argo CD uses metadata.name "${name}" as the release name; set ${src.path}.helm.releaseName: ${want}`;
  return [
    {
      rule: 'R2',
      path,
      value: name,
      certain: true,
      message: `Helm release name is "${name}" but Talos installed Cilium as release "${want}"; a different name installs a second Cilium. ${how}`,
    },
  ];
}

function kprOn(value: string, config: PolicyConfig): boolean {
  return config.cilium.kubeProxyReplacementOn.includes(value);
}

function checkKubeProxyReplacement(layers: HelmLayers, config: PolicyConfig): Violation[] {
  const out: Violation[] = [];
  const fix = 'set kubeProxyReplacement: true (this cluster runs no kube-proxy)';
  const extra = lookupValue(layers, ['extraConfig', 'kube-proxy-replacement']);
  if (extra.state === 'set') {
    // extraConfig is rendered last in cilium-config and overrides the chart's own key.
    const s = helmToString(extra.value).trim();
    if (!kprOn(s, config)) {
      out.push({
        rule: 'R4',
        path: extra.path,
        value: extra.value,
        certain: true,
        message: `extraConfig["kube-proxy-replacement"] is ${describeValue(extra.value)} (${extra.path}) and overrides kubeProxyReplacement in cilium-config; remove it or set it to "true"`,
      });
    }
  } else {
    const kpr = lookupValue(layers, ['kubeProxyReplacement']);
    if (kpr.state === 'set') {
      const s = helmToString(kpr.value);
      if (!kprOn(s, config)) {
        const hint =
          typeof kpr.value === 'string' && s.toLowerCase() === 'true'
            ? ` (the chart compares case-sensitively and accepts only true or false)`
            : typeof kpr.value === 'boolean'
              ? ''
              : s === 'strict'
                ? ' ("strict" is only honoured by Cilium 1.14)'
                : '';
        out.push({
          rule: 'R4',
          path: kpr.path,
          value: kpr.value,
          certain: true,
          message: `kubeProxyReplacement is ${describeValue(kpr.value)} at ${kpr.path}${hint}, which switches kube-proxy replacement off; ${fix}`,
        });
      }
    } else if (kpr.state === 'default') {
      out.push({
        rule: 'R4',
        path: kpr.path,
        certain: true,
        message: `kubeProxyReplacement is not set (${kpr.why}) and the chart default is false; ${fix}`,
      });
    } else {
      out.push(unknownViolation('R4', 'kubeProxyReplacement', kpr, 'true'));
    }
  }

  // Viper reads option names case-insensitively, so a case variant in extraConfig counts too.
  const extraConfig = lookupValue(layers, ['extraConfig']);
  if (extraConfig.state === 'set' && extraConfig.value && typeof extraConfig.value === 'object') {
    for (const [k, v] of Object.entries(extraConfig.value as JsonObject)) {
      if (k !== 'kube-proxy-replacement' && k.toLowerCase() === 'kube-proxy-replacement' && !kprOn(helmToString(v).trim(), config)) {
        out.push({
          rule: 'R4',
          path: `${extraConfig.path}.${k}`,
          value: v,
          certain: true,
          message: `extraConfig["${k}"] is ${describeValue(v)}; Cilium reads option names case-insensitively, so this switches kube-proxy replacement off; remove it`,
        });
      }
    }
  }
  const args = lookupValue(layers, ['extraArgs']);
  if (args.state === 'set' && Array.isArray(args.value)) {
    args.value.forEach((a, i) => {
      if (typeof a !== 'string') return;
      const m = /^--?kube-proxy-replacement(?:=(.*))?$/i.exec(a.trim());
      if (!m) return;
      const v = m[1] ?? (Array.isArray(args.value) ? helmToString(args.value[i + 1]) : '');
      if (!kprOn(v.trim(), config)) {
        out.push({
          rule: 'R4',
          path: `${args.path}[${i}]`,
          value: a,
          certain: true,
          message: `extraArgs[${i}] "${a}" overrides kube-proxy replacement on the agent's command line; remove it`,
        });
      }
    });
  }
  const envs = lookupValue(layers, ['extraEnv']);
  if (envs.state === 'set' && Array.isArray(envs.value)) {
    envs.value.forEach((e, i) => {
      const entry = obj(e);
      if (str(entry.name).toUpperCase() === 'CILIUM_KUBE_PROXY_REPLACEMENT' && !kprOn(helmToString(entry.value).trim(), config)) {
        out.push({
          rule: 'R4',
          path: `${envs.path}[${i}]`,
          value: entry.value ?? entry.valueFrom,
          certain: entry.valueFrom === undefined,
          message: `extraEnv[${i}] sets CILIUM_KUBE_PROXY_REPLACEMENT, which overrides kube-proxy replacement in the agent; remove it`,
        });
      }
    });
  }
  return out;
}

function checkEndpoint(layers: HelmLayers, config: PolicyConfig): Violation[] {
  const out: Violation[] = [];
  const ref = lookupValue(layers, ['k8sServiceHostRef', 'name']);
  const pairs: Array<[string, string]> = [
    ['k8sServiceHost', config.cilium.k8sServiceHost],
    ['k8sServicePort', config.cilium.k8sServicePort],
  ];
  for (const [key, want] of pairs) {
    if (key === 'k8sServiceHost' && ref.state === 'set' && helmToString(ref.value) !== '') {
      out.push({
        rule: 'R4.endpoint',
        path: ref.path,
        value: ref.value,
        certain: false,
        message: `k8sServiceHostRef reads the API server host from a ConfigMap cilium-guard cannot see; on Talos use k8sServiceHost: ${want} (KubePrism)`,
      });
      continue;
    }
    const found = lookupValue(layers, [key]);
    if (found.state === 'unknown') {
      out.push(unknownViolation('R4.endpoint', key, found, want));
    } else {
      const s = found.state === 'set' ? helmToString(found.value) : '';
      if (s !== want) {
        out.push({
          rule: 'R4.endpoint',
          path: found.path,
          value: found.state === 'set' ? found.value : undefined,
          certain: true,
          message: `${key} is ${found.state === 'set' ? describeValue(found.value) : 'not set'}; without kube-proxy Cilium must reach the API server through KubePrism: set ${key}: ${want}`,
        });
      }
    }
  }
  return out;
}

/** A chart-level annotation value that switches server-side apply off for Cilium's own objects. */
function checkAnnotationBypass(layers: HelmLayers, config: PolicyConfig): Violation[] {
  return findKeyAnywhere(layers, 'argocd.argoproj.io/sync-options').flatMap(({ path, value }) => {
    const items = helmToString(value)
      .split(',')
      .map((s) => s.trim());
    const bad = items.filter((s) => s === 'ServerSideApply=false' || config.syncOptions.forbidden.includes(s));
    return bad.length === 0
      ? []
      : [
          {
            rule: 'R3' as const,
            path,
            value,
            certain: true,
            message: `the Helm value ${path} puts "argocd.argoproj.io/sync-options: ${bad.join(',')}" on Cilium's objects, which switches server-side apply off for them; remove it`,
          },
        ];
  });
}

function checkSource(app: JsonObject, src: RenderSource, config: PolicyConfig): Violation[] {
  if (src.kind === 'opaque') {
    return [
      {
        rule: 'R4',
        path: src.path,
        certain: false,
        message: `${src.path} renders Cilium through a Kustomize, plugin or directory source whose Helm settings cilium-guard cannot see; the cilium-config check is the only guard left. Prefer the Helm chart source`,
      },
    ];
  }
  const meta = obj(app.metadata);
  const spec = obj(app.spec);
  const layers = collectLayers(
    src.source.helm as HelmSpec | undefined,
    src.path,
    {
      appName: str(meta.name),
      destinationNamespace: str(obj(spec.destination).namespace),
      project: str(spec.project),
      repoURL: str(src.source.repoURL),
      path: str(src.source.path),
      targetRevision: str(src.source.targetRevision),
    },
    hiddenLayerOf(src),
    config,
  );
  return [
    ...layers.errors,
    ...checkNamespace(app, src, layers, config),
    ...checkReleaseName(app, src, config),
    ...checkKubeProxyReplacement(layers, config),
    ...checkEndpoint(layers, config),
    ...checkAnnotationBypass(layers, config),
  ];
}

/** Sources of a Cilium Application that render the chart (all of them if none is recognisable). */
function guardedSources(sources: RenderSource[]): RenderSource[] {
  const cilium = sources.filter((s) => s.cilium);
  return cilium.length > 0 ? cilium : sources;
}

function ignoredNote(v: Violation): Violation {
  return {
    ...v,
    certain: false,
    message: `${v.message} (Argo CD ignores spec.source while spec.sources is set, but it applies again if spec.sources is removed)`,
  };
}

/** Every violation of R1-R5 and V1 in an Application that has been identified as Cilium. */
export function applicationViolations(app: JsonObject, config: PolicyConfig): Violation[] {
  const spec = obj(app.spec);
  const out: Violation[] = [];
  for (const src of guardedSources(specSources(spec, config))) {
    const found = checkSource(app, src, config);
    out.push(...(src.ignored ? found.map(ignoredNote) : found));
  }
  out.push(...checkSyncOptions(obj(spec.syncPolicy).syncOptions, 'spec.syncPolicy.syncOptions', config));

  const sync = obj(obj(app.operation).sync);
  for (const src of guardedSources(operationSources(app, config))) out.push(...checkSource(app, src, config));
  if (Array.isArray(sync.syncOptions)) {
    out.push(...checkSyncOptions(sync.syncOptions, 'operation.sync.syncOptions', config));
  }
  if (Array.isArray(sync.manifests) && sync.manifests.length > 0) {
    out.push({
      rule: 'R5',
      path: 'operation.sync.manifests',
      value: `${sync.manifests.length} manifest(s)`,
      certain: true,
      message: 'operation.sync.manifests syncs local manifests that bypass the Git and Helm sources; sync Cilium from its source instead',
    });
  }
  return out;
}

export function deleteViolations(oldApp: JsonObject, config: PolicyConfig): Violation[] {
  const finalizers = obj(oldApp.metadata).finalizers;
  const cascade = Array.isArray(finalizers) ? finalizers.filter((f) => CASCADE_FINALIZERS.includes(str(f))) : [];
  if (cascade.length === 0) return [];
  const meta = obj(oldApp.metadata);
  return [
    {
      rule: 'D1',
      path: 'metadata.finalizers',
      value: cascade,
      certain: true,
      message: `deleting this Application with finalizer ${cascade.join(', ')} would delete the Cilium DaemonSet and take pod networking down. To remove only the Application, first remove the finalizer: kubectl -n ${str(meta.namespace)} patch application ${str(meta.name)} --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]'`,
    },
  ];
}

export { ciliumApplicationReason };
