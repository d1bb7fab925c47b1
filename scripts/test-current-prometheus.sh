#!/usr/bin/env bash
# Runs the tests that start Prometheus and Alertmanager against today's releases (Prometheus
# 3.9.1, Alertmanager 0.35.0, built once by scripts/go-tools.sh into the tool cache) instead of
# Debian's 2.42 / 0.25: the Prometheus adapter's tests and the closed loop.
#
#   scripts/test-current-prometheus.sh            # build what is missing, then run
#   scripts/test-current-prometheus.sh -- FILES   # other test files
#
# Building Prometheus takes long on 2 cores (its module pulls every service discovery), so CI
# does not run this yet; see the README.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${SELFHEAL_TOOLS:-$HOME/.cache/selfheal-tools}"
scripts/go-tools.sh prometheus alertmanager
[ "${1:-}" = "--" ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(packages/adapter-prometheus examples/test/closed-loop.test.ts)
pnpm run build >/dev/null
export SELFHEAL_PROMETHEUS_BINARY="$tools/prometheus-3.9.1/prometheus"
export SELFHEAL_ALERTMANAGER_BINARY="$tools/alertmanager-0.35.0/alertmanager"
echo "== $("$SELFHEAL_PROMETHEUS_BINARY" --version 2>&1 | head -1 | sed 's/,.*//') 3.9.1 and Alertmanager 0.35.0: vitest run ${targets[*]}"
CI=true pnpm exec vitest run "${targets[@]}"
