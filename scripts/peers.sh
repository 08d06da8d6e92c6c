#!/usr/bin/env bash
# Builds the peers that `npm run bench:e2e` compares cilium-guard with, from Go modules (through the Go module
# proxy), cached outside the repository by version. Only the end-to-end benchmark calls this, on first use; CI
# never does (its smoke run goes without peers).
#
#   scripts/peers.sh kyverno        -> builds if missing, prints the directory holding `kyverno` (the admission
#                                      controller, cmd/kyverno) and crds/ (its CRDs, from the module's config/crds)
#   scripts/peers.sh kyverno-path   -> prints that directory if it is built, exits 1 (printing nothing) if not
#
# Versions are pinned here and nowhere else.
set -euo pipefail

KYVERNO_VERSION="${KYVERNO_VERSION:-v1.19.1}"
# v1.19.1's go.mod has one replace directive; a wrapper module must repeat it.
KYVERNO_PSA_REPLACE="github.com/kyverno/pod-security-admission@v0.0.0-20251031094455-46f20778634f"

CACHE="${CILIUM_GUARD_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-guard/peers}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0

log() { printf '[peers] %s\n' "$*" >&2; }

kyverno_dir() { echo "$CACHE/kyverno-$KYVERNO_VERSION"; }

build_kyverno() {
  local dir
  dir="$(kyverno_dir)"
  if [[ ! -x "$dir/kyverno" || ! -d "$dir/crds" ]]; then
    log "building Kyverno $KYVERNO_VERSION's admission controller from github.com/kyverno/kyverno (first run only, about 4-8 minutes on 2 cores)"
    mkdir -p "$CACHE"
    local tmp
    tmp="$(mktemp -d "$CACHE/kyverno-$KYVERNO_VERSION.XXXXXX")"
    mkdir -p "$tmp/src"
    cat >"$tmp/src/go.mod" <<GOMOD
module cilium-guard.local/peers/kyverno

go 1.25

require github.com/kyverno/kyverno $KYVERNO_VERSION

replace k8s.io/pod-security-admission => ${KYVERNO_PSA_REPLACE%@*} ${KYVERNO_PSA_REPLACE#*@}
GOMOD
    cat >"$tmp/src/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/kyverno/kyverno/cmd/kyverno"
GO
    (cd "$tmp/src" && go mod tidy -e >&2 && go build -trimpath -o "$tmp/kyverno" github.com/kyverno/kyverno/cmd/kyverno)
    local mod
    mod="$(cd "$tmp/src" && go list -m -f '{{.Dir}}' github.com/kyverno/kyverno)"
    cp -r "$mod/config/crds" "$tmp/crds" && chmod -R u+w "$tmp/crds"
    rm -rf "$tmp/src"
    rm -rf "$dir" && mv -T "$tmp" "$dir"
  fi
  echo "$dir"
}

case "${1:-}" in
  kyverno) build_kyverno ;;
  kyverno-path) d="$(kyverno_dir)"; [[ -x "$d/kyverno" && -d "$d/crds" ]] && echo "$d" ;;
  kyverno-version) echo "$KYVERNO_VERSION" ;;
  *) echo "usage: scripts/peers.sh kyverno|kyverno-path|kyverno-version" >&2; exit 2 ;;
esac
