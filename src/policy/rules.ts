// The rule catalogue: what each rule protects and where its documentation page is. Pure data, so
// `cilium-guard rules`, denials, warnings, Events and PolicyReports name the same page.
import type { PolicyConfig } from './config.js';
import { RULE_IDS, type RuleId } from './types.js';

/** What each rule protects, in one line (the page says how it decides). */
export const RULE_PROTECTS: Record<RuleId, string> = {
  R1: 'every object of the Cilium release lands in kube-system (no second Cilium)',
  R2: 'the Helm release name stays cilium',
  R3: 'ServerSideApply=true on every sync of Cilium (schema errors without it)',
  'R3.replace': 'no Replace=true, which overrides server-side apply',
  R4: 'the agent keeps kube-proxy replacement on (the cluster has no kube-proxy)',
  'R4.endpoint': 'the agent can reach the API server: k8sServiceHost/k8sServicePort set, on KubePrism',
  R5: 'no sync from local manifests (operation.sync.manifests)',
  V1: 'Helm values are readable, within bounds',
  A1: 'ApplicationSets whose Cilium Applications depend on generator output are flagged',
  D1: 'deleting the Cilium Application never cascades to Cilium',
  U1: 'the chart version stays within one minor of what runs',
  L1: 'IPAM, cluster name/id and pod CIDRs do not change on a running Cilium',
  C1: 'kube-system/cilium-config keeps kube-proxy-replacement: "true"',
  C2: 'no Cilium configuration outside kube-system',
  M1: 'argocd-cm excludes CiliumIdentity (mutation: adds the entry)',
  T1: 'Talos: no SYS_MODULE/SYS_BOOT for the Cilium DaemonSet',
  T2: 'Talos: no cgroup auto-mount, cgroup root /sys/fs/cgroup',
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
