#!/usr/bin/env bash
# Builds the local test tools from the Go module proxy into <repo>/.cache/bin:
#   cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
#   jaeger:  jaeger (v2)
#   helm:    helm (v3), to lint and render the chart under deploy/helm
# Each component is built from a wrapper module under hack/tools/<name> (its own go.mod/go.sum,
# so its replace directives never touch the project's go.mod), except helm, whose module has no
# replace directives and is installed with `go install MODULE/PKG@VERSION`. A stamp file
# .cache/bin/.stamp-<component> records the pinned versions and a hash of the wrapper's files;
# a component whose stamp matches (and whose binaries exist) is skipped.
#
# Usage: hack/build-tools.sh [all|cluster|jaeger|helm|etcd|kubernetes|kwok]   (default: all)
# Env:   FORCE=1 rebuilds even if the stamp matches; BIN_DIR overrides <repo>/.cache/bin.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$HACK_DIR/.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT_DIR/.cache/bin}
TOOLS_DIR=$HACK_DIR/tools

ETCD_VERSION=v3.7.3
KUBERNETES_VERSION=v1.37.2
KWOK_VERSION=v0.8.0
JAEGER_VERSION=v1.76.0 # module github.com/jaegertracing/jaeger; the binary is Jaeger v2
HELM_VERSION=v3.22.0   # module helm.sh/helm/v3

# The proxy lists ",direct" last; origin hosts are unreachable here, so never fall back to them.
GOPROXY=$(go env GOPROXY)
export GOPROXY=${GOPROXY%%,direct*}
export CGO_ENABLED=${CGO_ENABLED:-0}

START=$SECONDS

log() { printf '[build-tools %4ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# stamp_content COMPONENT VERSIONS...: what the stamp of a component must contain.
stamp_content() {
	local component=$1 dir=$TOOLS_DIR/$1
	shift
	echo "component: $component"
	local v
	for v in "$@"; do echo "version: $v"; done
	echo "go: $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH) CGO_ENABLED=$CGO_ENABLED"
	# Hash every file of the wrapper module (go.mod, go.sum, main.go, ...), if it has one.
	[[ -d $dir ]] || return 0
	(cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sed 's/^/sha256: /'
}

# build COMPONENT "VERSIONS" BIN=PKG...: builds each PKG of the wrapper module into BIN_DIR/BIN.
build() {
	local component=$1 versions=$2
	shift 2
	local dir=$TOOLS_DIR/$component stamp=$BIN_DIR/.stamp-$component
	[[ -f $dir/go.mod ]] || die "$component: missing $dir/go.mod"
	local want have=""
	# shellcheck disable=SC2086 # versions is a space-separated list on purpose
	want=$(stamp_content "$component" $versions)
	[[ -f $stamp ]] && have=$(<"$stamp")

	local spec name missing=0
	for spec in "$@"; do
		name=${spec%%=*}
		[[ -x $BIN_DIR/$name ]] || missing=1
	done
	if [[ ${FORCE:-0} != 1 && $missing == 0 && "$want" == "$have" ]]; then
		log "$component: up to date ($versions), skipping"
		return 0
	fi

	mkdir -p "$BIN_DIR"
	rm -f "$stamp"
	local t0=$SECONDS pkg ldflags
	log "$component: downloading modules"
	(cd "$dir" && go mod download) || die "$component: go mod download failed"
	log "$component: modules ready in $((SECONDS - t0))s"
	for spec in "$@"; do
		name=${spec%%=*}
		pkg=${spec#*=}
		ldflags="-s -w"
		if [[ $component == kubernetes ]]; then
			local minor=${KUBERNETES_VERSION#v1.}
			minor=${minor%%.*}
			ldflags+=" -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
			ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
			ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
			ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
		fi
		local t1=$SECONDS
		log "$component: building $name ($pkg)"
		(cd "$dir" && go build -trimpath -ldflags="$ldflags" -o "$BIN_DIR/.$name.tmp" "$pkg") ||
			die "$component: building $name failed"
		mv -f "$BIN_DIR/.$name.tmp" "$BIN_DIR/$name"
		log "$component: built $name in $((SECONDS - t1))s"
	done
	printf '%s\n' "$want" >"$stamp"
	log "$component: done in $((SECONDS - t0))s"
}

# goinstall COMPONENT VERSION BIN PKG: `go install PKG@VERSION` into BIN_DIR/BIN, for modules
# without replace directives (no wrapper module needed), stamped like build.
goinstall() {
	local component=$1 version=$2 name=$3 pkg=$4
	local stamp=$BIN_DIR/.stamp-$component want have=""
	want=$(stamp_content "$component" "$component=$version")
	[[ -f $stamp ]] && have=$(<"$stamp")
	if [[ ${FORCE:-0} != 1 && -x $BIN_DIR/$name && "$want" == "$have" ]]; then
		log "$component: up to date ($component=$version), skipping"
		return 0
	fi
	mkdir -p "$BIN_DIR"
	rm -f "$stamp"
	local t0=$SECONDS tmp
	tmp=$(mktemp -d "$BIN_DIR/.install-$component.XXXXXX")
	log "$component: go install $pkg@$version"
	GOBIN=$tmp go install -trimpath -ldflags="-s -w" "$pkg@$version" || { rm -rf "$tmp"; die "$component: go install failed"; }
	mv -f "$tmp/$name" "$BIN_DIR/$name"
	rm -rf "$tmp"
	printf '%s\n' "$want" >"$stamp"
	log "$component: done in $((SECONDS - t0))s"
}

build_etcd() {
	build etcd "etcd=$ETCD_VERSION" etcd=.
}

build_kubernetes() {
	build kubernetes "kubernetes=$KUBERNETES_VERSION" \
		kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
		kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
		kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
}

build_kwok() {
	build kwok "kwok=$KWOK_VERSION" kwok=sigs.k8s.io/kwok/cmd/kwok
}

build_jaeger() {
	build jaeger "jaeger=$JAEGER_VERSION" jaeger=github.com/jaegertracing/jaeger/cmd/jaeger
}

build_helm() {
	goinstall helm "$HELM_VERSION" helm helm.sh/helm/v3/cmd/helm
}

main() {
	command -v go >/dev/null || die "go is not on PATH"
	local target=${1:-all}
	case $target in
	all) build_etcd; build_kubernetes; build_kwok; build_jaeger; build_helm ;;
	cluster) build_etcd; build_kubernetes; build_kwok ;;
	jaeger) build_jaeger ;;
	helm) build_helm ;;
	etcd) build_etcd ;;
	kubernetes) build_kubernetes ;;
	kwok) build_kwok ;;
	*) die "usage: $0 [all|cluster|jaeger|helm|etcd|kubernetes|kwok]" ;;
	esac
	log "all requested components ready in $BIN_DIR"
}

main "$@"
