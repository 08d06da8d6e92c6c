// T1 and T2: the Helm values that break the Cilium DaemonSet on Talos Linux, read from the effective
// values (chart defaults included: lists replace, never merge), as the chart renders them
// (templates/cilium-agent/daemonset.yaml, cilium-configmap.yaml of 1.18).
//
// T1: Talos never grants CAP_SYS_MODULE or CAP_SYS_BOOT, not even to privileged pods; a container
// that asks for one fails with "unable to apply caps: operation not permitted" (siderolabs/talos#5948).
// T2: Talos already mounts cgroup v2 at /sys/fs/cgroup; the chart's mount-cgroup init container
// fails there ("mount-cgroup nsenter: failed to execute /opt/cni/bin/cilium-mount: Permission denied").
import type { PolicyConfig } from './config.js';
import { goTrimSpace } from './gostrings.js';
import type { Violation } from './types.js';
import type { Lookup } from './values/effective.js';
import { ciliumConfigValue, describeValue, goTruth, helmToString, unknownViolation, type ConfigEntry, type SourceView } from './view.js';

/** Capabilities Talos refuses to every process (Talos "process capabilities"). */
export const TALOS_FORBIDDEN_CAPABILITIES = ['SYS_MODULE', 'SYS_BOOT'] as const;

/** The lists Talos documents (deploying-cilium) for the two containers whose defaults hold SYS_MODULE. */
export const TALOS_CAPABILITIES: Record<string, string> = {
  ciliumAgent: '{CHOWN,KILL,NET_ADMIN,NET_RAW,IPC_LOCK,SYS_ADMIN,SYS_RESOURCE,DAC_OVERRIDE,FOWNER,SETGID,SETUID}',
  cleanCiliumState: '{NET_ADMIN,SYS_ADMIN,SYS_RESOURCE}',
  mountCgroup: '{SYS_ADMIN,SYS_CHROOT,SYS_PTRACE}',
  applySysctlOverwrites: '{SYS_ADMIN,SYS_CHROOT,SYS_PTRACE}',
};

export const TALOS_CGROUP_ROOT = '/sys/fs/cgroup';

/** The containers of the agent DaemonSet, their capability list, and the switch that renders them. */
const CONTAINERS: ReadonlyArray<{ key: string; container: string; when: string[] | null }> = [
  { key: 'ciliumAgent', container: 'cilium-agent', when: null },
  { key: 'cleanCiliumState', container: 'clean-cilium-state (init)', when: null },
  { key: 'mountCgroup', container: 'mount-cgroup (init)', when: ['cgroup', 'autoMount', 'enabled'] },
  { key: 'applySysctlOverwrites', container: 'apply-sysctl-overwrites (init)', when: ['sysctlfix', 'enabled'] },
];

/** containerd adds "CAP_" + upper case unless already there, so these all name CAP_SYS_MODULE. */
function capabilityName(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const up = v.toUpperCase();
  return up.startsWith('CAP_') ? up.slice(4) : up;
}

/** The value the template sees, or null when it cannot be known. */
function effective(l: Lookup): { known: true; value: unknown } | { known: false } {
  if (l.state === 'unknown') return { known: false };
  return { known: true, value: l.value };
}

function describeLookup(l: Lookup, key: string): string {
  if (l.state === 'set') return `${key} is ${describeValue(l.value)} (${l.origin.fieldPath})`;
  if (l.state === 'default') {
    // `why` repeats "<key> is not set" when nothing mentions the key; it names the field that deletes it otherwise.
    const plain = l.why.endsWith('is not set, so the chart default applies');
    return `${key} is not set${plain ? '' : ` (${l.why})`}, so the chart default ${describeValue(l.value)} applies`;
  }
  return `${key} cannot be known`;
}

/** T1: no container of the agent DaemonSet asks for a capability Talos refuses. */
export function checkCapabilities(view: SourceView, config: PolicyConfig): Violation[] {
  if (!config.talos.enabled) return [];
  const ev = view.ev;
  const privileged = ev.get(['securityContext', 'privileged']);
  const priv = effective(privileged);
  // `privileged: true` renders no capabilities at all.
  if (priv.known && goTruth(priv.value)) return [];
  const out: Violation[] = [];
  for (const c of CONTAINERS) {
    const subject = `securityContext.capabilities.${c.key}`;
    let gateKnown = true;
    if (c.when) {
      const gate = effective(ev.get(c.when));
      if (gate.known && !goTruth(gate.value)) continue;
      gateKnown = gate.known;
    }
    const caps = ev.get(['securityContext', 'capabilities', c.key]);
    if (caps.state === 'unknown') {
      out.push(unknownViolation('T1', subject, caps, `${TALOS_CAPABILITIES[c.key]} (without ${TALOS_FORBIDDEN_CAPABILITIES.join(' or ')}; Talos refuses them)`));
      continue;
    }
    const list = caps.value;
    const items = Array.isArray(list) ? list : list === undefined || list === null ? [] : [list];
    const bad = [...new Set(items.map(capabilityName).filter((n): n is string => n !== null && (TALOS_FORBIDDEN_CAPABILITIES as readonly string[]).includes(n)))];
    if (bad.length === 0) continue;
    const certain = gateKnown && priv.known;
    const unless = [
      ...(priv.known ? [] : ['securityContext.privileged turns out true']),
      ...(gateKnown ? [] : [`${c.when?.join('.')} turns out false`]),
    ];
    out.push({
      rule: 'T1',
      path: caps.origin.fieldPath,
      subject,
      value: caps.state === 'set' ? caps.value : undefined,
      certain,
      message:
        `${describeLookup(caps, subject)}, which gives the ${c.container} container of the Cilium DaemonSet ${bad.join(' and ')}; ` +
        `Talos never grants ${bad.join(' or ')}, so the pod fails with "unable to apply caps: operation not permitted"` +
        `${unless.length > 0 ? ` (unless ${unless.join(' or ')})` : ''}; ` +
        `set ${subject}="${TALOS_CAPABILITIES[c.key]}" (Talos' documented list; lists replace the chart default, they never merge)`,
    });
  }
  return out;
}

