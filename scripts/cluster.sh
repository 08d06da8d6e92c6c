#!/usr/bin/env bash
# The chart on a real node (npm run test:cluster, issue 18): tap over dist/test/node, one file at a time.
# Each file starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a containerd and a
# kubelet under a directory of its own, with the CNI bridge cgtest0; whatever a killed test left behind
# (processes, runc containers, mounts, pod network namespaces, the bridge) is removed here.
# Needs root (bridge, containerd, kubelet).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "test:cluster needs root: it creates a bridge and runs containerd and a kubelet" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cg-cluster.XXXXXX")
export CILIUM_GUARD_TEST_TMP="$work"
bridge="${CILIUM_GUARD_TEST_BRIDGE:-cgtest0}"
subnet="${CILIUM_GUARD_TEST_SUBNET:-10.123.45}"
# What the kubelet writes whatever its configuration says, and the sysctls it sets: put back as found.
host_paths=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni)
created=()
for p in "${host_paths[@]}"; do [ -e "$p" ] || created+=("$p"); done
sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
saved=()
for s in "${sysctls[@]}"; do saved+=("$s=$(sysctl -n "$s" 2>/dev/null)"); done
cleanup() {
  # runc containers under each cluster's private runc root, then the shims and processes started from $work.
  for root in "$work"/*/state/runc/*; do
    [ -d "$root" ] || continue
    for id in $(ls "$root"); do runc --root "$root" kill --all "$id" KILL 2>/dev/null; runc --root "$root" delete --force "$id" 2>/dev/null; done
  done
  pkill -KILL -f -- "$work/" 2>/dev/null || true
  for ns in $(ls /run/netns 2>/dev/null); do
    case "$ns" in cni-*) ip -n "$ns" -4 -o addr 2>/dev/null | grep -q " ${subnet}\." && ip netns delete "$ns" ;; esac
  done
  grep -o " $work/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge"
  for d in /sys/fs/cgroup/*/kubepods; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
  for p in "${created[@]}"; do rm -rf "$p"; done
  for kv in "${saved[@]}"; do [ -n "${kv#*=}" ] && sysctl -q -w "$kv" >/dev/null 2>&1; done
  rm -rf "$work"
  return 0
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP
node_bin=${NODE:-node}
if [ $# -gt 0 ]; then files=("$@"); else files=(dist/test/node/*.test.js); fi
"$node_bin" node_modules/.bin/tap --jobs=1 --disable-coverage --timeout=900 "${files[@]}"
