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
# name|version|module|module version|package in the module|binary|how
#   install: `go install package@version`
#   build:   the module's go.mod has exclude/replace directives, which `go install pkg@version`
#            refuses: download the module, then `go build` the package inside it.
#   build-ui-stub: like build, in a writable copy of the module whose web UI (`ui/app/dist`, built
#            by npm and not in the module) is replaced by a placeholder page: `go:embed` needs the
#            folder, and the tests speak the HTTP API only.
# Prometheus 3.x is published as module versions v0.3xx (v0.309.1 is Prometheus 3.9.1); a binary
# built this way has no web UI assets, which the tests do not use (they speak the HTTP API).
catalogue=(
  "opa|1.22.4|github.com/open-policy-agent/opa|v1.22.4|.|opa|install"
  "prometheus|3.9.1|github.com/prometheus/prometheus|v0.309.1|./cmd/prometheus|prometheus|build"
  "alertmanager|0.35.0|github.com/prometheus/alertmanager|v0.35.0|./cmd/alertmanager|alertmanager|build-ui-stub"
)

build() {
  local name=$1 version=$2 module=$3 module_version=$4 package=$5 binary=$6 how=$7
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
  echo "$name $version: building $module@$module_version $package ($how; minutes on 2 cores)"
  local ok=true
  if [ "$how" = install ]; then
    local target="$module/${package#./}"
    target="${target%/.}"
    GOBIN="$scratch" go install "$target@$module_version" || ok=false
  else
    local dir
    dir=$(go mod download -json "$module@$module_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    if [ -z "$dir" ]; then
      ok=false
    elif [ "$how" = build-ui-stub ]; then
      cp -r "$dir" "$scratch/src" && chmod -R u+w "$scratch/src" || ok=false
      for ui in elm mantine; do
        mkdir -p "$scratch/src/ui/app/dist/$ui"
        echo "<html><body>web UI not built (selfheal test build)</body></html>" >"$scratch/src/ui/app/dist/$ui/index.html"
      done
      [ "$ok" = true ] && { (cd "$scratch/src" && go build -o "$scratch/$binary" "$package") || ok=false; }
    else
      (cd "$dir" && go build -o "$scratch/$binary" "$package") || ok=false
    fi
  fi
  if [ "$ok" != true ] || [ ! -x "$scratch/$binary" ]; then
    rm -rf "$scratch"
    echo "$name $version: building $module@$module_version failed" >&2
    return 1
  fi
  mv "$scratch/$binary" "$folder/$binary"
  rm -rf "$scratch"
  echo "$name $version: $folder/$binary (built in $((SECONDS - started)) s)"
}

wanted=("$@")
for entry in "${catalogue[@]}"; do
  IFS='|' read -r name version module module_version package binary how <<<"$entry"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  build "$name" "$version" "$module" "$module_version" "$package" "$binary" "$how"
done
