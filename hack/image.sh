#!/usr/bin/env bash
# Builds kspan's container image here, without a registry or a base image:
# one layer holding the static binary (as the Dockerfile builds it), the CA
# certificates for OTLP over TLS and an /etc/passwd naming the non-root user
# 65532, imported with podman as localhost/kspan:$VERSION (and :dev), and
# saved as an OCI archive (.cache/image/kspan-$VERSION.tar) for skopeo or
# podman to push where a cluster pulls from. Installs Debian's podman, runc
# and ca-certificates first when missing (needs root, as CI runs).
#
#   VERSION=0.1.0 hack/image.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${VERSION:-dev}
out=$root/.cache/image
GOPROXY=$(go env GOPROXY)
export GOPROXY=${GOPROXY%%,direct*}

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [[ ! -f /etc/ssl/certs/ca-certificates.crt ]]; then
	echo "== installing podman, runc and ca-certificates"
	apt-get update && apt-get install -y podman runc ca-certificates
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$out"
chmod 1777 "$rootfs/tmp"
CGO_ENABLED=0 go build -trimpath -tags grpcnotrace \
	-ldflags "-s -w -X github.com/kspan-project/kspan/internal/cli.Version=$VERSION" \
	-o "$rootfs/kspan" "$root/cmd/kspan"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' > "$rootfs/etc/passwd"
echo 'nonroot:x:65532:' > "$rootfs/etc/group"
tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$rootfs.tar" .
podman import \
	--change 'ENTRYPOINT ["/kspan"]' --change 'USER 65532:65532' \
	--change "LABEL org.opencontainers.image.title=kspan org.opencontainers.image.version=$VERSION" \
	"$rootfs.tar" "localhost/kspan:$VERSION" >/dev/null
rm -f "$rootfs.tar"
podman tag "localhost/kspan:$VERSION" localhost/kspan:dev
rm -f "$out"/kspan-*.tar
podman save --format oci-archive -o "$out/kspan-$VERSION.tar" "localhost/kspan:$VERSION"
echo "== localhost/kspan:$VERSION ($(podman image inspect --format '{{.Size}}' "localhost/kspan:$VERSION") bytes), $out/kspan-$VERSION.tar"
