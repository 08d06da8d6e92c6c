#!/usr/bin/env bash
# Builds the third-party binaries the tests need from Go modules (through the Go module proxy) and caches them
# outside the repository, keyed by version, so a second run takes no time.
#
#   scripts/tools.sh helm            -> prints the path of the helm binary
#   scripts/tools.sh kube            -> prints the directory holding kube-apiserver and kubectl
#   scripts/tools.sh etcd            -> prints the path of the etcd binary
#   scripts/tools.sh crds            -> prints the directory holding the PolicyReport CRDs (wgpolicyk8s.io)
#   scripts/tools.sh cilium-crds     -> prints the directory holding Cilium's CiliumNetworkPolicy CRD
#   scripts/tools.sh helm-all        -> prints one line per supported Helm version: VERSION PATH
#   scripts/tools.sh oracle          -> prints the directory holding the Go oracles of test/oracle
#   scripts/tools.sh argocd          -> prints the directory holding the argocd binary (one multi-call binary:
#                                       ARGOCD_BINARY_NAME picks the controller/repo-server/applicationset),
#                                       crds/ and config/ (Argo CD's own CRDs and default config) of that version
#   scripts/tools.sh redis           -> prints the path of redis-server (Debian's, installed with apt-get if missing)
#   scripts/tools.sh node            -> prints the directory holding kubelet, kube-scheduler and
#                                       kube-controller-manager (same Kubernetes version as kube), plus the
#                                       pause/ sandbox image archive; installs Debian's containerd, runc, CNI
#                                       plugins and umoci with apt-get if missing (npm run test:cluster)
#   scripts/tools.sh all             -> builds everything but argocd, redis and node (their suites build those)
#
# Versions are pinned here and nowhere else.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.1}"          # Argo CD 3.6 renders charts with Helm v4
# Every Helm an Argo CD release we support bundles (hack/tool-versions.sh): 3.4 -> 3.19.4, 3.5 -> 4.2.1, 3.6 -> 4.3.1.
HELM_VERSIONS="${HELM_VERSIONS:-v3.19.4 v4.2.1 v4.3.1}"
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"         # the release the protocol reference was read at
ETCD_VERSION="${ETCD_VERSION:-v3.6.5}"          # an etcd 3.6 release, as Kubernetes 1.36 expects
KYVERNO_VERSION="${KYVERNO_VERSION:-v1.13.0}"   # source of the wgpolicyk8s.io/v1alpha2 PolicyReport CRDs
ARGOCD_VERSION="${ARGOCD_VERSION:-v3.6.1}"      # the real Argo CD of npm run test:argocd
ARGOCD_GO="${ARGOCD_GO:-go1.27.4}"              # Argo CD 3.6 needs Go >= 1.27.0 (the proxy serves this toolchain)
CILIUM_VERSION="${CILIUM_VERSION:-v1.18.1}"     # the Cilium Talos bootstraps here (../shared/upstream/cilium)

CACHE="${CILIUM_GUARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-guard/tools}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0

log() { printf '[tools] %s\n' "$*" >&2; }

build_helm() { # $1: version (default $HELM_VERSION)
  local version="${1:-$HELM_VERSION}"
  local dir="$CACHE/helm-$version"
  local major="${version%%.*}"
  if [[ ! -x "$dir/helm" ]]; then
    log "building helm $version from helm.sh/helm/$major (first run only, a few minutes on 2 cores)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    GOBIN="$dir.tmp" go install "helm.sh/helm/$major/cmd/helm@$version"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir/helm"
}

build_helm_all() {
  local v
  for v in $HELM_VERSIONS; do echo "$v $(build_helm "$v")"; done
}

