#!/usr/bin/env bash
# The end-to-end suite (npm run test:e2e): tap over dist/test/e2e, one file at a time (each starts
# its own etcd and kube-apiserver), then the webhook's added latency measured by latency.test.ts.
set -uo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/cilium-guard-e2e.XXXXXX")
export CILIUM_GUARD_E2E_REPORT="$work/latency.txt"
# Every etcd, kube-apiserver and cilium-guard the suite starts runs from a directory under $work;
# whatever a killed test process left behind is stopped here.
export CILIUM_GUARD_TEST_TMP="$work"
cleanup() {
  pkill -KILL -f -- "$work/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP
node_bin=${NODE:-node}
# Arguments pick test files (e.g. dist/test/e2e/writes.test.js); none: all of them.
if [ $# -gt 0 ]; then files=("$@"); else files=(dist/test/e2e/*.test.js); fi
"$node_bin" node_modules/.bin/tap --jobs=1 --timeout=600 "${files[@]}"
status=$?
echo
if [ -s "$CILIUM_GUARD_E2E_REPORT" ]; then
  cat "$CILIUM_GUARD_E2E_REPORT"
  # Kept for `npm run bench`, which prints the last figure beside its own.
  keep="${XDG_CACHE_HOME:-$HOME/.cache}/cilium-guard"
  mkdir -p "$keep" && cp "$CILIUM_GUARD_E2E_REPORT" "$keep/e2e-latency.txt"
else
  echo "no latency report (latency.test.js did not finish)"
fi
exit $status
