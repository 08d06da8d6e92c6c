// Facts about the Cilium chart (1.18.1 and 1.18.2), derived by rendering it with the real helm
// (test/helpers/cilium-chart-probe.ts); test/policy/chart-data.test.ts re-derives them and fails
// when they differ.

/**
 * Values whose annotations the chart writes onto an object's own metadata, where Argo CD reads
 * `argocd.argoproj.io/sync-options` (gitops-engine sync/resource annotations.go). Annotations on
 * pod templates (`podAnnotations` and the like) never reach Argo CD's sync and are not listed.
 */
export const OBJECT_ANNOTATION_VALUES: readonly string[] = [
  "annotations",
  "authentication.mutual.spire.annotations",
  "authentication.mutual.spire.install.server.annotations",
  "authentication.mutual.spire.install.server.service.annotations",
  "clustermesh.annotations",
  "clustermesh.apiserver.metrics.serviceMonitor.annotations",
  "clustermesh.apiserver.service.annotations",
  "envoy.annotations",
  "hubble.annotations",
  "hubble.metrics.serviceAnnotations",
  "hubble.metrics.serviceMonitor.annotations",
  "hubble.relay.annotations",
  "hubble.ui.annotations",
  "hubble.ui.service.annotations",
  "ingressController.service.annotations",
  "nodeinit.annotations",
  "operator.annotations",
  "operator.prometheus.serviceMonitor.annotations",
  "preflight.annotations",
  "prometheus.serviceMonitor.annotations",
  "secretsNamespaceAnnotations",
  "serviceAccounts.cilium.annotations",
  "serviceAccounts.clustermeshApiserver.annotations",
  "serviceAccounts.clustermeshcertgen.annotations",
  "serviceAccounts.envoy.annotations",
  "serviceAccounts.hubblecertgen.annotations",
  "serviceAccounts.operator.annotations",
  "serviceAccounts.preflight.annotations",
  "serviceAccounts.relay.annotations",
  "serviceAccounts.ui.annotations",
];

/**
 * The chart defaults (values.yaml) the Talos rules read, the same in 1.18.1 and 1.18.2: the webhook
 * has no chart, so these are the bottom layer of the effective values (a partial values.yaml: keys
 * not listed here read as "not set"). Lists come whole: Helm replaces a list, it never merges one.
 */
export const CHART_DEFAULTS = {
  securityContext: {
    privileged: false,
    capabilities: {
      ciliumAgent: ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_MODULE', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'],
      mountCgroup: ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE'],
      applySysctlOverwrites: ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE'],
      cleanCiliumState: ['NET_ADMIN', 'SYS_MODULE', 'SYS_ADMIN', 'SYS_RESOURCE'],
    },
  },
  cgroup: { autoMount: { enabled: true }, hostRoot: '/run/cilium/cgroupv2' },
  sysctlfix: { enabled: true },
  // What the chart writes into cilium-config for the settings L1 guards (live.ts).
  ipam: { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: ['10.0.0.0/8'], clusterPoolIPv4MaskSize: 24 } },
  cluster: { name: 'default', id: 0 },
  aksbyocni: { enabled: false },
  gke: { enabled: false },
  ipv4: { enabled: true },
  routingMode: '',
  tunnelProtocol: '',
  ipv4NativeRoutingCIDR: '',
  encryption: { enabled: false, type: 'ipsec' },
} as const;

/** The paths of CHART_DEFAULTS, which the probe reads from `helm show values`. */
export const CHART_DEFAULT_PATHS: readonly string[] = [
  'securityContext.privileged',
  'securityContext.capabilities.ciliumAgent',
  'securityContext.capabilities.mountCgroup',
  'securityContext.capabilities.applySysctlOverwrites',
  'securityContext.capabilities.cleanCiliumState',
  'cgroup.autoMount.enabled',
  'cgroup.hostRoot',
  'sysctlfix.enabled',
  'ipam.mode',
  'ipam.operator.clusterPoolIPv4PodCIDRList',
  'ipam.operator.clusterPoolIPv4MaskSize',
  'cluster.name',
  'cluster.id',
  'aksbyocni.enabled',
  'gke.enabled',
  'ipv4.enabled',
  'routingMode',
  'tunnelProtocol',
  'ipv4NativeRoutingCIDR',
  'encryption.enabled',
  'encryption.type',
];