# The Go oracles of test/oracle (upstream code called directly, for differential tests), rebuilt when
# anything in that folder changes.
build_oracle() {
  local src
  src="$(cd "$(dirname "$0")/../test/oracle" && pwd)"
  local key
  key="$(cd "$src" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  local dir="$CACHE/oracle-$key"
  if [[ ! -d "$dir" ]]; then
    log "building the Go oracles of test/oracle"
    # A private temporary folder: test files that start at the same time may build at once.
    local tmp
    mkdir -p "$CACHE" && tmp="$(mktemp -d "$CACHE/oracle-$key.XXXXXX")"
    (cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$tmp/" ./cmd/...)
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  fi
  echo "$dir"
}

build_etcd() {
  local dir="$CACHE/etcd-$ETCD_VERSION"
  if [[ ! -x "$dir/etcd" ]]; then
    log "building etcd $ETCD_VERSION from go.etcd.io/etcd/server/v3 (first run only, a few minutes)"
    # go install refuses modules with replace directives; a wrapper module uses the published
    # go.etcd.io/etcd/* modules of the same version instead.
    local work="$CACHE/etcd-$ETCD_VERSION.mod"
    rm -rf "$work" "$dir.tmp" && mkdir -p "$work" "$dir.tmp"
    (cd "$work" && go mod init cilium-guard.local/etcdtool >/dev/null 2>&1 \
      && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null \
      && go build -trimpath -o "$dir.tmp/etcd" go.etcd.io/etcd/server/v3)
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir/etcd"
}

build_kube() {
  local dir="$CACHE/kube-$KUBE_VERSION"
  if [[ ! -x "$dir/kube-apiserver" || ! -x "$dir/kubectl" ]]; then
    log "building kube-apiserver and kubectl $KUBE_VERSION from k8s.io/kubernetes (first run only, 10-20 minutes on 2 cores)"
    local work="$CACHE/kube-$KUBE_VERSION.mod"
    kube_wrapper_module "$work" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
    mkdir -p "$dir.tmp"
    local ldflags
    ldflags="$(kube_ldflags)"
    (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "$dir.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
    (cd "$work" && go build -trimpath -ldflags "$ldflags" -o "$dir.tmp/kubectl" k8s.io/kubernetes/cmd/kubectl)
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# A module that requires k8s.io/kubernetes $KUBE_VERSION and imports the given main packages.
kube_wrapper_module() { # $1: work dir, rest: packages
  local work="$1"; shift
  rm -rf "$work" && mkdir -p "$work"
  # k8s.io/kubernetes replaces its staging modules with ./staging/src/..., which the module zip lacks:
  # read that replace block and point each staging module at its published v0.Y.Z instead.
  local staging="v0.${KUBE_VERSION#v1.}"
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  {
    echo "module cilium-guard.local/kubetools"
    echo
    echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#\t\1 => \1 '"$staging"'#p' "$gomod"
    echo ")"
  } > "$work/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    local pkg
    for pkg in "$@"; do printf '\t_ "%s"\n' "$pkg"; done
    printf ')\n'
  } > "$work/tools.go"
  (cd "$work" && go mod tidy -e >/dev/null 2>&1 || true)
}

# The version the binaries report (the API server's /version decides Helm's .Capabilities.KubeVersion).
kube_ldflags() {
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$ldflags"
}

# Debian packages, installed with apt-get only when one is missing (apt-get update only then).
apt_ensure() { # args: package names
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]} from Debian (apt-get)"
  local sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  # RUNLEVEL=1 and policy-rc.d: the packages must not start their system services (containerd);
  # the tests start their own, with private sockets and state.
  local policy=/usr/sbin/policy-rc.d created=""
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created=1
  fi
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [[ -n "$created" ]] && $sudo rm -f "$policy"
  return 0
}

