// C1 and C2: the cilium-config ConfigMap the agent actually reads.
import type { PolicyConfig } from './config.js';
import { goTrimSpace } from './gostrings.js';
import { obj, str } from './identify.js';
import type { JsonObject, Violation } from './types.js';

const KEY = 'kube-proxy-replacement';

/**
 * A binaryData file's bytes as text. Invalid UTF-8 becomes U+FFFD, which is no space to Go either
 * (bytes.TrimSpace stops at an invalid byte as it stops at U+FFFD), so trimming the decoded text
 * leaves "true" exactly when the agent's trim of the raw bytes does.
 */
function decodeBinary(v: unknown): string {
  try {
    return Buffer.from(str(v), 'base64').toString('utf8');
  } catch {
    return '';
  }
}

/** Names the characters a person cannot see that are still there after the agent's trim. */
function invisible(read: string): string {
  const hidden = [...new Set([...read].filter((c) => !/^[\x20-\x7e]$/.test(c)))].map(
    (c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
  return hidden.length === 0 ? '' : ` (after the agent trims it, it still holds ${hidden.join(', ')})`;
}

/**
 * C1: kube-system/cilium-config must keep kube-proxy-replacement "true". The agent trims each
 * mounted key with Go's bytes.TrimSpace (pkg/option ReadDirConfig), not JavaScript's trim: a
 * leading byte-order mark stays, a trailing U+0085 goes. A missing key means "false" since 1.15.
 * Option names are case-insensitive to viper, and binaryData keys are mounted as files too.
 */
export function kubeProxyReplacementViolations(cm: JsonObject, config: PolicyConfig): Violation[] {
  const data = obj(cm.data);
  const binary = obj(cm.binaryData);
  const on = config.cilium.kubeProxyReplacementOn;
  const out: Violation[] = [];
  // Only keys that spell the option (cilium-config holds a hundred others): compare before building.
  const entries: Array<{ path: string; key: string; value: string }> = [];
  for (const key of Object.keys(data)) if (key.length === KEY.length && key.toLowerCase() === KEY) entries.push({ path: `data.${key}`, key, value: str(data[key]) });
  for (const key of Object.keys(binary)) {
    if (key.length === KEY.length && key.toLowerCase() === KEY) entries.push({ path: `binaryData.${key}`, key, value: decodeBinary(binary[key]) });
  }
  const exact = entries.find((e) => e.key === KEY);
  if (!exact) {
    out.push({
      rule: 'C1',
      path: `data.${KEY}`,
      certain: true,
      message: `data["${KEY}"] is missing, which Cilium reads as "false" (kube-proxy replacement off) on a cluster without kube-proxy; set it to "true"`,
    });
  }
  for (const e of entries) {
    const read = goTrimSpace(e.value);
    if (!on.includes(read)) {
      out.push({
        rule: 'C1',
        path: e.path,
        value: e.value,
        certain: true,
        message:
          e.key === KEY
            ? `${e.path} is ${JSON.stringify(e.value)}${invisible(read)}, which switches kube-proxy replacement off on a cluster without kube-proxy (only "true" keeps it on, case-sensitive); set it to "true"`
            : `${e.path} is ${JSON.stringify(e.value)}; Cilium reads option names case-insensitively, so this switches kube-proxy replacement off; remove it`,
      });
    }
  }
  return out;
}

export function deleteCiliumConfigViolations(config: PolicyConfig): Violation[] {
  return [
    {
      rule: 'C1',
      path: 'metadata.name',
      value: config.cilium.configMapName,
      certain: true,
      message: `deleting ${config.cilium.namespace}/${config.cilium.configMapName} leaves Cilium agents without kube-proxy replacement when they restart; change it through the Cilium Application instead`,
    },
  ];
}

/**
 * Keys the chart renders into cilium-config whatever the values (templates/cilium-configmap.yaml,
 * 1.18): the agent's own options. A ConfigMap that holds two of them is Cilium's configuration.
 */
export const CILIUM_CONFIG_KEYS = ['kube-proxy-replacement', 'ipam', 'routing-mode', 'tunnel-protocol', 'cluster-name', 'identity-allocation-mode'] as const;
const CILIUM_CONFIG_KEYS_NEEDED = 2;

/**
 * Does an Argo CD app instance name (`<name>` for an Application in the control-plane namespace,
 * `<namespace>_<name>` elsewhere; util/argo ParseInstanceName splits at the first "_") name the
 * Cilium Application? That is a configured identify.applications entry, or an Application named
 * like the configured release (whose default release name is its own name), compared exactly.
 */
function isCiliumInstance(instance: string, config: PolicyConfig): boolean {
  if (instance === '') return false;
  const cut = instance.indexOf('_');
  const ns = cut >= 0 ? instance.slice(0, cut) : null;
  const name = cut >= 0 ? instance.slice(cut + 1) : instance;
  if (name === config.cilium.releaseName) return true;
  return config.identify.applications.some((id) => {
    const [appNs = '', appName = ''] = id.split('/');
    if (appName !== name) return false;
    // A bare name is the Application in the control-plane namespace: it must be one Argo CD's
    // own config may live in (any, when none is configured).
    return ns !== null ? ns === appNs : config.argocd.namespaces.length === 0 || config.argocd.namespaces.includes(appNs);
  });
}

/**
 * Argo CD's reading of a tracking-id (resource_tracking.go ParseAppInstanceValue) and its check
 * that the id is this object's own and not one copied from another (state.go isSelfReferencedObj):
 * the app instance name, or null.
 */
function trackedBy(trackingId: string, namespace: string, name: string): string | null {
  const parts = trackingId.split(':');
  if (parts.length < 3) return null;
  const [app = '', groupKind = '', ...rest] = parts;
  const gk = groupKind.split('/');
  const nsName = rest.join(':').split('/');
  if (gk.length !== 2 || nsName.length !== 2) return null;
  const [group, kind] = gk;
  const [ns, objName] = nsName;
  if (group !== '' || kind !== 'ConfigMap' || objName !== name || (namespace !== '' && ns !== namespace)) return null;
  return app;
}

/**
 * Why a ConfigMap named cilium-config outside kube-system is Cilium's, or null if it is not. It is
 * Cilium's when Argo CD tracks it for the Cilium Application (annotation argocd.argoproj.io/tracking-id
 * or, Argo CD 2.x, label app.kubernetes.io/instance), when Helm owns it for the configured release
 * (meta.helm.sh/release-name and release-namespace, written together by helm install/upgrade), or
 * when it holds the agent's own options. Names are compared exactly: "cilium-docs" is not "cilium".
 */
export function ciliumConfigMarker(cm: JsonObject, config: PolicyConfig, namespace?: string): string | null {
  const meta = obj(cm.metadata);
  const labels = obj(meta.labels);
  const annotations = obj(meta.annotations);
  const ns = namespace ?? str(meta.namespace);
  const tracking = str(annotations['argocd.argoproj.io/tracking-id']);
  const app = trackedBy(tracking, ns, str(meta.name));
  if (app !== null && isCiliumInstance(app, config)) return `annotation argocd.argoproj.io/tracking-id=${tracking}`;
  const instance = str(labels['app.kubernetes.io/instance']);
  if (isCiliumInstance(instance, config)) return `label app.kubernetes.io/instance=${instance}`;
  const release = str(annotations['meta.helm.sh/release-name']);
  if (release === config.cilium.releaseName && str(annotations['meta.helm.sh/release-namespace']) !== '') {
    return `annotation meta.helm.sh/release-name=${release}`;
  }
  const data = obj(cm.data);
  const binary = obj(cm.binaryData);
  const keys = CILIUM_CONFIG_KEYS.filter((k) => Object.hasOwn(data, k) || Object.hasOwn(binary, k));
  if (keys.length >= CILIUM_CONFIG_KEYS_NEEDED) return `it holds the Cilium agent's keys ${keys.join(', ')}`;
  return null;
}

export function misplacedConfigViolations(cm: JsonObject, namespace: string, marker: string, config: PolicyConfig): Violation[] {
  return [
    {
      rule: 'C2',
      path: 'metadata.namespace',
      value: namespace,
      certain: true,
      message: `this is Cilium's configuration (${marker}) in namespace "${namespace}": a second Cilium would run beside the one in ${config.cilium.namespace}. Render the Cilium release into ${config.cilium.namespace} instead`,
    },
  ];
}
