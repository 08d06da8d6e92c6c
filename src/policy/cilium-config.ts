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

function instanceName(value: string): string {
  // <namespace>_<name> for Applications outside the control-plane namespace.
  const i = value.indexOf('_');
  return i >= 0 ? value.slice(i + 1) : value;
}

/** Why a ConfigMap named cilium-config outside kube-system is Cilium's, or null if it is not. */
export function ciliumConfigMarker(cm: JsonObject, config: PolicyConfig): string | null {
  const meta = obj(cm.metadata);
  const labels = obj(meta.labels);
  const annotations = obj(meta.annotations);
  const names = new Set([
    config.cilium.releaseName,
    ...config.identify.applications.map((a) => a.split('/')[1] ?? ''),
  ]);
  const looksCilium = (v: string): boolean => names.has(v) || /cilium/i.test(v);
  if (str(labels['app.kubernetes.io/part-of']) === 'cilium') return 'label app.kubernetes.io/part-of=cilium';
  if (/^cilium-\d/.test(str(labels['helm.sh/chart']))) return `label helm.sh/chart=${str(labels['helm.sh/chart'])}`;
  const release = str(annotations['meta.helm.sh/release-name']);
  if (release !== '' && looksCilium(release)) return `annotation meta.helm.sh/release-name=${release}`;
  const tracking = str(annotations['argocd.argoproj.io/tracking-id']);
  const app = tracking.split(':')[0] ?? '';
  if (tracking !== '' && looksCilium(instanceName(app))) return `annotation argocd.argoproj.io/tracking-id=${tracking}`;
  const instance = str(labels['app.kubernetes.io/instance']);
  if (instance !== '' && looksCilium(instanceName(instance))) return `label app.kubernetes.io/instance=${instance}`;
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