# The node of npm run test:cluster: kubelet, kube-scheduler and kube-controller-manager from the same
# k8s.io/kubernetes module as kube-apiserver (one go build, so shared packages compile once), Debian's
# containerd 1.6, runc and CNI plugins, and a pause image built here (registries are unreachable).
build_node() {
  apt_ensure containerd runc containernetworking-plugins umoci gcc libc6-dev >&2
  local dir="$CACHE/kube-node-$KUBE_VERSION"
  if [[ ! -x "$dir/kubelet" || ! -x "$dir/kube-scheduler" || ! -x "$dir/kube-controller-manager" ]]; then
    log "building kubelet, kube-scheduler and kube-controller-manager $KUBE_VERSION from k8s.io/kubernetes (first run only)"
    local work="$CACHE/kube-node-$KUBE_VERSION.mod"
    local pkgs=(k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager)
    kube_wrapper_module "$work" "${pkgs[@]}"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$work" && go build -trimpath -ldflags "$(kube_ldflags)" -o "$dir.tmp/" "${pkgs[@]}")
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  build_pause >/dev/null
  echo "$dir"
}

# The sandbox ("pause") image: Kubernetes' own build/pause/linux/pause.c from the module zip, compiled
# statically and packed with umoci into an OCI archive whose index names it localhost/pause:$PAUSE_TAG
# (containerd's sandbox_image; `ctr -n k8s.io images import --base-name localhost/pause` keeps the tag).
build_pause() {
  local dir="$CACHE/pause-$KUBE_VERSION"
  if [[ ! -f "$dir/pause.tar" ]]; then
    log "building the pause image from k8s.io/kubernetes@$KUBE_VERSION build/pause/linux/pause.c"
    local src
    src="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bundle"
    local tag
    tag="$(sed -n 's/^TAG ?= \(.*\)$/\1/p' "$src/build/pause/Makefile")"
    gcc -static -Os -Wall -Werror -DVERSION="v$tag-cilium-guard" -o "$dir.tmp/pause" "$src/build/pause/linux/pause.c"
    strip "$dir.tmp/pause"
    (cd "$dir.tmp" && umoci init --layout oci >/dev/null && umoci new --image "oci:$tag" \
      && umoci unpack --image "oci:$tag" bundle >/dev/null \
      && install -m 0755 pause bundle/rootfs/pause \
      && umoci repack --image "oci:$tag" bundle \
      && umoci config --image "oci:$tag" --config.entrypoint /pause --config.user 65535:65535 \
      && umoci gc --layout oci)
    (cd "$dir.tmp/oci" && tar --owner=0 --group=0 -cf ../pause.tar .)
    echo "$tag" > "$dir.tmp/tag"
    rm -rf "$dir.tmp/bundle" "$dir.tmp/oci"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# The PolicyReport CRDs `cilium-guard audit --output policyreport` writes for, taken from Kyverno's
# module zip (the Policy WG's own module is not on the proxy). Only two YAML files are kept.
fetch_crds() {
  local dir="$CACHE/policyreport-crds-$KYVERNO_VERSION"
  if [[ ! -f "$dir/wgpolicyk8s.io_policyreports.yaml" ]]; then
    log "fetching the PolicyReport CRDs from github.com/kyverno/kyverno@$KYVERNO_VERSION"
    local src
    # sum.golang.org has no record of this module here, so its checksum cannot be verified by
    # the checksum database; these files are test data, never executed.
    src="$(GONOSUMDB=github.com/kyverno/kyverno go mod download -json "github.com/kyverno/kyverno@$KYVERNO_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    cp "$src/config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml" "$src/config/crds/policyreport/wgpolicyk8s.io_clusterpolicyreports.yaml" "$dir.tmp/"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# The real Argo CD (ARGOCD-E2E-NOTES.md): its go.mod replaces gitops-engine with ./gitops-engine, which the
# module zip lacks, so go install refuses it. A wrapper module requires the published gitops-engine of the
# same version and keeps Argo CD's other replace lines. Only this build uses the newer Go toolchain.
build_argocd() {
  local dir="$CACHE/argocd-$ARGOCD_VERSION"
  if [[ ! -x "$dir/argocd" || ! -d "$dir/crds" || ! -d "$dir/config" ]]; then
    log "building argocd $ARGOCD_VERSION from github.com/argoproj/argo-cd/v3 with $ARGOCD_GO (first run only, 10-30 minutes on 2 cores)"
    local work="$CACHE/argocd-$ARGOCD_VERSION.mod"
    rm -rf "$work" "$dir.tmp" && mkdir -p "$work" "$dir.tmp"
    local json src gomod
    json="$(GOTOOLCHAIN="$ARGOCD_GO" go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION")"
    src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
    gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
    {
      echo "module cilium-guard.local/argocdtool"
      echo
      echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod")"
      echo
      echo "require ("
      echo "	github.com/argoproj/argo-cd/v3 $ARGOCD_VERSION"
      echo "	github.com/argoproj/argo-cd/gitops-engine/v3 $ARGOCD_VERSION"
      echo ")"
      echo
      echo "replace ("
      sed -n '/^replace (/,/^)/{/=>/p}' "$gomod" | grep -v '=> \./'
      echo ")"
    } > "$work/go.mod"
    cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/argoproj/argo-cd/v3/cmd"
GO
    local v="${ARGOCD_VERSION#v}"
    (cd "$work" && GOTOOLCHAIN="$ARGOCD_GO" go mod tidy -e >/dev/null 2>&1 || true)
    (cd "$work" && GOTOOLCHAIN="$ARGOCD_GO" go build -trimpath \
      -ldflags "-X github.com/argoproj/argo-cd/v3/common.version=$v" \
      -o "$dir.tmp/argocd" github.com/argoproj/argo-cd/v3/cmd)
    mkdir -p "$dir.tmp/crds" "$dir.tmp/config"
    cp "$src"/manifests/crds/*-crd.yaml "$dir.tmp/crds/"
    cp "$src"/manifests/base/config/argocd-*.yaml "$dir.tmp/config/"
    chmod -R u+w "$dir.tmp"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# Cilium's CiliumNetworkPolicy CRD (the operator installs it; the Helm chart has none), from the
# module zip of the Cilium release the chart's CiliumNetworkPolicy is written for. Test data only.
fetch_cilium_crds() {
  local dir="$CACHE/cilium-crds-$CILIUM_VERSION"
  if [[ ! -f "$dir/ciliumnetworkpolicies.yaml" ]]; then
    log "fetching the CiliumNetworkPolicy CRD from github.com/cilium/cilium@$CILIUM_VERSION"
    local src
    src="$(go mod download -json "github.com/cilium/cilium@$CILIUM_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    cp "$src/pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml" "$dir.tmp/"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# Argo CD has no in-memory cache: the controller and repo-server need a Redis. Debian's redis-server,
# run by the tests on a port of their own (never as the system service).
find_redis() {
  local bin
  bin="$(command -v redis-server || true)"
  [[ -z "$bin" && -x /usr/bin/redis-server ]] && bin=/usr/bin/redis-server
  if [[ -z "$bin" ]]; then
    log "installing redis-server from Debian (apt-get)"
    local sudo=""
    [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    # The package starts the system service; the tests start their own.
    $sudo service redis-server stop >/dev/null 2>&1 || true
    bin=/usr/bin/redis-server
  fi
  echo "$bin"
}

case "${1:-all}" in
  helm) build_helm ;;
  etcd) build_etcd ;;
  kube) build_kube ;;
  crds) fetch_crds ;;
  cilium-crds) fetch_cilium_crds ;;
  helm-all) build_helm_all ;;
  oracle) build_oracle ;;
  argocd) build_argocd ;;
  redis) find_redis ;;
  node) build_node ;;
  all) build_helm_all >/dev/null; build_etcd; build_kube; fetch_crds; fetch_cilium_crds; build_oracle ;;
  *) echo "usage: $0 helm|helm-all|etcd|kube|crds|cilium-crds|oracle|argocd|redis|node|all" >&2; exit 2 ;;
esac
