// The rule catalogue: what each rule protects and where its documentation page is. Pure data, so
// `cilium-guard rules`, denials, warnings, Events and PolicyReports name the same page.
import type { PolicyConfig } from './config.js';
import { RULE_IDS, type RuleId } from './types.js';

/** What each rule protects, in one line (the page says how it decides). */
export const RULE_PROTECTS: Record<RuleId, string> = {
  R1: 'The Cilium Application deploys into kube-system, where Talos installed it (no second Cilium)',
  R2: 'The Helm release stays named cilium, so Argo CD adopts the Talos-installed release instead of adding one',
  R3: "syncOptions carry ServerSideApply=true (Cilium's CRDs and large objects fail client-side apply)",
  'R3.replace': 'No Replace=true beside ServerSideApply (Replace takes precedence over server-side apply)',
  R4: 'kubeProxyReplacement stays true on a cluster without kube-proxy',
  'R4.endpoint': 'k8sServiceHost/k8sServicePort point the agent at the API server (KubePrism localhost:7445 on Talos)',
  R5: 'No sync with inline manifests that bypass the repository',
  V1: 'Helm values are readable within bounds (an unreadable value cannot be judged)',
  A1: "An ApplicationSet's Cilium Applications can be judged before they are generated",
  D1: 'No cascading delete of the Cilium Application (it would delete the CNI)',
  U1: "The chart version stays within one minor of the running Cilium's",
  L1: 'No live change of settings Cilium cannot change on a running cluster (IPAM, cluster name and id, pod CIDRs)',
  C1: 'cilium-config keeps kube-proxy-replacement "true"',
  C2: 'No Cilium configuration outside kube-system (a second Cilium)',
  M1: 'argocd-cm excludes cilium.io/CiliumIdentity, so Cilium stays Synced',
  T1: 'Talos: no agent container gets SYS_MODULE or SYS_BOOT',
  T2: 'Talos: no cgroup auto-mount; cgroup root /sys/fs/cgroup',
};

export const DEFAULT_RULE_DOCS_URL = 'https://github.com/cilium-guard/cilium-guard/blob/main/docs/rules/{rule}.md';

/** The documentation page of a rule under this policy, or undefined when links are off (`docs.ruleURL: ""`). */
export function ruleDocsURL(rule: RuleId, config: PolicyConfig): string | undefined {
  const template = config.docs.ruleURL;
  return template ? template.split('{rule}').join(rule) : undefined;
}

export interface RuleEntry {
  id: RuleId;
  protects: string;
  mode: PolicyConfig['rules'][RuleId]['mode'];
  docs?: string;
}

/** Every rule, in RULE_IDS order, with its mode under `config`. */
export function ruleCatalogue(config: PolicyConfig): RuleEntry[] {
  return RULE_IDS.map((id) => {
    const docs = ruleDocsURL(id, config);
    return { id, protects: RULE_PROTECTS[id], mode: config.rules[id].mode, ...(docs ? { docs } : {}) };
  });
}
