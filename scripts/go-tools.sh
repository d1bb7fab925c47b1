#!/usr/bin/env bash
# Build the pinned Go programs the tests run for real (OPA first) with `go install`, into a cache
# folder outside the repository, only when they are missing. Prints where each one is and how
# long its build took.
#
#   scripts/go-tools.sh            build what is missing (all tools)
#   scripts/go-tools.sh opa        only the named tools
#   SELFHEAL_TOOLS=/path ...       cache folder (default: $HOME/.cache/selfheal-tools)
#
# A tool lands in $SELFHEAL_TOOLS/<name>-<version>/<binary>; tests look there (see
# @selfheal/adapter-opa/testing `findOpa`). Versions are pinned here and nowhere else.
set -euo pipefail

tools_dir="${SELFHEAL_TOOLS:-$HOME/.cache/selfheal-tools}"

# name|version|module@version|binary
catalogue=(
  "opa|1.22.4|github.com/open-policy-agent/opa@v1.22.4|opa"
)

build() {
  local name=$1 version=$2 module=$3 binary=$4
  local folder="$tools_dir/$name-$version"
  if [ -x "$folder/$binary" ]; then
    echo "$name $version: $folder/$binary (cached)"
    return
  fi
  if ! command -v go >/dev/null; then
    echo "$name $version: missing, and there is no go on PATH to build it (install Go 1.26)" >&2
    return 1
  fi
  mkdir -p "$folder"
  local started=$SECONDS
  # Build into a scratch folder, then move: an interrupted build never leaves a half binary.
  local scratch
  scratch=$(mktemp -d "$folder/.build-XXXXXX")
  echo "$name $version: building $module (go install, takes a few minutes on 2 cores)"
  if ! GOBIN="$scratch" go install "$module"; then
    rm -rf "$scratch"
    echo "$name $version: go install $module failed" >&2
    return 1
  fi
  mv "$scratch/$binary" "$folder/$binary"
  rm -rf "$scratch"
  echo "$name $version: $folder/$binary (built in $((SECONDS - started)) s)"
}

wanted=("$@")
for entry in "${catalogue[@]}"; do
  IFS='|' read -r name version module binary <<<"$entry"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  build "$name" "$version" "$module" "$binary"
done
