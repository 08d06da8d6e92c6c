// Types shared by the policy layer. Nothing here knows about HTTP or AdmissionReview envelopes:
// the admission layer translates a review into a PolicyRequest and a Decision back into a response.

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** A JSON object as it arrives from the API server (already parsed, never trusted). */
export type JsonObject = { [key: string]: unknown };

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
}

/** What a rule sees of one admission request (or one document checked offline). */
export interface PolicyRequest {
  operation: Operation;
  kind: GroupVersionKind;
  namespace?: string;
  name?: string;
  /** e.g. "status": writes to a subresource never change what Argo CD renders. */
  subResource?: string;
  object: JsonObject | null;
  oldObject: JsonObject | null;
  userInfo: UserInfo;
  dryRun: boolean;
}

export type Mode = 'deny' | 'warn' | 'audit';

/** Every rule the engine knows. Each one has a mode in the policy file. */
export const RULE_IDS = [
  'R1', // release namespace is kube-system
  'R2', // release name is cilium
  'R3', // syncOptions contain exactly ServerSideApply=true
  'R3.replace', // Replace=true beside it (takes precedence over SSA)
  'R4', // effective kubeProxyReplacement is true
  'R4.endpoint', // k8sServiceHost/k8sServicePort set (deny when empty) and on KubePrism (warn otherwise)
  'R5', // operation.sync.manifests bypass the repository entirely
  'V1', // Helm values must be readable within bounds
  'A1', // an ApplicationSet's Cilium Applications can be judged before generation
  'D1', // no cascading delete of the Cilium Application
  'U1', // the chart version stays within one minor of what runs
  'L1', // no live change of settings Cilium cannot change on a running cluster (IPAM, cluster name/id, pod CIDRs)
  'C1', // cilium-config keeps kube-proxy-replacement "true"
  'C2', // no Cilium config outside kube-system
  'M1', // argocd-cm excludes cilium.io/CiliumIdentity
  'T1', // Talos: no agent DaemonSet container gets SYS_MODULE or SYS_BOOT
  'T2', // Talos: no cgroup auto-mount, cgroup root /sys/fs/cgroup
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/**
 * One thing a rule found. `certain` is false where the answer depends on something the webhook
 * cannot see (a value file, a generator that runs later): such findings are never stronger than
 * a warning.
 */
export interface Violation {
  rule: RuleId;
  message: string;
  path: string;
  /**
   * What the finding is about, independent of the field that expressed it (`kubeProxyReplacement`,
   * `namespace`): an update is judged against what the old object would have rendered, so moving
   * the same outcome to another field is not a change, and a new field that changes it is.
   */
  subject?: string;
  value?: unknown;
  certain: boolean;
}

export type Verdict = 'deny' | 'warn' | 'audit' | 'break-glass' | 'mutate';

export interface Finding extends Violation {
  verdict: Verdict;
  /** Why the verdict is weaker than the rule's mode, when it is. */
  downgrade?: 'unverifiable' | 'pre-existing' | 'break-glass';
  /** The rule's documentation page (policy `docs.ruleURL`), when links are on. */
  docs?: string;
}

export interface Decision {
  allowed: boolean;
  findings: Finding[];
  /** Set when allowed is false: one message that tells a person what to change. */
  message?: string;
  warnings: string[];
  /** For mutations: the mutated copy of request.object. The admission layer diffs it. */
  patched?: JsonObject;
  /** Why no rule was evaluated, when none was (not ours, status-only update...). */
  skipped?: string;
}
