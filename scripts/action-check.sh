#!/usr/bin/env bash
# The step of action.yml: runs `cilium-guard check --output github` with the Action's inputs (from
# the environment: CG_PATHS, CG_VERSION, CG_CONFIG, CG_CLUSTER, CG_STRICT, CG_ACTION_PATH), records
# its exit code as the step output exit-code and exits with it, so denials fail the step.
set -euo pipefail

# A workflow command's message, escaped as @actions/core does (%, CR, LF), so no input can start another command.
escape() { local s=${1//'%'/%25}; s=${s//$'\r'/%0D}; printf '%s' "${s//$'\n'/%0A}"; }

if [[ "${CG_VERSION:-}" == local ]]; then
  # This checkout of the Action (its own CI, or a fork): build it once.
  if [[ ! -f "$CG_ACTION_PATH/dist/src/cli/main.js" ]]; then
    echo "cilium-guard: building the Action's checkout in $CG_ACTION_PATH"
    (cd "$CG_ACTION_PATH" && npm ci --no-audit --no-fund --ignore-scripts >&2 && npm run build --silent >&2)
  fi
  cg=(node "$CG_ACTION_PATH/dist/src/cli/main.js")
elif [[ "${CG_VERSION:-}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  cg=(npx --yes "cilium-guard@${CG_VERSION}")
else
  echo "::error title=cilium-guard::$(escape "input version must be a release (such as 0.1.0) or local, got '${CG_VERSION:-}'")"
  exit 2
fi

args=(check --output github)
[[ -n "${CG_CONFIG:-}" ]] && args+=(--config "$CG_CONFIG")
[[ -n "${CG_CLUSTER:-}" ]] && args+=(--cluster "$CG_CLUSTER")
case "${CG_STRICT:-false}" in
  true) args+=(--strict) ;;
  false) ;;
  *) echo "::error title=cilium-guard::$(escape "input strict must be true or false, got '${CG_STRICT}'")"; exit 2 ;;
esac

# One path per line when there are several lines (paths with spaces), else separated by white space.
paths=()
if [[ "${CG_PATHS:-}" == *$'\n'* ]]; then
  while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"; line="${line%"${line##*[![:space:]]}"}"
    [[ -n "$line" ]] && paths+=("$line")
  done <<<"$CG_PATHS"
else
  read -r -a paths <<<"${CG_PATHS:-}"
fi
[[ ${#paths[@]} -gt 0 ]] || paths=(.)

set +e
"${cg[@]}" "${args[@]}" -- "${paths[@]}"
status=$?
set -e
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then echo "exit-code=$status" >>"$GITHUB_OUTPUT"; fi
case $status in
  0) ;;
  1) echo "cilium-guard: something in ${paths[*]} would be refused (see the annotations)" ;;
  *) echo "cilium-guard: exit $status (unreadable input or bad usage)" ;;
esac
exit "$status"
