#!/usr/bin/env bash
# The real Argo CD against cilium-guard (npm run test:argocd): tap over dist/test/argocd, one file at a
# time. Each file starts etcd, kube-apiserver, cilium-guard, redis-server and three Argo CD processes
# under a directory of its own; whatever a killed test left behind is stopped here.
set -uo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/cilium-guard-argocd.XXXXXX")
export CILIUM_GUARD_TEST_TMP="$work"
export CILIUM_GUARD_ARGOCD_REPORT="$work/report.txt"
cleanup() {
  pkill -KILL -f -- "$work/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP
node_bin=${NODE:-node}
if [ $# -gt 0 ]; then files=("$@"); else files=(dist/test/argocd/*.test.js); fi
# A bound on the whole run: the suite takes a few minutes once the tools are built.
"$node_bin" node_modules/.bin/tap --jobs=1 --disable-coverage --timeout=900 "${files[@]}"
status=$?
echo
if [ -s "$CILIUM_GUARD_ARGOCD_REPORT" ]; then
  cat "$CILIUM_GUARD_ARGOCD_REPORT"
else
  echo "no Argo CD report (the suite did not get that far)"
fi
exit $status
