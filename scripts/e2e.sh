#!/usr/bin/env bash
# The end-to-end suite (npm run test:e2e): tap over dist/test/e2e, one file at a time (each starts
# its own etcd and kube-apiserver), then the webhook's added latency measured by latency.test.ts.
set -uo pipefail
cd "$(dirname "$0")/.."
export CILIUM_GUARD_E2E_REPORT="${TMPDIR:-/tmp}/cilium-guard-e2e-latency.$$.txt"
rm -f "$CILIUM_GUARD_E2E_REPORT"
node_bin=${NODE:-node}
"$node_bin" node_modules/.bin/tap --jobs=1 --timeout=600 dist/test/e2e/*.test.js
status=$?
echo
if [ -s "$CILIUM_GUARD_E2E_REPORT" ]; then
  cat "$CILIUM_GUARD_E2E_REPORT"
else
  echo "no latency report (latency.test.js did not finish)"
fi
rm -f "$CILIUM_GUARD_E2E_REPORT"
exit $status
