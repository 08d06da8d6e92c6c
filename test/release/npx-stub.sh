#!/usr/bin/env bash
# Stands in for npx in test/release/action.test.ts: records its arguments (one JSON array a line in
# $CG_TEST_NPX_LOG), accepts only `--yes cilium-guard@$CG_TEST_NPX_PINNED`, and runs the local build.
set -euo pipefail
node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@" >>"$CG_TEST_NPX_LOG"
if [[ "${1:-}" != --yes || "${2:-}" != "cilium-guard@$CG_TEST_NPX_PINNED" ]]; then
  echo "npx stub: expected --yes cilium-guard@$CG_TEST_NPX_PINNED, got: $*" >&2
  exit 127
fi
shift 2
exec node "$CG_TEST_MAIN" "$@"
