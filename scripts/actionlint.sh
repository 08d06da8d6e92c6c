#!/usr/bin/env bash
# Lints every GitHub Actions workflow (.github/workflows/*.yml) and the Action's own metadata
# (action.yml) with actionlint, built from Go modules and cached outside the repository by version.
# Debian's shellcheck checks the `run:` scripts when it is on PATH; CI installs it when it
# can and says so when it cannot.
#
#   scripts/actionlint.sh          -> lints; exit 1 on any finding, printing each one
#   scripts/actionlint.sh path     -> builds if needed and prints the path of the actionlint binary
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"   # github.com/rhysd/actionlint: a recent release the module proxy serves
CACHE="${CILIUM_GUARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cilium-guard/tools}"
dir="$CACHE/actionlint-$ACTIONLINT_VERSION"

if [[ ! -x "$dir/actionlint" ]]; then
  echo "[actionlint] building actionlint $ACTIONLINT_VERSION from github.com/rhysd/actionlint (first run only, about a minute on 2 cores)" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOBIN="$dir.tmp" \
    go install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
if [[ "${1:-}" == path ]]; then
  echo "$dir/actionlint"
  exit 0
fi

if [[ "${1:-}" == ensure-shellcheck ]] || [[ "${CI:-}" == true ]]; then
  if ! command -v shellcheck >/dev/null && command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "[actionlint] installing Debian's shellcheck for the run: scripts" >&2
    (apt-get install -y -qq shellcheck >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq shellcheck >/dev/null 2>&1; }) || true
  fi
fi

workflows=(.github/workflows/*.yml)
# actionlint reads action.yml through the workflow steps that use it (`uses: ./` in ci.yml), checking
# its metadata and the inputs those steps pass; the Action's script itself goes to shellcheck here.
if command -v shellcheck >/dev/null; then
  shellcheck_note="shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
else
  shellcheck_note="no shellcheck on PATH: run: scripts and scripts/action-check.sh not checked"
fi
status=0
"$dir/actionlint" -no-color "${workflows[@]}" || status=1
if command -v shellcheck >/dev/null; then
  shellcheck --severity=style scripts/action-check.sh scripts/actionlint.sh || status=1
fi
if [[ $status -ne 0 ]]; then
  echo "actionlint: findings above (actionlint $ACTIONLINT_VERSION, $shellcheck_note)" >&2
  exit 1
fi
echo "actionlint: ${#workflows[@]} workflow(s), action.yml and scripts/action-check.sh clean (actionlint $ACTIONLINT_VERSION, $shellcheck_note)"
