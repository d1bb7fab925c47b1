#!/usr/bin/env bash
# Build the pinned Go programs the tests run for real (OPA, Prometheus 3, Alertmanager 0.3x, Jaeger v2) into a
# cache folder outside the repository, only when they are missing. Prints where each one is and
# how long its build took.
#
#   scripts/go-tools.sh                          build what is missing (all tools)
#   scripts/go-tools.sh opa                      only the named tools
#   scripts/go-tools.sh --where prometheus       print "name version binary" (built or not), build nothing
#   SELFHEAL_TOOLS=/path ...                     cache folder (default: $HOME/.cache/selfheal-tools)
#
# A tool lands in $SELFHEAL_TOOLS/<folder>/<binary>; tests look there (see
# @selfheal/adapter-opa/testing `findOpa`, scripts/test-current-prometheus.sh). Versions are
# pinned here and nowhere else. The folder names the build recipe as well as the version, so a
# binary built another way (an older full Prometheus in prometheus-3.9.1/) is never taken for
# this one.
set -euo pipefail

tools_dir="${SELFHEAL_TOOLS:-$HOME/.cache/selfheal-tools}"

# name|version|module|module version|package in the module|binary|how[|folder]
#   folder: under $SELFHEAL_TOOLS, default <name>-<version>; the recipe's builds say -min.
#   install: `go install package@version`.
#   build:   the module's go.mod has exclude/replace directives, which `go install pkg@version`
#            refuses: download the module, then `go build` the package inside a writable copy of
#            it, with -trimpath, without symbols (-s -w) or cgo, and the version stamped as
#            Prometheus' release tooling (promu) does (`-X .../common/version.Version`), so
#            `--version` names the release.
#   build-ui-stub: like build; the web UI (`ui/app/dist`, built by npm and not in the module) is
#            replaced by a placeholder page: `go:embed` needs the folder, and the tests speak the
#            HTTP API only.
#   build-min-sd: like build, with only the service discoveries Prometheus always has (static,
#            file, http): plugins.yml, the list upstream documents for choosing service
#            discoveries ("Service discovery plugins" in its README), is emptied and
#            plugins/plugins.go generated again from it, as `make plugins` does. The tests
#            configure static targets only, and leaving out the cloud SDKs (AWS, Azure, GCE,
#            Kubernetes, ...) is what makes the build short. No web UI assets either (the
#            `builtinassets` tag is not set); the tests speak the HTTP API.
#   local:   a Go module of this repository (`module` is its folder), built with `go build`; its
#            version is a hash of its go.mod, go.sum and sources, so a changed tool is built
#            again. tools/argocd-notify renders Argo CD Notifications triggers and templates as
#            Argo CD's notifications controller does (expr, text/template and Sprig), for the
#            tests of the Argo CD notifications source.
# Prometheus 3.x is published as module versions v0.3xx (v0.309.1 is Prometheus 3.9.1). Jaeger v2
# (`cmd/jaeger`, an OpenTelemetry Collector build with Jaeger's storage and query) is in the
# module's v1.x versions; its go.mod replaces sarama, hence `build`. Without the `ui` build tag
# it serves a placeholder page instead of the web UI; the tests use its HTTP query API.
catalogue=(
  "opa|1.22.4|github.com/open-policy-agent/opa|v1.22.4|.|opa|install"
  "prometheus|3.9.1|github.com/prometheus/prometheus|v0.309.1|./cmd/prometheus|prometheus|build-min-sd|prometheus-3.9.1-min"
  "alertmanager|0.35.0|github.com/prometheus/alertmanager|v0.35.0|./cmd/alertmanager|alertmanager|build-ui-stub|alertmanager-0.35.0-min"
  "jaeger|1.75.0|github.com/jaegertracing/jaeger|v1.75.0|./cmd/jaeger|jaeger|build"
  "argocd-notify|local|tools/argocd-notify|-|.|argocd-notify|local"
)
repo_root=$(cd "$(dirname "$0")/.." && pwd)

build() {
  local name=$1 version=$2 module=$3 module_version=$4 package=$5 binary=$6 how=$7 folder=$tools_dir/$8
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
  echo "$name $version: building $module@$module_version $package ($how)"
  local ok=true
  if [ "$how" = local ]; then
    (cd "$repo_root/$module" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$scratch/$binary" "$package") || ok=false
  elif [ "$how" = install ]; then
    local target="$module/${package#./}"
    target="${target%/.}"
    GOBIN="$scratch" go install "$target@$module_version" || ok=false
  else
    build_in_copy "$name" "$version" "$module" "$module_version" "$package" "$scratch" "$binary" "$how" || ok=false
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

build_in_copy() {
  local name=$1 version=$2 module=$3 module_version=$4 package=$5 scratch=$6 binary=$7 how=$8
  local dir
  dir=$(go mod download -json "$module@$module_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || return 1
  cp -r "$dir" "$scratch/src" && chmod -R u+w "$scratch/src" || return 1
  case "$how" in
    build) ;;
    build-ui-stub)
      for ui in elm mantine; do
        mkdir -p "$scratch/src/ui/app/dist/$ui"
        echo "<html><body>web UI not built (selfheal test build)</body></html>" >"$scratch/src/ui/app/dist/$ui/index.html"
      done
      ;;
    build-min-sd)
      echo "[]" >"$scratch/src/plugins.yml"
      # Named on the command line, generate.go runs without its `plugins` build tag and loads
      # only its own imports (`go generate ./plugins` would download every SD's modules).
      (cd "$scratch/src/plugins" && go run generate.go) || return 1
      if grep -q '^import' "$scratch/src/plugins/plugins.go"; then
        echo "$name: plugins/plugins.go still imports service discoveries" >&2
        return 1
      fi
      ;;
    *)
      echo "$name: unknown build recipe $how" >&2
      return 1
      ;;
  esac
  local stamp=github.com/prometheus/common/version
  (cd "$scratch/src" && CGO_ENABLED=0 go build -trimpath -tags netgo \
    -ldflags="-s -w -X $stamp.Version=$version -X $stamp.BuildUser=selfheal-go-tools/$how" \
    -o "$scratch/$binary" "$package")
}

where=false
if [ "${1:-}" = "--where" ]; then
  where=true
  shift
fi
wanted=("$@")
for entry in "${catalogue[@]}"; do
  IFS='|' read -r name version module module_version package binary how folder <<<"$entry"
  if [ "$version" = local ]; then
    version=$(cd "$repo_root/$module" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)
  fi
  folder=${folder:-$name-$version}
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  if [ "$where" = true ]; then
    echo "$name $version $tools_dir/$folder/$binary"
  else
    build "$name" "$version" "$module" "$module_version" "$package" "$binary" "$how" "$folder"
  fi
done
