#!/usr/bin/env bash
# Runs the tests that start Prometheus and Alertmanager against today's releases (Prometheus
# 3.9.1, Alertmanager 0.35.0, built by scripts/go-tools.sh into the tool cache) instead of
# Debian's 2.42 / 0.25: the Prometheus adapter's tests and the closed loop (its OPA scenarios
# included).
#
#   scripts/test-current-prometheus.sh            build what is missing (Go), then run (CI=true:
#                                                 nothing may skip)
#   scripts/test-current-prometheus.sh --cached   what `pnpm test` runs after the main suite:
#                                                 builds nothing; a missing binary fails the run
#                                                 under CI=true, and skips it with the reason
#                                                 outside CI
#   scripts/test-current-prometheus.sh [--cached] -- FILES    other test files
set -euo pipefail
cd "$(dirname "$0")/.."

cached=false
if [ "${1:-}" = "--cached" ]; then
  cached=true
  shift
fi
[ "${1:-}" = "--" ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(packages/adapter-prometheus examples/test/closed-loop.test.ts)

if [ "$cached" = false ]; then
  scripts/go-tools.sh prometheus alertmanager
  pnpm run build >/dev/null
  export CI=true
fi

declare -A binary version
while read -r name tool_version path; do
  binary[$name]=$path
  version[$name]=$tool_version
done < <(scripts/go-tools.sh --where prometheus alertmanager)

missing=()
for name in prometheus alertmanager; do
  [ -x "${binary[$name]}" ] || missing+=("${binary[$name]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  why="not built: ${missing[*]} (scripts/go-tools.sh prometheus alertmanager builds them, a few minutes on 2 cores; pnpm test:current builds and runs)"
  if [ "${CI:-}" = true ]; then
    echo "current Prometheus ${version[prometheus]} / Alertmanager ${version[alertmanager]}: $why" >&2
    exit 1
  fi
  echo "== skipping the tests against current Prometheus ${version[prometheus]} / Alertmanager ${version[alertmanager]}: $why"
  exit 0
fi

# A binary that does not say the pinned version (a stale or foreign build) fails rather than
# passing as the current release.
for name in prometheus alertmanager; do
  said=$("${binary[$name]}" --version 2>&1 | head -1)
  if [[ "$said" != *"version ${version[$name]} "* ]]; then
    echo "${binary[$name]} says \"$said\", not version ${version[$name]}" >&2
    exit 1
  fi
done

export SELFHEAL_PROMETHEUS_BINARY="${binary[prometheus]}"
export SELFHEAL_ALERTMANAGER_BINARY="${binary[alertmanager]}"
echo "== current Prometheus ${version[prometheus]} and Alertmanager ${version[alertmanager]}: vitest run ${targets[*]}"
started=$SECONDS
status=0
pnpm exec vitest run "${targets[@]}" || status=$?
echo "== current Prometheus ${version[prometheus]} and Alertmanager ${version[alertmanager]}: $((SECONDS - started)) s"
exit "$status"