/** T2: no cgroup auto-mount; the agent uses the cgroup v2 mount Talos already has at /sys/fs/cgroup. */
export function checkCgroup(view: SourceView, config: PolicyConfig): Violation[] {
  if (!config.talos.enabled) return [];
  const ev = view.ev;
  const out: Violation[] = [];
  const want = TALOS_CGROUP_ROOT;

  const auto = ev.get(['cgroup', 'autoMount', 'enabled']);
  if (auto.state === 'unknown') out.push(unknownViolation('T2', 'cgroup.autoMount.enabled', auto, 'false'));
  else if (goTruth(auto.value)) {
    out.push({
      rule: 'T2',
      path: auto.origin.fieldPath,
      subject: 'cgroup.autoMount.enabled',
      value: auto.state === 'set' ? auto.value : undefined,
      certain: true,
      message: `${describeLookup(auto, 'cgroup.autoMount.enabled')}, so the DaemonSet gets the mount-cgroup init container, which fails on Talos ("mount-cgroup nsenter: failed to execute /opt/cni/bin/cilium-mount: Permission denied"); set cgroup.autoMount.enabled: false and cgroup.hostRoot: ${want}`,
    });
  }

  // cgroup.hostRoot is the hostPath of the cilium-cgroup volume and, when the key exists, cilium-config's cgroup-root.
  const root = ev.get(['cgroup', 'hostRoot']);
  let chart: ConfigEntry | null = null;
  if (root.state === 'unknown') {
    out.push(unknownViolation('T2', 'cgroup.hostRoot', root, want));
    chart = { key: 'cgroup-root', value: null, raw: undefined, path: root.origin.fieldPath, lookup: root };
  } else {
    const s = root.value === undefined || root.value === null ? null : goTrimSpace(helmToString(root.value));
    if (s !== null) chart = { key: 'cgroup-root', value: s, raw: root.value, path: root.origin.fieldPath };
    if (s !== want) {
      out.push({
        rule: 'T2',
        path: root.origin.fieldPath,
        subject: 'cgroup.hostRoot',
        value: root.state === 'set' ? root.value : undefined,
        certain: true,
        message: `${describeLookup(root, 'cgroup.hostRoot')}; on Talos cgroup v2 is already mounted at ${want}, and Cilium must use that mount (it cannot mount its own): set cgroup.hostRoot: ${want}`,
      });
    }
  }

  // extraConfig is appended to cilium-config after the chart's cgroup-root and can override it.
  const cfg = ciliumConfigValue(ev, 'cgroup-root', chart);
  const fromExtra = (e: ConfigEntry): boolean => e !== chart;
  const deny = (e: ConfigEntry, message: string): Violation => ({ rule: 'T2', path: e.path, subject: 'cgroup-root', value: e.raw, certain: true, message });
  if (cfg.state === 'unknown') {
    out.push(unknownViolation('T2', 'extraConfig.cgroup-root', cfg.lookup, `"${want}" (or leave it out)`));
  } else if (cfg.state === 'not-string') {
    out.push(deny(cfg.entry, `extraConfig["${cfg.entry.key}"] is ${describeValue(cfg.entry.raw)}, not a string: ConfigMap data must be strings, so the API server refuses cilium-config; remove it (cgroup.hostRoot: ${want} sets cgroup-root)`));
  } else if (cfg.state === 'partly-unknown' || cfg.state === 'conflict' || cfg.state === 'known') {
    const off = cfg.entries.find((e) => fromExtra(e) && e.value !== null && e.value !== want);
    if (off) {
      out.push(deny(off, `extraConfig["${off.key}"] is ${describeValue(off.raw)} (${off.path}); the agent reads it as cgroup-root (option names are case-insensitive) and would look for cgroups outside the Talos mount at ${want}; remove it and set cgroup.hostRoot: ${want}`));
    } else if (cfg.state === 'conflict') {
      const keys = cfg.entries.map((e) => JSON.stringify(e.key)).join(' and ');
      const first = cfg.entries.find(fromExtra) ?? cfg.entries[0];
      if (first) out.push(deny(first, `cilium-config would hold ${keys}, which the agent reads as one option with different values, so which one wins is a coin toss; set cgroup.hostRoot: ${want} and remove the extraConfig variants`));
    } else if (cfg.state === 'partly-unknown') {
      const unknown = cfg.entries.find((e) => fromExtra(e) && e.lookup);
      if (unknown?.lookup) out.push(unknownViolation('T2', `extraConfig.${unknown.key}`, unknown.lookup, `"${want}" (or leave it out)`));
    }
  }
  return out;
}

export function talosViolations(view: SourceView, config: PolicyConfig): Violation[] {
  return [...checkCapabilities(view, config), ...checkCgroup(view, config)];
}
